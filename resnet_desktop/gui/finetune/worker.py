"""Run a core generator (scan, training, saving) on its own QThread and hand its items to the GUI.

Cancelling goes through a ``threading.Event`` the core checks between batches and epochs, so
the GUI thread never waits on a busy event loop; ``stop()`` sets it and joins the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QWidget, QWizardPage

from resnet_desktop.core.errors import CancelledError, ResNetDesktopError

logger = logging.getLogger(__name__)

Work = Callable[[threading.Event], Iterable[Any]]


class GeneratorThread(QThread):
    """``work(cancel)`` runs here; each item it yields becomes an ``item`` signal."""

    item = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    succeeded = Signal()

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            for value in self._work(self.cancel):
                self.item.emit(value)
        except CancelledError:
            self.cancelled.emit()
            return
        except ResNetDesktopError as exc:
            self.failed.emit(str(exc))
            return
        except ValueError as exc:  # settings refused by the core
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # never let a worker thread die silently
            logger.exception("fine-tuning worker failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        if self.cancel.is_set():
            self.cancelled.emit()
        else:
            self.succeeded.emit()

    def stop(self, wait: bool = True) -> None:
        """Ask the work to stop; with ``wait``, block until the thread has ended."""
        self.cancel.set()
        if wait:
            self.wait()


def call_in_thread(function: Callable[[], Any], parent: QObject | None = None) -> GeneratorThread:
    """A (not yet started) thread whose single ``item`` is ``function()``'s return value."""
    return GeneratorThread(lambda _cancel: [function()], parent)


class WorkerPage(QWizardPage):
    """A wizard page that runs one :class:`GeneratorThread` at a time; Back stops it and waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thread: GeneratorThread | None = None

    def start_work(self, work: Work) -> GeneratorThread:
        """Stop any previous run and return a new, not yet started thread for ``work``."""
        self.stop()
        self._thread = GeneratorThread(work, self)
        return self._thread

    def cleanupPage(self) -> None:
        """Back: stop the run (the previous page can start a new one)."""
        self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
