"""Python's garbage collector, run on the GUI thread only.

The cyclic collector runs on whichever thread happens to allocate when a threshold is crossed. If
a reference cycle holds a Qt wrapper (a closed window, a finished task's callbacks), collecting it
on a worker thread destroys the C++ object there, which crashes Qt (seen as a segfault in a model
load's ``deepcopy``). So automatic collection is switched off once a worker pool exists, and a timer
on the GUI thread collects with the same thresholds Python would use.

The same object gives freed memory back to the system a moment after background work ends
(``release_memory_soon``): without it the app keeps the peak of its last big job (glibc's arenas).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from resnet_desktop.core.memory import return_free_memory

logger = logging.getLogger(__name__)

CHECK_INTERVAL_MS = 250
#: Quiet time after the last task ended before freed memory is handed back (a burst of small
#: tasks, like thumbnails, then costs one release).
RELEASE_DELAY_MS = 1000

_collector: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    """Owns the timer; lives as long as the application object."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start(CHECK_INTERVAL_MS)
        self.release_timer = QTimer(self)
        self.release_timer.setSingleShot(True)
        self.release_timer.setInterval(RELEASE_DELAY_MS)
        self.release_timer.timeout.connect(self.release_memory)
        #: How many times freed memory was handed back (for tests and diagnostics).
        self.releases = 0

    def release_memory(self) -> None:
        started = time.perf_counter()
        return_free_memory()
        self.releases += 1
        logger.debug("Freed memory returned to the system in %.1f ms", 1000 * (time.perf_counter() - started))

    def collect_if_due(self) -> None:
        counts = gc.get_count()
        t0, t1, t2 = self.thresholds
        if counts[0] <= t0:
            return
        generation = 2 if counts[2] > t2 else (1 if counts[1] > t1 else 0)
        gc.collect(generation)


def collect_on_gui_thread() -> None:
    """Install the collector for this process (idempotent; needs the application object)."""
    global _collector
    app = QCoreApplication.instance()
    if _collector is not None or app is None:
        return
    _collector = GuiThreadCollector(app)
    _collector.destroyed.connect(_forget)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (start-up: building the window imports and allocates
    ~10^6 objects, and the collections this triggers cost ~55 ms of the 0.5 s to the window).

    Afterwards collection is as before, unless the GUI-thread collector took it over meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled and _collector is None:
            gc.enable()


def release_memory_soon() -> None:
    """Hand freed memory back to the system once no task has ended for ``RELEASE_DELAY_MS``."""
    if _collector is not None:
        _collector.release_timer.start()  # restarts: the delay counts from the last call


def collector() -> GuiThreadCollector | None:
    """This process's collector, once a task runner exists."""
    return _collector


def _forget(*_args: object) -> None:
    global _collector
    _collector = None
    gc.enable()  # the application is gone: no Qt objects left to protect
