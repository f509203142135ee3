"""Reference cycles holding Qt objects are collected on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject

from resnet_desktop.gui.common import gc_guard
from resnet_desktop.gui.common.tasks import TaskRunner

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_a_qt_object_in_a_cycle_dies_on_the_gui_thread_while_a_worker_allocates(qtbot) -> None:
    runner = TaskRunner(name="gc-test")
    assert not gc.isenabled(), "automatic collection is off once a worker pool exists"
    died_on: list[int] = []
    gui_thread = threading.get_ident()
    obj = QObject()
    obj.myself = obj  # type: ignore[attr-defined]  # a cycle: only the cyclic collector can free it
    obj.destroyed.connect(lambda *_: died_on.append(threading.get_ident()))
    del obj

    def allocate(_ctx: object) -> int:
        # Far past generation 0's threshold: Python would collect here, on this thread.
        junk = [[i] for i in range(200_000)]
        for item in junk:
            item.append(item)  # cycles too
        return len(junk)

    done: list[int] = []
    runner.submit(allocate, on_returned=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)
    qtbot.waitUntil(lambda: bool(died_on), timeout=5_000)  # the GUI thread's timer collects it
    assert died_on == [gui_thread], "collected on a worker thread (or not at all)"
    runner.shutdown()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(not GLIBC, reason="needs Linux with glibc (malloc_trim)")
def test_memory_a_finished_task_freed_goes_back_to_the_system(qtbot) -> None:
    # The pattern of a big job: many heap blocks freed with a few kept among them, so glibc cannot
    # shrink the heap from its top and keeps the pages (a resnet50 session stayed at its peak).
    runner = TaskRunner(name="release-test")
    collector = gc_guard.collector()
    assert collector is not None
    block = 64 * 1024

    def allocate(_ctx: object) -> list[bytearray]:
        blocks = [bytearray(block) for _ in range(3200)]  # 200 MB, each page touched
        return blocks[::10]  # 9 of 10 freed here, on the worker thread

    kept: list[list[bytearray]] = []
    releases = collector.releases
    runner.submit(allocate, on_returned=kept.append)
    qtbot.waitUntil(lambda: bool(kept), timeout=30_000)
    before = _rss_mb()
    qtbot.waitUntil(lambda: collector.releases > releases, timeout=5_000)
    after = _rss_mb()
    assert before - after > 100, f"RSS {before:.0f} MB -> {after:.0f} MB after the release"
    assert len(kept[0]) == 320  # what the task returned is untouched
    runner.shutdown()


def test_collection_is_paused_while_the_window_is_built_then_handed_to_the_gui_thread_collector() -> None:
    # A fresh process: whether a collector exists depends on nothing that ran before.
    script = """
import gc
from PySide6.QtWidgets import QApplication
from resnet_desktop.gui.common import gc_guard
app = QApplication([])
seen = [gc.isenabled()]
with gc_guard.paused():
    seen.append(gc.isenabled())
seen.append(gc.isenabled())  # no collector yet: as before
with gc_guard.paused():
    from resnet_desktop.gui.common.tasks import TaskRunner
    runner = TaskRunner(name="startup")  # the window's first runner installs the collector
seen.append(gc.isenabled())  # the collector owns collection now: automatic stays off
seen.append(gc_guard.collector() is not None)
print(seen)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert done.stdout.strip().splitlines()[-1] == "[True, False, True, False, True]", done.stderr[-2000:]
