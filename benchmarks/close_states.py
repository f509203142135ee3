"""How long the app takes to end after its window is closed, in each working state.

Each run starts the real app in its own process (``tests/gui/close_driver.py``: a model loading,
Fast Mode being prepared, a model being exported, photos being organized, a classifier being
fine-tuned), closes the window as its close button does, and times from the close to the end of the
process. The baseline, in the same run, is closing the app with nothing running ("idle"); the ratio
to it is printed. Issue 27 asks for < 2 s in every state.

    .venv/bin/python benchmarks/close_states.py            # every state, 3 runs each
    .venv/bin/python benchmarks/close_states.py --runs 1 fast-mode
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.gui.close_driver import STATES  # noqa: E402
from tests.helpers import save_random_weights  # noqa: E402


def close_once(state: str, weights: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="close-bench-") as name:
        workdir = Path(name)
        (workdir / "tmp").mkdir()
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "RESNET_DESKTOP_OFFLINE": "1",
            "TMPDIR": str(workdir / "tmp"),
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "XDG_CACHE_HOME": str(workdir / "cache"),
            "XDG_STATE_HOME": str(workdir / "state"),
            "PYTHONPATH": str(REPO_ROOT),
        }
        command = [sys.executable, "-m", "tests.gui.close_driver", state, str(workdir), str(weights)]
        out, quiet = subprocess.PIPE, subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=quiet, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("CLOSING"):
                break
        started = time.monotonic()
        process.wait()
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("states", nargs="*", default=list(STATES), help=f"some of: {', '.join(STATES)}")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        weights = save_random_weights(Path(name) / "resnet18.pth")
        print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
        idle = statistics.median(close_once("idle", weights) for _ in range(args.runs))
        print(f"{'idle (baseline)':<16} {idle:6.2f} s")
        for state in args.states:
            times = [close_once(state, weights) for _ in range(args.runs)]
            median = statistics.median(times)
            runs = ", ".join(f"{t:.2f}" for t in times)
            print(f"{state:<16} {median:6.2f} s  (x{median / idle:.1f} of idle; runs {runs})")


if __name__ == "__main__":
    main()
