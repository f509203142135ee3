"""The GPU suite: every GPU figure the project needs, in one command of a few minutes.

Generates its own photos (192 12-MP and 4,096 500x375 JPEGs, in parallel processes), then for
resnet50 and resnet18: the model-only ceiling, the naive per-image loop, the engine end to end on
both photo sets with the CPU decoder pool and with batched device (nvJPEG) decoding; top-1
agreement of the fast path (bf16, device decode) with the fp32 CPU reference; fine-tuning on
digits (head-only vs one inference pass, and the trained head's agreement); the out-of-memory
halving forced for real. See benchmarks/GPU.md for what each figure means and the targets.

    PYTHONPATH=. python benchmarks/gpu_suite.py --json $OUT/gpu.json       # the full run (GPU)
    PYTHONPATH=. python benchmarks/gpu_suite.py --tiny --device cuda        # a 20-second GPU smoke run
    PYTHONPATH=. python benchmarks/gpu_suite.py --tiny                      # CPU, seconds (a test runs it)

Random weights (BatchNorm statistics calibrated on the photos) are used, so nothing is
downloaded. Imports nothing of the GUI. Exit status 1 when a section failed (its error is in the
JSON and the others still ran).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.gpu.plan import FULL, TINY, Plan  # noqa: E402 - after the source tree is on sys.path
from benchmarks.photos import generate_jpegs  # noqa: E402
from resnet_desktop.core.models.spec import ARCHITECTURES  # noqa: E402 - torch-free

SECTIONS = ("models", "digits", "oom")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a few small photos, resnet18 only (default device: cpu)")
    parser.add_argument("--device", help="cuda, cuda:N or cpu (default: cuda; cpu with --tiny)")
    parser.add_argument("--json", type=Path, help="write every figure and the device's name here")
    parser.add_argument("--archs", help="comma-separated models (default: resnet50,resnet18; --tiny: resnet18)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="which parts to run (default: all)")
    parser.add_argument("--workdir", type=Path, help="where photos are generated (default: the temp folder; reused)")
    args = parser.parse_args(argv)
    unknown = {s.strip() for s in args.sections.split(",") if s.strip()} - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    archs = [a.strip() for a in (args.archs or "").split(",") if a.strip()]
    if any(a not in ARCHITECTURES for a in archs):
        parser.error(f"unknown model in --archs {args.archs!r}; choose from {', '.join(ARCHITECTURES)}")
    return args


def _environment(device: Any) -> dict[str, Any]:
    import torch
    import torchvision

    from benchmarks.throughput import cpu_extensions
    from resnet_desktop.core.devices import device_name

    info: dict[str, Any] = {
        "name": device_name(device),
        "type": device.type,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cpus": os.cpu_count(),
        "cpu_extensions": cpu_extensions(),
        "load_average_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(), memory_bytes=props.total_memory)
    return info


def _section(results: dict[str, Any], name: str, run: Callable[[], Any], store: Callable[[Any], None]) -> None:
    """Run one part; a failure is recorded (and printed) and the next part still runs."""
    started = time.perf_counter()
    try:
        store(run())
    except Exception as exc:  # noqa: BLE001 - one failed part must not cost the figures of the others
        traceback.print_exc()
        results["errors"][name] = f"{type(exc).__name__}: {exc}"
        print(f"  {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
    results["suite"]["section_s"][name] = time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # The engine's warnings (an out-of-memory halving, a fallback) in line with the table.
    logging.basicConfig(level=logging.WARNING, format="    log: %(message)s", stream=sys.stdout)
    plan: Plan = TINY if args.tiny else FULL
    if args.archs:
        plan = dataclasses.replace(plan, archs=tuple(a.strip() for a in args.archs.split(",") if a.strip()))
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    started = time.perf_counter()

    # The photo generator below forks: ask for a CUDA device through NVML (PyTorch's fork-safe check)
    # rather than by initialising CUDA in this process first.
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.errors import DeviceError

    wanted = args.device or ("cpu" if args.tiny else "cuda")
    try:
        device = resolve_device(wanted)
    except DeviceError as exc:
        print(f"{exc} The full run is meant for a GPU machine; here, run it with --tiny.", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.gettempdir()) / "resnet-desktop-gpu-suite"
    # Photos before any model runs: the generator forks processes, safe before torch starts its
    # thread pools or a CUDA context (the children use only numpy and Pillow).
    photos: dict[str, list[Path]] = {}
    inputs: dict[str, Any] = {}
    for name, (count, (width, height)) in plan.photos.items():
        t0 = time.perf_counter()
        photos[name] = generate_jpegs(count, (width, height), folder=workdir / f"{name}-{width}x{height}")
        inputs[name] = {"count": count, "size": [width, height], "prepare_s": time.perf_counter() - t0}
        print(f"{count} JPEGs of {width}x{height} ready in {inputs[name]['prepare_s']:.1f} s", flush=True)

    import torch

    from benchmarks.gpu.digits import digits_figures
    from benchmarks.gpu.measure import measure_arch
    from benchmarks.gpu.oom import oom_figures
    from benchmarks.gpu.report import check_targets, print_agreement, print_targets, write_json

    results: dict[str, Any] = {
        "suite": {"mode": plan.mode, "argv": sys.argv[1:] if argv is None else argv, "section_s": {}},
        "device": _environment(device),
        "inputs": inputs,
        "models": {},
        "errors": {},
    }
    print(f"{results['device']['name']}; torch {torch.__version__}; {os.cpu_count()} CPUs; {plan.mode} run", flush=True)

    def save() -> None:
        if args.json:
            write_json(args.json, results)

    if "models" in sections:
        for arch in plan.archs:

            def keep(figures: Any, arch: str = arch) -> None:
                results["models"][arch] = figures
                print_agreement("fast path vs fp32 reference", figures["agreement"])

            _section(results, f"models.{arch}", lambda arch=arch: measure_arch(arch, plan, photos, device), keep)
            save()
    if "digits" in sections:
        folder = workdir / f"digits-{plan.digits_per_class or 'all'}"

        def keep_digits(figures: Any) -> None:
            results["digits"] = figures
            print(
                f"\ndigits ({figures['arch']}, {figures['images']} images): head-only fine-tune "
                f"{figures['finetune_s']:.2f} s vs one inference pass {figures['inference_pass_s']:.2f} s = "
                f"{figures['finetune_vs_inference']:.2f}x; val accuracy {figures['val_accuracy']:.3f}",
                flush=True,
            )
            print_agreement("trained digits head, fast path vs fp32 reference", figures["agreement"])

        digits = plan.digits_arch, plan.digits_per_class
        _section(results, "digits", lambda: digits_figures(*digits, folder, device), keep_digits)
        save()
    if "oom" in sections:

        def keep_oom(figures: Any) -> None:
            results["oom"] = figures
            fallback = figures["cpu_fallback"]
            print(
                f"\nout of memory ({figures['method']}): batch {figures['requested_batch']} -> "
                f"{figures['forward_batch_after']} after {figures['halvings']} halvings, still on "
                f"{figures['device_after']}, {figures['classified']} images classified, top-1 as unconstrained "
                f"{figures['same_top1_as_unconstrained']:.0%}"
                + (f"; not even one image fits -> continued on {fallback['device_after']}" if fallback else ""),
                flush=True,
            )

        oom_paths = photos["small"][:64]
        _section(
            results,
            "oom",
            lambda: oom_figures(plan.archs[0], plan.oom_batch, oom_paths, device),
            keep_oom,
        )
    results["targets"] = check_targets(results)
    print_targets(results["targets"], plan.mode)
    results["suite"]["wall_s"] = time.perf_counter() - started
    results["suite"]["gui_imported"] = any(
        module is not None and name.split(".")[0] in ("PySide6", "shiboken6") for name, module in sys.modules.items()
    ) or ("resnet_desktop.gui" in sys.modules)  # (a None entry is an import blocked on purpose)
    results["device"]["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    save()
    print(f"\nsuite wall time {results['suite']['wall_s']:.1f} s" + (f"; figures in {args.json}" if args.json else ""))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
