"""Python's garbage collector, run on the GUI thread only.

The cyclic collector runs on whichever thread happens to allocate when a threshold is crossed. If
a reference cycle holds a Qt wrapper (a closed window, a finished task's callbacks), collecting it
on a worker thread destroys the C++ object there, which crashes Qt (seen as a segfault in a model
load's ``deepcopy``). So automatic collection is switched off once a worker pool exists, and a timer
on the GUI thread collects with the same thresholds Python would use.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

CHECK_INTERVAL_MS = 250

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


def _forget(*_args: object) -> None:
    global _collector
    _collector = None
    gc.enable()  # the application is gone: no Qt objects left to protect
