"""Does the photo grid scroll through 100,000 photos without a stall? The longest event-loop gap.

Run: ``.venv/bin/python benchmarks/grid.py [--count 100000] [--seconds 20] [--keep DIR]``
(offscreen Qt; generated tiny JPEGs, written once into a temp folder or ``--keep DIR``).

A heartbeat timer ticks every 2 ms on the GUI thread; the longest time between two ticks is the
longest stall a person would feel (a frame at 60 Hz is 16.7 ms; the goal is <= 100 ms). While it
ticks, a "flick" timer scrolls the view from the top to the bottom at a steady pace (one screenful
every 50 ms by default, ~17 screens a second: faster than a person reads, so thumbnails keep being
asked for and dropped), and the thumbnail threads decode what is on screen.

Printed for the same photos, in the same run:
  * ``QListWidget`` - baseline: the gallery's way before (one ``QListWidgetItem`` per photo, icon mode);
  * ``PhotoGrid cold`` - the grid, thumbnail disk cache empty (every thumbnail decoded and written);
  * ``PhotoGrid warm`` - the grid again with a fresh memory cache, the disk cache filled by the cold pass.
For each: the time to fill the view (model reset + first layout + first paint), the longest gap while
scrolling, the 99th percentile gap, the GUI thread's own CPU time in its longest busy stretch (what
the longest gap would be on an idle machine: on a loaded one the wall-clock gaps include the time
the scheduler gave to other processes), and how many thumbnails were painted from the caches.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QElapsedTimer, QSize, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QAbstractItemView, QApplication, QListView, QListWidget  # noqa: E402

import resnet_desktop.gui  # noqa: E402,F401  (its refcount guard, before any PySide6 call)

HEARTBEAT_MS = 2
WIDTH, HEIGHT = 1366, 768


@dataclass
class Result:
    name: str
    fill_ms: float
    longest_gap_ms: float
    p99_gap_ms: float
    longest_cpu_ms: float
    screens: int
    thumbnails: int


def make_photos(folder: Path, count: int) -> list[str]:
    """``count`` tiny JPEGs (64 x 48, 32 different pictures; each file its own path)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(str(p) for p in folder.glob("*.jpg"))
    if len(existing) >= count:
        return existing[:count]
    pictures = []
    for k in range(32):
        image = Image.new("RGB", (64, 48), ((k * 53) % 256, (k * 97) % 256, (k * 151) % 256))
        image.paste((255 - (k * 53) % 256, 128, (k * 29) % 256), (8 + k, 8, 40 + k, 40))
        path = folder / f"_{k}.jpg"
        image.save(path, quality=85)
        pictures.append(path.read_bytes())
        path.unlink()
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:06d}.jpg"
        path.write_bytes(pictures[i % len(pictures)])
        paths.append(str(path))
    return paths


def measure(
    name: str, view: QAbstractItemView, fill: Callable[[], None], seconds: float, thumbs: Callable[[], int]
) -> Result:
    """Fill the view, then scroll it top to bottom in ``seconds`` while the heartbeat measures gaps."""
    app = QApplication.instance()
    assert app is not None
    view.resize(WIDTH, HEIGHT)
    view.show()
    app.processEvents()
    clock = QElapsedTimer()
    clock.start()
    fill()
    view.viewport().repaint()
    app.processEvents()
    fill_ms = clock.nsecsElapsed() / 1e6

    gaps: list[float] = []
    cpu_gaps: list[float] = []
    last = [clock.nsecsElapsed()]
    last_cpu = [time.thread_time_ns()]
    bar = view.verticalScrollBar()
    screens = max(1, bar.maximum() // max(1, bar.pageStep()))
    step_ms = max(1, int(seconds * 1000 / screens))
    done = [False]

    def beat() -> None:
        now = clock.nsecsElapsed()
        cpu = time.thread_time_ns()
        gaps.append((now - last[0]) / 1e6)
        cpu_gaps.append((cpu - last_cpu[0]) / 1e6)
        last[0] = now
        last_cpu[0] = cpu

    def flick() -> None:
        if bar.value() >= bar.maximum():
            done[0] = True
            return
        bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.timeout.connect(beat)
    stepper = QTimer()
    stepper.setTimerType(Qt.TimerType.PreciseTimer)
    stepper.timeout.connect(flick)
    last[0] = clock.nsecsElapsed()
    last_cpu[0] = time.thread_time_ns()
    heartbeat.start(HEARTBEAT_MS)
    stepper.start(step_ms)
    while not done[0]:
        app.processEvents()
        time.sleep(0.0005)
    # a last half second at the bottom: the decodes for the final screen arrive
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.0005)
    heartbeat.stop()
    stepper.stop()
    view.hide()
    gaps.sort()
    p99 = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
    return Result(name, fill_ms, gaps[-1] if gaps else 0.0, p99, max(cpu_gaps, default=0.0), screens, thumbs())


def baseline(paths: list[str], seconds: float) -> Result:
    """The gallery's way before the grid: a ``QListWidget`` in icon mode, one item per photo."""
    view = QListWidget()
    view.setViewMode(QListWidget.ViewMode.IconMode)
    view.setIconSize(QSize(96, 96))
    view.setResizeMode(QListWidget.ResizeMode.Adjust)
    view.setMovement(QListWidget.Movement.Static)
    view.setGridSize(QSize(124, 124))
    view.setUniformItemSizes(True)

    def fill() -> None:
        # One call: adding 100,000 QListWidgetItems one by one crashes PySide6 6.12 here (a refcount
        # error on None after ~10,000 addItem calls).
        view.addItems([os.path.basename(p) for p in paths])

    result = measure("QListWidget (before)", view, fill, seconds, lambda: 0)
    view.deleteLater()
    return result


def grid(paths: list[str], seconds: float, cache: Path, name: str) -> Result:
    from resnet_desktop.gui.common.grid import Badge, PhotoGrid
    from resnet_desktop.gui.common.thumb_cache import DiskThumbnailCache
    from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

    loader = ThumbnailLoader(disk=DiskThumbnailCache(cache))
    view = PhotoGrid(loader)
    view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c")
    names = ("receipts", "kids", "whiteboards")

    def badge(row: int) -> Badge:
        k = row % 3
        return Badge(f"{names[k]} {50 + row % 50}%", colours[k], mine=row % 7 == 0)

    result = measure(name, view, lambda: view.grid_model.set_photos(paths, badge), seconds, lambda: len(loader.cache))
    loader.shutdown()
    view.deleteLater()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="time to scroll top to bottom")
    parser.add_argument("--keep", type=Path, help="folder for the generated photos (reused next time)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="grid-bench-") as tmp:
        folder = args.keep or Path(tmp) / "photos"
        started = time.perf_counter()
        paths = make_photos(folder, args.count)
        print(f"{len(paths)} photos in {folder} ({time.perf_counter() - started:.1f} s to make)")
        cache = Path(tmp) / "thumbs"
        results = []
        if not args.no_baseline:
            results.append(baseline(paths, args.seconds))
        results.append(grid(paths, args.seconds, cache, "PhotoGrid cold"))
        results.append(grid(paths, args.seconds, cache, "PhotoGrid warm"))
        app.processEvents()
    print(
        f"\n{'view':<22} {'fill ms':>9} {'longest gap ms':>15} {'p99 gap ms':>11} {'longest CPU ms':>15}"
        f" {'screens':>8} {'thumbs':>7}"
    )
    for r in results:
        print(
            f"{r.name:<22} {r.fill_ms:>9.0f} {r.longest_gap_ms:>15.1f} {r.p99_gap_ms:>11.1f} {r.longest_cpu_ms:>15.1f}"
            f" {r.screens:>8} {r.thumbnails:>7}"
        )
    if not args.no_baseline:
        base = results[0]
        for r in results[1:]:
            print(
                f"{r.name}: fill {base.fill_ms / max(r.fill_ms, 0.01):.1f}x faster, longest gap "
                f"{base.longest_gap_ms / max(r.longest_gap_ms, 0.01):.1f}x shorter than the baseline"
            )
    worst = max(r.longest_gap_ms for r in results if r.name.startswith("PhotoGrid"))
    print(f"goal: no stall > 100 ms while scrolling: {'met' if worst <= 100 else 'NOT met'} ({worst:.0f} ms)")
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average), {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
