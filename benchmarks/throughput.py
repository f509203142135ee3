"""Throughput: every backend against this machine's limit, on the same files, in the same run.

On the CPU, per model: decoding alone (the engines' thread pool, every core), each backend's model
alone, the limit those two imply (``1 / (1/decode + 1/model)``: decode and model sharing the cores
perfectly) and the engine end to end with its share of that limit: PyTorch, ONNX Runtime fp32 and
int8 (``--backend``). ``--naive`` adds what a tutorial does per image (``Image.open().convert("RGB")``,
torchvision's transform, ``model(x[None])``). On a GPU: the engine against the naive loop.

    .venv/bin/python benchmarks/throughput.py                      # 12-MP JPEGs, resnet18 + resnet50
    .venv/bin/python benchmarks/throughput.py --size 500x375       # ImageNet-sized JPEGs
    .venv/bin/python benchmarks/throughput.py --folder ~/Photos --count 100 --device cuda
    .venv/bin/python benchmarks/throughput.py --model-only         # just the model-alone rates
    .venv/bin/python benchmarks/throughput.py --backend torch --naive   # one backend, with the naive loop
    .venv/bin/python benchmarks/throughput.py --quick              # small counts, one repeat

Random weights are used (speed does not depend on the numbers), so nothing is downloaded.
Generated images are cached in the temp folder so repeated runs skip generation.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.photos import generate_jpegs  # noqa: E402 - generated in parallel processes; cluster.py imports it here
from resnet_desktop.core.images import discover  # noqa: E402
from resnet_desktop.core.inference.decode import decode_one  # noqa: E402
from resnet_desktop.core.inference.engine import Engine  # noqa: E402
from resnet_desktop.core.models import zoo  # noqa: E402

logger = logging.getLogger("benchmarks.throughput")


# -- inputs ---------------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


# -- measurements ---------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def naive_loop(loaded: zoo.LoadedModel, paths: list[Path], device: torch.device) -> tuple[float, float]:
    """Images/s of the textbook loop, and the fraction of its time spent opening + transforming."""
    transform = loaded.preprocessing.reference_transforms()  # torchvision's ImageClassification
    model = loaded.model.to(device).eval()  # a model of its own: default memory format, fp32
    decode_s = 0.0
    started = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            t0 = time.perf_counter()
            x = transform(Image.open(path).convert("RGB"))
            decode_s += time.perf_counter() - t0
            probs = model(x[None].to(device)).softmax(dim=1)
            probs.topk(5)[1].tolist()  # a real consumer reads the result (also syncs the GPU)
    elapsed = time.perf_counter() - started
    return len(paths) / elapsed, decode_s / elapsed


def engine_run(engine: Engine, paths: list[Path]) -> float:
    started = time.perf_counter()
    count = sum(1 for prediction in engine.classify(paths) if prediction.ok)
    elapsed = time.perf_counter() - started
    if count != len(paths):
        raise RuntimeError(f"engine classified only {count} of {len(paths)} files")
    return len(paths) / elapsed


def decode_ms(engine: Engine, paths: list[Path]) -> float:
    """Median single-thread cost of the engine's decode (draft + resize + crop) per image."""
    times = []
    for path in paths:
        t0 = time.perf_counter()
        decode_one(path, engine.preprocessing)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def cpu_extensions() -> str:
    """The vector extensions that decide which backend and precision win (Linux /proc/cpuinfo)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    names = {
        "avx2": "AVX2",
        "avx512f": "AVX-512",
        "avx512_vnni": "AVX512-VNNI",
        "avx_vnni": "AVX-VNNI",
        "avx512_bf16": "AVX512-BF16",
        "amx_tile": "AMX",
    }
    found = [label for flag, label in names.items() if flag in flags]
    return ", ".join(found) or "none of AVX2/AVX-512/VNNI/AMX"


def model_only(engine: Engine, seconds: float = 3.0) -> float:
    """The ceiling: normalised synthetic tensors already on the device, engine batch and precision."""
    crop = engine.preprocessing.crop_size
    x = torch.randn(engine.batch_size, 3, crop, crop, device=engine.device).contiguous(
        memory_format=torch.channels_last
    )
    ort = engine.onnxruntime
    if ort is not None:  # the same batch through the ONNX Runtime session
        ort.run(x)
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or runs < 2:
            ort.run(x)
            runs += 1
        return runs * engine.batch_size / (time.perf_counter() - started)
    with torch.inference_mode(), engine.autocast():
        engine.model(x)
        _sync(engine.device)
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or runs < 2:
            engine.model(x)
            runs += 1
        _sync(engine.device)
    return runs * engine.batch_size / (time.perf_counter() - started)


class GpuSampler:
    """Samples GPU utilisation in the background while a run is timed.

    NVML through ``torch.cuda.utilization`` (needs the nvidia-ml-py package) when it works, else
    ``nvidia-smi`` in a subprocess; ``source`` says which, and ``samples`` stays empty when neither
    does (or on a CPU). The figure is NVML's: the share of each sample period in which at least
    one kernel ran, so it says "busy", not "fully used".
    """

    PERIOD_S = 0.1

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.samples: list[int] = []
        self.source = "none (not a CUDA device)" if device.type != "cuda" else "none (no NVML, no nvidia-smi)"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._smi: subprocess.Popen[str] | None = None

    def __enter__(self) -> GpuSampler:
        if self.device.type != "cuda":
            return self
        try:
            torch.cuda.utilization(self.device)
        except Exception:  # noqa: BLE001 - pynvml missing or NVML refused: try nvidia-smi
            self._smi = _start_nvidia_smi(self.device, self.PERIOD_S)
            if self._smi is not None:
                self.source = "nvidia-smi"
                self._thread = threading.Thread(target=self._read_smi, daemon=True)
                self._thread.start()
            return self
        self.source = "NVML (torch.cuda.utilization)"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.PERIOD_S):
            self.samples.append(torch.cuda.utilization(self.device))

    def _read_smi(self) -> None:
        assert self._smi is not None and self._smi.stdout is not None
        for line in self._smi.stdout:
            if self._stop.is_set():
                return
            if line.strip().isdigit():
                self.samples.append(int(line.strip()))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._smi is not None:
            self._smi.terminate()
            try:
                self._smi.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._smi.kill()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._thread is not None and not self.samples:
            self.source += " (no samples: the run was shorter than a sample period, or it failed)"

    @property
    def mean(self) -> float | None:
        return statistics.mean(self.samples) if self.samples else None

    def text(self) -> str:
        return f", GPU busy {self.mean:.0f}%" if self.mean is not None else ""


def _start_nvidia_smi(device: torch.device, period_s: float) -> subprocess.Popen[str] | None:
    """``nvidia-smi`` printing this GPU's utilisation every ``period_s``; None when it cannot run."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    target = str(index)
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if os.environ.get("CUDA_VISIBLE_DEVICES") and uuid is not None:  # torch's index is not nvidia-smi's
        target = str(uuid) if str(uuid).startswith("GPU-") else f"GPU-{uuid}"
    command = [
        "nvidia-smi",
        f"--id={target}",
        "--query-gpu=utilization.gpu",
        "--format=csv,noheader,nounits",
        f"--loop-ms={max(1, int(period_s * 1000))}",
    ]
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="use the images in this folder instead of generating")
    parser.add_argument("--count", type=int, default=None, help="images per run (default: 24 CPU, 512 GPU)")
    parser.add_argument("--size", type=_size, default=(4000, 3000), help="generated size WxH (default 4000x3000)")
    parser.add_argument("--archs", default="resnet18,resnet50", help="comma-separated (default: resnet18,resnet50)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--batch-size", type=int, default=None, help="engine batch size (default: per device)")
    parser.add_argument("--workers", type=int, default=None, help="decode threads (default: one per core)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--naive-count", type=int, default=None, help="images for the naive loop (default: --count)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="alternate naive/engine runs this often and keep each one's best (noisy machines)",
    )
    parser.add_argument("--model-only", action="store_true", help="only the synthetic-tensor ceiling")
    parser.add_argument(
        "--backend",
        default="torch,onnxruntime,fast",
        help="comma-separated: torch, onnxruntime, fast (int8 on ONNX Runtime) (default: all three)",
    )
    parser.add_argument("--naive", action="store_true", help="also the naive per-image loop (slow on 12-MP photos)")
    parser.add_argument("--quick", action="store_true", help="8 images, one repeat, short ceilings (CI, busy hosts)")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.repeat = args.count or 8, 1
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)

    from resnet_desktop.core.devices import resolve_device

    device = resolve_device(args.device)
    count = args.count or (512 if device.type == "cuda" else 24)
    if args.folder:
        paths = list(discover([args.folder]))[:count]
    elif not args.model_only:
        print(f"Preparing {count} JPEGs of {args.size[0]}x{args.size[1]} ...", flush=True)
        paths = generate_jpegs(count, args.size)
    else:
        paths = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
        f"load average {load:.2f} before the run"
    )
    print(f"CPU vector extensions: {cpu_extensions()}")
    runs = [("onnxruntime", "fast") if b.strip() == "fast" else (b.strip(), "fp32") for b in args.backend.split(",")]
    if device.type == "cpu":
        return compare_backends(args, device, paths, [r for r in runs if r[0]])

    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        loaded = zoo.load_model(arch, zoo.RANDOM_WEIGHTS)
        engine = Engine(loaded, device, batch_size=args.batch_size, workers=args.workers)
        print(
            f"\n{arch} on {engine.device_name}: batch {engine.batch_size}, {engine.workers} decode workers, "
            f"precision {engine.autocast_dtype or 'fp32'}"
        )
        ceiling = model_only(engine)
        if args.model_only:
            print(f"  model only (ceiling)    {ceiling:9.1f} images/s")
            continue
        naive_paths = paths[: args.naive_count or count]
        naive = zoo.load_model(arch, zoo.RANDOM_WEIGHTS)  # untouched by the engine's placement
        naive_loop(naive, naive_paths[:2], device)  # warm-up
        engine_run(engine, paths[: engine.batch_size])  # warm-up
        naive_rate, engine_rate, naive_decode_share, gpu_text = 0.0, 0.0, 0.0, ""
        for _ in range(max(1, args.repeat)):  # alternate, so a burst of foreign load hits both
            rate, share = naive_loop(naive, naive_paths, device)
            if rate > naive_rate:
                naive_rate, naive_decode_share = rate, share
            with GpuSampler(engine.device) as sampler:
                rate = engine_run(engine, paths)
            if rate > engine_rate:
                engine_rate, gpu_text = rate, sampler.text()
            ceiling = max(ceiling, model_only(engine, seconds=1.0))
        per_image = decode_ms(engine, paths[: min(len(paths), 8)])
        decode_core_s = per_image / 1000 * engine_rate  # core-seconds of decoding per wall second
        print(f"  model only (ceiling)    {ceiling:9.1f} images/s   (best of {args.repeat + 1})")
        print(
            f"  naive loop              {naive_rate:9.1f} images/s   "
            f"(open+transform {naive_decode_share:.0%} of its time; best of {args.repeat})"
        )
        print(
            f"  engine                  {engine_rate:9.1f} images/s   = {engine_rate / naive_rate:.2f}x naive, "
            f"{engine_rate / ceiling:.0%} of the ceiling{gpu_text}; best of {args.repeat}"
        )
        cores = os.cpu_count() or 1
        print(
            f"  engine decode           {per_image:9.1f} ms/image on one core "
            f"({1000 / per_image:.0f} images/s/core); during the run decoding used {decode_core_s:.2f} "
            f"of {cores} cores ({decode_core_s / cores:.0%} of the machine)"
        )
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} after the run")
    return 0


def decode_alone(paths: list[Path], preprocessing: object, batch_size: int, workers: int, repeat: int) -> float:
    """images/s of the engines' decoding alone (the thread pool, ``workers`` threads), no model: best of ``repeat``."""
    from resnet_desktop.core.inference.batching import decoded_batches
    from resnet_desktop.core.inference.pixels import decode_array

    def one(path: Path) -> tuple[object, str | None]:
        return decode_array(path, preprocessing)  # type: ignore[arg-type]

    best = 0.0
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        count = sum(len(items) for items in decoded_batches(paths, one, batch_size=batch_size, workers=workers))
        best = max(best, count / (time.perf_counter() - started))
    return best


def ort_model_only(runner: object, batch: int, crop: int, seconds: float) -> float:
    """The ONNX Runtime runner's model-only rate on a normalised random batch (the head included)."""
    x = np.random.default_rng(0).standard_normal((batch, 3, crop, crop)).astype(np.float32)
    run = runner.run  # type: ignore[attr-defined]
    run(x)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or runs < 2:
        run(x)
        runs += 1
    return runs * batch / (time.perf_counter() - started)


def fast_runner(loaded: zoo.LoadedModel, paths: list[Path], threads: int, batch: int, workers: int | None) -> object:
    """An int8 runner built with the app's recipe, calibrated on (up to 16 of) the benchmark's photos.

    Speed only: with random weights the quality gate (which the app and the CLI always ask) would
    refuse, so it is not asked here.
    """
    from resnet_desktop.core.inference import graph_store
    from resnet_desktop.core.inference.ort_runner import OrtRunner
    from resnet_desktop.core.inference.pixels import decode_array, normalize_array
    from resnet_desktop.core.models import int8

    stored = graph_store.remember(loaded)
    calibration = []
    for path in paths[:16]:
        pixels, _error = decode_array(path, loaded.preprocessing)
        if pixels is not None:
            calibration.append(normalize_array(pixels[None], loaded.preprocessing))
    graph = graph_store.cache_dir() / "graphs" / f"bench-{stored.backbone[:16]}-{int8.DEFAULT_RECIPE.tag()}.onnx"
    if not graph.is_file():
        graph.parent.mkdir(parents=True, exist_ok=True)
        graph.write_bytes(int8.quantize(stored.fp32_graph().read_bytes(), calibration))
    return OrtRunner(stored, graph=graph, precision="fast", threads=threads, batch_size=batch, workers=workers)


def compare_backends(
    args: argparse.Namespace, device: torch.device, paths: list[Path], runs: list[tuple[str, str]]
) -> int:
    """Per model and backend, in one run on the same files: decode alone, model alone, the two-core
    limit they imply, and the engine end to end (decode + model + top-k) with its share of the limit.

    The limit: decoding alone runs at D images/s and the model alone at M images/s, each using every
    core; an image costs 1/D + 1/M seconds of the whole machine, so no overlap of the two can beat
    ``1 / (1/D + 1/M)`` images/s. The engine should reach 85% of it.
    """
    from resnet_desktop.core.inference.graph_store import remember
    from resnet_desktop.core.inference.ort_runner import OrtRunner

    seconds = 1.0 if args.quick else 3.0
    threads = torch.get_num_threads()
    workers = args.workers or os.cpu_count() or 1
    batch = args.batch_size or 8
    decode_rate = 0.0
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        loaded = zoo.load_model(arch, zoo.RANDOM_WEIGHTS)
        if not args.model_only:
            # best of repeat + 1: the first pass also warms the file cache and Pillow
            decode_rate = decode_alone(paths, loaded.preprocessing, batch, workers, args.repeat + 1)
        print(f"\n{arch}: decode alone {decode_rate:.1f} images/s ({workers} decode threads, batch {batch})")
        if args.naive:
            naive = zoo.load_model(arch, zoo.RANDOM_WEIGHTS)
            naive_loop(naive, paths[:2], device)  # warm-up
            naive_rate = max(naive_loop(naive, paths, device)[0] for _ in range(args.repeat))
            print(f"  naive per-image loop    {naive_rate:8.1f} images/s")
        for backend, precision in runs:
            name = f"{backend} {precision}" if precision == "fp32" else "onnxruntime int8"
            classify: object
            default_overlap = True
            if backend == "torch":
                engine = Engine(loaded, device, batch_size=batch, workers=workers, backend="torch")
                model_rate = model_only(engine, seconds)
                classify, default_overlap = engine, engine.overlap
            elif precision == "fp32":
                runner = OrtRunner(remember(loaded), threads=threads, batch_size=batch, workers=workers)
                model_rate = ort_model_only(runner, batch, loaded.preprocessing.crop_size, seconds)
                classify, default_overlap = runner, runner.overlap
            else:
                runner = fast_runner(loaded, paths, threads, batch, workers)
                model_rate = ort_model_only(runner, batch, loaded.preprocessing.crop_size, seconds)
                classify, default_overlap = runner, runner.overlap  # type: ignore[attr-defined]
            if args.model_only:
                print(f"  {name:<22} model alone {model_rate:8.1f} images/s")
                continue
            limit = 1 / (1 / decode_rate + 1 / model_rate)
            engine_run(classify, paths[:batch])  # type: ignore[arg-type]  # warm-up
            rates = {}
            for overlap in (True, False):  # decoding the next batches while the model runs, or not
                classify.overlap = overlap  # type: ignore[attr-defined]
                rates[overlap] = max(engine_run(classify, paths) for _ in range(args.repeat))  # type: ignore[arg-type]
            classify.overlap = default_overlap  # type: ignore[attr-defined]
            rate = rates[default_overlap]
            print(
                f"  {name:<22} model alone {model_rate:7.1f}, limit {limit:6.1f}, engine {rate:6.1f} images/s "
                f"= {rate / limit:.0%} of the {os.cpu_count()}-core limit "
                f"(overlapped {rates[True]:.1f} = {rates[True] / limit:.0%}, in turn {rates[False]:.1f} = "
                f"{rates[False] / limit:.0%})"
            )
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} after the run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
