"""Run a core generator (scan, training, saving) on its own QThread and hand its items to the GUI.

Cancelling goes through a ``threading.Event`` the core checks between batches and epochs, so
the GUI thread never waits on a busy event loop; ``stop()`` sets it and joins the thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable

from PySide6.QtCore import QObject, QThread, Signal

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
