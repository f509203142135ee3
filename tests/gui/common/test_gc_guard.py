"""Reference cycles holding Qt objects are collected on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from resnet_desktop.gui.common.tasks import TaskRunner


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
