"""THE way the GUI runs work in the background, typed (in the style of superqt's generator workers).

Two ways in, one machinery:

- ``runner.submit(work)``: ``work(ctx)`` returns a value ``R`` -> a ``Task[NoReturn, R]``;
- ``runner.stream(work)``: ``work(ctx)`` is a generator (``core.work``'s convention: it yields events
  ``Y`` and returns ``R``) -> a ``Task[Y, R]``.

The callbacks run on the GUI thread, typed by what the work yields and returns: ``on_yielded(item)``,
``on_progress(value)`` for each ``ctx.progress(value)`` (download bytes, export stages),
``on_returned(result)``, ``on_failed(exception)`` and ``on_finished()`` (always, last);
``task.cancelled`` and ``task.error`` tell how it ended. A failure nobody handles goes to the runner's
inline status (``show_error``), the default failure path, or to the log when it has none.

Cancelling never goes through an event loop: ``task.cancel()`` sets ``ctx.cancel`` (a
``threading.Event``) which the core checks between batches. ``runner.invalidate()`` starts a new
*generation*: tasks of older generations are cancelled and their results are dropped (only
``on_finished`` still runs), so an answer about an image or a model the window no longer shows can
never reach it. Worker threads never touch a QObject: they put messages on a queue and wake the
runner with an argument-less signal; the runner delivers them on the GUI thread.

Expected failures (``ResNetDesktopError``: a bad file, a missing index) are logged in one line;
anything else is a bug and is logged with its traceback.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from resnet_desktop.core.errors import CancelledError, ResNetDesktopError
from resnet_desktop.gui.common.gc_guard import collect_on_gui_thread

if TYPE_CHECKING:
    from resnet_desktop.gui.common.inline_status import InlineStatus

logger = logging.getLogger(__name__)

Y = TypeVar("Y")
P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T", bound="Task[object, object]")
# A Task is only read from (what it yields and returns), so Task[int, str] is a Task[object, object].
Y_co = TypeVar("Y_co", covariant=True)
R_co = TypeVar("R_co", covariant=True)

_task_ids = itertools.count(1)
#: The longest the GUI thread spends handing over results in one go (a flood never freezes the window).
DELIVERY_SLICE_S = 0.02


class TaskContext:
    """What the work function gets: the cancel flag, and a way to report progress (download bytes,
    export stages) to the task's ``on_progress``, which declares the type it expects."""

    def __init__(self, post: Callable[[str, object], None], cancel: threading.Event) -> None:
        self._post = post
        self.cancel: threading.Event = cancel

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        """Raise ``CancelledError`` if the task was cancelled (for loops without a core check)."""
        if self.cancel.is_set():
            raise CancelledError("Cancelled.")

    def progress(self, value: object) -> None:
        self._post("progress", value)


@dataclass
class _Handlers:
    """The callbacks of one task (GUI thread). Typed at ``submit``/``stream``; stored loosely here."""

    yielded: Callable[[object], object] | None = None
    progress: Callable[[object], object] | None = None
    returned: Callable[[object], object] | None = None
    failed: Callable[[BaseException], object] | None = None
    finished: Callable[[], object] | None = None


def _ended_work(_ctx: TaskContext) -> None:
    """What a finished task holds instead of its work."""


class Task(QObject, Generic[Y_co, R_co]):
    """One piece of background work; created by a :class:`TaskRunner`, lives on the GUI thread."""

    #: Always, last (also after a cancel or a failure, and for a stale generation).
    finished = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        work: Callable[[TaskContext], object],
        name: str,
        cancel: threading.Event | None,
        handlers: _Handlers,
        stream: bool,
    ) -> None:
        super().__init__(runner)
        self.runner = runner
        self.name = name
        self.generation = runner.generation
        self.cancel_event = cancel if cancel is not None else threading.Event()
        self.error: BaseException | None = None
        self.result: R_co | None = None
        self._work = work
        self._handlers = handlers
        self._stream = stream
        self._ended = threading.Event()
        self._started = False
        self._finished_delivered = False
        self._id = next(_task_ids)
        # Bound now, on the GUI thread: the pool thread never looks anything up on a QObject (a task can
        # be deleted on the GUI thread while its worker is still returning).
        self._put = runner._inbox.put
        self._wake = runner._relay.wake.emit

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
        ctx = TaskContext(self._post, self.cancel_event)
        outcome: tuple[str, object] | None = None
        try:
            if self.cancel_event.is_set():
                raise CancelledError("Cancelled before it started.")
            value = self._work(ctx)
            if self._stream:
                if not isinstance(value, Generator):
                    raise TypeError(f"task {self.name}: stream() needs a generator, got {type(value).__name__}")
                value = self._drain(value)
            elif isinstance(value, Generator):
                value.close()
                raise TypeError(f"task {self.name}: a generator was given to submit(); use stream()")
            self.result = value  # type: ignore[assignment]  # R, as the work's type says
            outcome = ("returned", value)
        except CancelledError as exc:
            self.error = exc
            logger.debug("task %s cancelled", self.name)
        except ResNetDesktopError as exc:
            self.error = exc
            logger.warning("task %s: %s", self.name, exc)  # expected: one line, no traceback
            outcome = ("failed", exc)
        except Exception as exc:
            self.error = exc
            logger.warning("task %s failed unexpectedly", self.name, exc_info=True)
            outcome = ("failed", exc)
        finally:
            self._ended.set()  # ``done`` is true before any of the final messages arrive
            if outcome is not None:
                self._post(*outcome)
            self._post("finished", None)

    def _drain(self, items: Generator[object, None, object]) -> object:
        while True:
            try:
                item = next(items)
            except StopIteration as stop:
                return stop.value
            self._post("yielded", item)
            if self.cancel_event.is_set():
                items.close()  # a generator's finally blocks run now, on this thread
                raise CancelledError("Cancelled.")

    def _post(self, kind: str, value: object) -> None:
        self._put((self._id, kind, value))
        self._wake()

    # -- delivery (GUI thread) -------------------------------------------------------------

    def _deliver(self, kind: str, value: object) -> None:
        handlers = self._handlers
        if kind == "finished":
            if not self._finished_delivered:
                self._finished_delivered = True
                if handlers.finished is not None:
                    handlers.finished()
                self.finished.emit()
                self.runner._forget(self)
                # Drop the callbacks (often bound methods of the task's owner): a finished task must
                # not keep its owner in a reference cycle that the collector would later break in the
                # middle of event delivery (a QObject deleted there crashes Qt).
                self._handlers = _Handlers()
                self._work = _ended_work
            return
        if not self.is_current():
            return
        if kind == "failed":
            assert isinstance(value, BaseException)
            if handlers.failed is not None:
                handlers.failed(value)
            else:
                self.runner._default_failure(self, value)
            return
        callback = {"yielded": handlers.yielded, "progress": handlers.progress, "returned": handlers.returned}[kind]
        if callback is not None:
            callback(value)


class _Relay(QObject):
    """Wakes the runner on the GUI thread; the messages themselves wait in the runner's queue."""

    wake = Signal()


class _Runnable(QRunnable):
    def __init__(self, task: Task[object, object]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.task = task

    def run(self) -> None:
        try:
            self.task._run()
        except RuntimeError:  # the runner's QObject was deleted while the app quit
            logger.debug("task %s outlived its window", self.task.name)


class TaskRunner(QObject):
    """A thread pool for one part of the GUI (one thread: tasks run one at a time, in order).

    ``status``: where failures nobody handles are shown (``InlineStatus.show_error``).
    """

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_threads: int = 1,
        name: str = "tasks",
        status: InlineStatus | None = None,
    ) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # never let a worker thread garbage-collect a Qt object
        self.name = name
        self.status = status
        self.generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setObjectName(name)
        # Created after the pool, so it is destroyed after it (the pool waits for its threads).
        self._relay = _Relay(self)
        self._relay.wake.connect(self._on_wake)
        self._inbox: queue.SimpleQueue[tuple[int, str, object]] = queue.SimpleQueue()
        self._by_id: dict[int, Task[object, object]] = {}
        self._active: list[Task[object, object]] = []
        self._closed = False

    def submit(
        self,
        work: Callable[[TaskContext], R],
        *,
        name: str = "",
        cancel: threading.Event | None = None,
        on_progress: Callable[[P], object] | None = None,
        on_returned: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[], object] | None = None,
    ) -> Task[NoReturn, R]:
        """Run ``work(ctx)`` (a plain function) in the background; ``on_returned`` gets its value.

        ``cancel``: an event of the caller's to use as the task's cancel flag (shared by related tasks).
        """
        handlers = _Handlers(None, on_progress, on_returned, on_failed, on_finished)  # type: ignore[arg-type]
        task: Task[NoReturn, R] = Task(self, work, name or f"{self.name} task", cancel, handlers, False)
        return self._start(task)

    def stream(
        self,
        work: Callable[[TaskContext], Generator[Y, None, R]],
        *,
        name: str = "",
        cancel: threading.Event | None = None,
        on_yielded: Callable[[Y], object] | None = None,
        on_progress: Callable[[P], object] | None = None,
        on_returned: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[], object] | None = None,
    ) -> Task[Y, R]:
        """Run the generator ``work(ctx)`` in the background: each item to ``on_yielded``, its return
        value to ``on_returned``; a cancel closes the generator between items."""
        handlers = _Handlers(on_yielded, on_progress, on_returned, on_failed, on_finished)  # type: ignore[arg-type]
        task: Task[Y, R] = Task(self, work, name or f"{self.name} task", cancel, handlers, True)
        return self._start(task)

    def _start(self, task: T) -> T:
        self._active.append(task)
        self._by_id[task._id] = task
        if self._closed:
            task.cancel()
        self.pool.start(_Runnable(task))
        return task

    @property
    def active(self) -> list[Task[object, object]]:
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

    def _default_failure(self, task: Task[object, object], exc: BaseException) -> None:
        """Anki's ``QueryOp`` rule: a failure nobody handles is shown, not swallowed."""
        if self.status is not None:
            self.status.show_error(exc)
        else:
            logger.warning("task %s: nobody shows this failure: %s", task.name, exc)

    @Slot()
    def _on_wake(self) -> None:
        """Deliver waiting messages for at most ``DELIVERY_SLICE_S``, then let the event loop breathe
        (paint, input, timers) before delivering the rest."""
        started = time.monotonic()
        while time.monotonic() - started < DELIVERY_SLICE_S:
            try:
                task_id, kind, value = self._inbox.get_nowait()
            except queue.Empty:
                return
            task = self._by_id.get(task_id)
            if task is not None:
                task._deliver(kind, value)
        if not self._inbox.empty():
            QTimer.singleShot(0, self._on_wake)

    def _forget(self, task: Task[object, object]) -> None:
        if task in self._active:
            self._active.remove(task)
        self._by_id.pop(task._id, None)
        task.deleteLater()
