"""THE way the GUI runs work in the background (in the style of superqt/napari generator workers).

``TaskRunner.submit(work)`` runs ``work(ctx)`` on the runner's own thread pool and returns a
:class:`Task` whose signals arrive on the GUI thread:

- ``yielded(item)`` for each item when ``work`` returns an iterator (a core generator),
- ``progress(value)`` for each ``ctx.progress(value)`` call inside the work,
- ``returned(value)`` with what a plain callable returned (or the generator's return value),
- ``failed(exception)`` when the work raised (``CancelledError`` is a cancel, not a failure),
- ``finished()`` always, last; ``task.cancelled`` and ``task.error`` tell how it ended.

Cancelling never goes through an event loop: ``task.cancel()`` sets ``ctx.cancel`` (a
``threading.Event``) which the core checks between batches. ``runner.invalidate()`` starts a new
*generation*: tasks of older generations are cancelled and their ``yielded``/``progress``/
``returned``/``failed`` signals are dropped (only ``finished`` still arrives), so an answer about
an image or a model the window no longer shows can never reach it.

Unexpected failures are logged at WARNING with their traceback; ``core.errors.describe`` turns any
exception into a message for a person.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from resnet_desktop.core.errors import CancelledError, ResNetDesktopError
from resnet_desktop.gui.common.gc_guard import collect_on_gui_thread

logger = logging.getLogger(__name__)

_task_ids = itertools.count(1)


class TaskContext:
    """What the work function gets: the cancel flag and a way to report progress."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self.cancel: threading.Event = task.cancel_event

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        """Raise ``CancelledError`` if the task was cancelled (for loops without a core check)."""
        if self.cancel.is_set():
            raise CancelledError("Cancelled.")

    def progress(self, value: object) -> None:
        self._task._emit("progress", value)


Work = Callable[[TaskContext], Any]


class Task(QObject):
    """One piece of background work; created by :meth:`TaskRunner.submit`, lives on the GUI thread."""

    yielded = Signal(object)
    progress = Signal(object)
    returned = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, runner: TaskRunner, work: Work, name: str, cancel: threading.Event | None = None) -> None:
        super().__init__(runner)
        self.runner = runner
        self.name = name
        self.generation = runner.generation
        self.cancel_event = cancel if cancel is not None else threading.Event()
        self.error: BaseException | None = None
        self.result: Any = None
        self._work = work
        self._ended = threading.Event()
        self._started = False
        self._finished_delivered = False
        self._id = next(_task_ids)
        # The pool thread never touches this QObject: it posts through the runner's relay, so a
        # task can be deleted on the GUI thread while its worker is still returning.
        self._post = runner._relay.message.emit

    # -- state -----------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set() or isinstance(self.error, CancelledError)

    @property
    def done(self) -> bool:
        """The work has ended (its ``finished`` signal may still be on its way)."""
        return self._ended.is_set()

    def is_current(self) -> bool:
        """False once the runner moved to a newer generation: results are then dropped."""
        return self.generation == self.runner.generation

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the work has ended (True) or ``timeout_s`` passed (False)."""
        return self._ended.wait(timeout_s)

    # -- running (pool thread) ---------------------------------------------------------------

    def _run(self) -> None:
        self._started = True
        ctx = TaskContext(self)
        outcome: tuple[str, object] | None = None
        try:
            if self.cancel_event.is_set():
                raise CancelledError("Cancelled before it started.")
            value = self._work(ctx)
            if isinstance(value, Iterator):
                value = self._drain(value)
            self.result = value
            outcome = ("returned", value)
        except CancelledError as exc:
            self.error = exc
            logger.debug("task %s cancelled", self.name)
        except ResNetDesktopError as exc:
            self.error = exc
            logger.warning("task %s failed: %s", self.name, exc, exc_info=True)
            outcome = ("failed", exc)
        except Exception as exc:
            self.error = exc
            logger.warning("task %s failed unexpectedly", self.name, exc_info=True)
            outcome = ("failed", exc)
        finally:
            self._ended.set()  # ``done`` is true before any of the final signals arrive
            if outcome is not None:
                self._emit(*outcome)
            self._emit("finished", None)

    def _drain(self, items: Iterator[Any]) -> Any:
        while True:
            try:
                item = next(items)
            except StopIteration as stop:
                return stop.value
            self._emit("yielded", item)
            if self.cancel_event.is_set():
                close = getattr(items, "close", None)
                if close is not None:
                    close()  # a generator's finally blocks run now, on this thread
                raise CancelledError("Cancelled.")

    def _emit(self, kind: str, value: object) -> None:
        self._post(self._id, kind, value)

    # -- delivery (GUI thread) -------------------------------------------------------------

    def _deliver(self, kind: str, value: object) -> None:
        if kind == "finished":
            if not self._finished_delivered:
                self._finished_delivered = True
                self.finished.emit()
                self.runner._forget(self)
            return
        if not self.is_current():
            return
        {"yielded": self.yielded, "progress": self.progress, "returned": self.returned, "failed": self.failed}[
            kind
        ].emit(value)


class _Relay(QObject):
    """Carries (task id, kind, value) from pool threads to the runner on the GUI thread."""

    message = Signal(int, str, object)


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.task = task

    def run(self) -> None:
        try:
            self.task._run()
        except RuntimeError:  # the Task's QObject was deleted while the app quit
            logger.debug("task %s outlived its window", self.task.name)


class TaskRunner(QObject):
    """A thread pool for one part of the GUI (one thread: tasks run one at a time, in order)."""

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 1, name: str = "tasks") -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # never let a worker thread garbage-collect a Qt object
        self.name = name
        self.generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setObjectName(name)
        # Created after the pool, so it is destroyed after it (the pool waits for its threads).
        self._relay = _Relay(self)
        self._relay.message.connect(self._on_message)
        self._by_id: dict[int, Task] = {}
        self._active: list[Task] = []
        self._closed = False

    def submit(
        self,
        work: Work,
        *,
        name: str = "",
        cancel: threading.Event | None = None,
        on_yielded: Callable[[Any], object] | None = None,
        on_progress: Callable[[Any], object] | None = None,
        on_returned: Callable[[Any], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[], object] | None = None,
    ) -> Task:
        """Queue ``work(ctx)``; the callbacks (connected before it starts) run on the GUI thread.

        ``cancel``: an event of the caller's to use as the task's cancel flag (shared by related tasks).
        """
        task = Task(self, work, name or f"{self.name} task", cancel)
        for signal, slot in (
            (task.yielded, on_yielded),
            (task.progress, on_progress),
            (task.returned, on_returned),
            (task.failed, on_failed),
            (task.finished, on_finished),
        ):
            if slot is not None:
                signal.connect(slot)
        self._active.append(task)
        self._by_id[task._id] = task
        if self._closed:
            task.cancel()
        self.pool.start(_Runnable(task))
        return task

    @property
    def active(self) -> list[Task]:
        """Tasks queued or running whose ``finished`` has not been delivered yet."""
        return list(self._active)

    @property
    def busy(self) -> bool:
        return any(not task.done for task in self._active)

    def invalidate(self) -> int:
        """Start a new generation: cancel every older task and drop its results. Returns the generation."""
        self.generation += 1
        for task in self._active:
            task.cancel()
        return self.generation

    def cancel_all(self) -> None:
        for task in self._active:
            task.cancel()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel everything, drop queued work, wait for running work; True if it all ended."""
        self._closed = True
        self.cancel_all()
        self.pool.clear()  # queued work never starts: its tasks end here, unrun
        for task in self._active:
            if not task._started:
                task._ended.set()
        return self.pool.waitForDone(int(timeout_s * 1000))

    @Slot(int, str, object)
    def _on_message(self, task_id: int, kind: str, value: object) -> None:
        task = self._by_id.get(task_id)
        if task is not None:
            task._deliver(kind, value)

    def _forget(self, task: Task) -> None:
        if task in self._active:
            self._active.remove(task)
        self._by_id.pop(task._id, None)
        task.deleteLater()
