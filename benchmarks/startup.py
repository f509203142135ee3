"""Start-up time of the desktop app: process start -> window shown, and -> model ready.

Spawns the GUI as a child process with ``--startup-trace`` (it prints ``STARTUP <event> <unix
time>`` lines and quits once the model is ready), several times, and prints the median and the
range of both figures. Uses seeded random weights (no download) unless ``--weights FILE`` is given.

    .venv/bin/python benchmarks/startup.py [--runs 3] [--arch resnet50] [--weights random|FILE]
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


def one_run(arch: str, weights: str, device: str, platform: str) -> dict[str, float]:
    """Seconds from spawning the process to each traced event."""
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as home:
        env = dict(os.environ)
        env.update(
            QT_QPA_PLATFORM=platform,
            XDG_CONFIG_HOME=str(Path(home) / "config"),  # fresh settings: no remembered window/model
            XDG_CACHE_HOME=str(Path(home) / "cache"),
            XDG_STATE_HOME=str(Path(home) / "state"),
            PYTHONPATH=str(REPO_ROOT),
        )
        command = [
            sys.executable,
            "-m",
            "resnet_desktop.gui.app",
            "--startup-trace",
            "--arch",
            arch,
            "--weights",
            weights,
            "--device",
            device,
        ]
        started = time.time()
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=REPO_ROOT)
    events: dict[str, float] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "STARTUP":
            events[parts[1]] = float(parts[2]) - started
            if parts[1] == "window_shown" and "torch_imported=1" in parts[3:]:
                print("warning: torch was imported before the window was shown", file=sys.stderr)
    if result.returncode != 0 or "model_ready" not in events:
        raise SystemExit(f"the app did not start cleanly (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--weights", default="random", help="'random' (default) or a weights/model file")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--platform",
        default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        help="Qt platform plugin (offscreen by default; xcb under xvfb-run)",
    )
    args = parser.parse_args(argv)

    shown: list[float] = []
    ready: list[float] = []
    for run in range(1, args.runs + 1):
        events = one_run(args.arch, args.weights, args.device, args.platform)
        shown.append(events["window_shown"])
        ready.append(events["model_ready"])
        print(f"run {run}: window shown {events['window_shown']:.2f} s, model ready {events['model_ready']:.2f} s")

    def summary(values: list[float]) -> str:
        return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"

    print(f"{args.arch} weights={args.weights} device={args.device}, {args.runs} runs, Qt platform {args.platform}")
    print(f"process start -> window shown: {summary(shown)}")
    print(f"process start -> model ready:  {summary(ready)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
