"""Start-up time of the app and of a one-photo ``classify``, PyTorch against ONNX Runtime, in one run.

The app: spawns the GUI with ``--startup-trace`` and one sample photo (it prints ``STARTUP <event>
<unix time> torch_imported=0|1`` for ``window_shown``, ``model_ready`` and ``first_row``, the photo's
row in the table, and quits), for each backend, alternating, several times; prints the medians and
whether torch was imported by then. The CLI: ``resnet-desktop classify PHOTO --no-index`` wall time
for each backend. Both use one cache folder, warmed first (untimed), so the ONNX Runtime rows are
"with a cached graph"; settings are fresh every run. Seeded random weights: nothing is downloaded.

    .venv/bin/python benchmarks/startup.py [--runs 3] [--arch resnet50] [--weights random|FILE] [--skip-cli]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PHOTO = REPO_ROOT / "assets" / "samples" / "grace_hopper.jpg"
BACKENDS = ("torch", "onnxruntime")


def _env(root: Path, platform: str, run: int) -> dict[str, str]:
    env = dict(os.environ)
    config = root / f"config-{run}"  # fresh settings: no remembered window/model/backend
    env.update(
        QT_QPA_PLATFORM=platform,
        XDG_CONFIG_HOME=str(config),
        XDG_CACHE_HOME=str(root / "cache"),  # shared: the ONNX Runtime graph is cached after the warm-up
        XDG_DATA_HOME=str(root / f"data-{run}"),  # a fresh library index: the photo is really classified
        XDG_STATE_HOME=str(root / "state"),
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def _settings(config: Path, backend: str) -> None:
    """The app's QSettings INI with the backend chosen (what Model > Backend remembers)."""
    folder = config / "ResNet Desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ResNet Desktop.conf").write_text(f"[model]\nbackend={backend}\nfast=false\n")


def app_run(root: Path, run: int, backend: str, args: argparse.Namespace) -> dict[str, tuple[float, bool]]:
    """Seconds from spawning the app to each traced event, and whether torch was imported by then."""
    env = _env(root, args.platform, run)
    _settings(Path(env["XDG_CONFIG_HOME"]), backend)
    command = [sys.executable, "-m", "resnet_desktop.gui.app", "--startup-trace"]
    command += ["--arch", args.arch, "--weights", args.weights, "--device", "cpu", str(PHOTO)]
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=REPO_ROOT)
    events: dict[str, tuple[float, bool]] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "STARTUP":
            events[parts[1]] = (float(parts[2]) - started, "torch_imported=1" in parts[3:])
    if result.returncode != 0 or "first_row" not in events:
        raise SystemExit(f"the app did not start cleanly (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return events


def cli_run(root: Path, run: int, backend: str, args: argparse.Namespace) -> float:
    env = _env(root, "offscreen", run)
    command = [sys.executable, "-m", "resnet_desktop", "classify", str(PHOTO), "--model", args.arch]
    command += ["--weights", args.weights, "--backend", backend, "--device", "cpu", "--no-index", "--topk", "1"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=REPO_ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"classify failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--weights", default="random", help="'random' (default) or a weights/model file")
    parser.add_argument("--skip-cli", action="store_true", help="only the app")
    parser.add_argument("--skip-app", action="store_true", help="only the CLI")
    parser.add_argument(
        "--platform",
        default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        help="Qt platform plugin (offscreen by default; xcb under xvfb-run)",
    )
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} before the run; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        root = Path(tmp)
        print("warming the cache (exports the ONNX Runtime graph once, untimed)…", flush=True)
        cli_run(root, 0, "onnxruntime", args)
        if not args.skip_app:
            app: dict[str, dict[str, list[float]]] = {b: {} for b in BACKENDS}
            torch_seen: dict[str, set[bool]] = {b: set() for b in BACKENDS}
            for run in range(1, args.runs + 1):
                for backend in BACKENDS:  # alternating, so a burst of foreign load hits both
                    events = app_run(root, run, backend, args)
                    for event, (seconds, _torch) in events.items():
                        app[backend].setdefault(event, []).append(seconds)
                    torch_seen[backend].add(events["first_row"][1])
                    shown, ready, row = (events[e][0] for e in ("window_shown", "model_ready", "first_row"))
                    print(
                        f"app run {run} {backend:<12} window {shown:.2f} s, model ready {ready:.2f} s, "
                        f"first row {row:.2f} s"
                    )
            print(f"\napp, {args.arch} weights={args.weights}, {args.runs} runs each, Qt platform {args.platform}:")
            for backend in BACKENDS:
                imported = "yes" if True in torch_seen[backend] else "no"
                print(f"  {backend:<12} window shown: {_summary(app[backend]['window_shown'])}")
                print(f"  {'':<12} model ready:  {_summary(app[backend]['model_ready'])}")
                print(f"  {'':<12} first row:    {_summary(app[backend]['first_row'])}   torch imported: {imported}")
            ratio = statistics.median(app["torch"]["model_ready"]) / statistics.median(
                app["onnxruntime"]["model_ready"]
            )
            print(f"  model ready, PyTorch / ONNX Runtime: {ratio:.2f}x")
        if not args.skip_cli:
            cli: dict[str, list[float]] = {b: [] for b in BACKENDS}
            for run in range(1, args.runs + 1):
                for backend in BACKENDS:
                    cli[backend].append(cli_run(root, 100 + run, backend, args))
            print(f"\nclassify one photo (--no-index), {args.arch}, {args.runs} runs each:")
            for backend in BACKENDS:
                print(f"  --backend {backend:<12} {_summary(cli[backend])}")
            ratio = statistics.median(cli["torch"]) / statistics.median(cli["onnxruntime"])
            print(f"  PyTorch / ONNX Runtime: {ratio:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} after the run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
