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
never reach it. Worker threads never touch a QObject: they put messages in an inbox and wake the
runner (once per flood) with an argument-less signal; the runner delivers them on the GUI thread in
slices of at most ``DELIVERY_SLICE_S``, so painting and input go on between slices.

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
from resnet_desktop.gui.common import closing
from resnet_desktop.gui.common.gc_guard import collect_on_gui_thread, release_memory_soon

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
    """What a finished job holds instead of its work."""


class _Job:
    """The work itself, run on a pool thread: plain Python, so no worker ever holds (or frees) a QObject."""

    def __init__(
        self,
        work: Callable[[TaskContext], object],
        name: str,
        cancel: threading.Event,
        stream: bool,
        inbox: _Inbox,
    ) -> None:
        self.id = next(_task_ids)
        self.name = name
        self.cancel_event = cancel
        self.error: BaseException | None = None
        self.result: object = None
        self.started = False
        self.ended = threading.Event()
        self._work = work
        self._stream = stream
        self._inbox = inbox  # the only thing the pool thread touches besides the work

    def run(self) -> None:
        self.started = True
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
            self.result = value
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
            self.ended.set()  # ``done`` is true before any of the final messages arrive
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
        self._inbox.put((self.id, kind, value))


class Task(QObject, Generic[Y_co, R_co]):
    """The GUI thread's handle on one piece of background work (created by a :class:`TaskRunner`).

    It has no Qt parent and is never handed to a worker: it lives as long as the runner lists it and
    whoever keeps it, and is freed on the GUI thread (a parented object deleted with its window while a
    deferred delete of it was pending crashed Qt: seen as a segfault in ``~QObject`` between tests).
    """

    #: Always, last (also after a cancel or a failure, and for a stale generation).
    finished = Signal()

    def __init__(self, runner: TaskRunner, job: _Job, handlers: _Handlers) -> None:
        super().__init__()
        self.runner = runner
        self.job = job
        self.name = job.name
        self.generation = runner.generation
        self.cancel_event = job.cancel_event
        self._handlers = handlers
        self._finished_delivered = False

    # -- state -----------------------------------------------------------------------------

    @property
    def error(self) -> BaseException | None:
        return self.job.error

    @property
    def result(self) -> R_co | None:
        return self.job.result  # type: ignore[return-value]  # R, as the work's type says

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set() or isinstance(self.job.error, CancelledError)

    @property
    def done(self) -> bool:
        """The work has ended (its ``finished`` signal may still be on its way)."""
        return self.job.ended.is_set()

    def is_current(self) -> bool:
        """False once the runner moved to a newer generation: results are then dropped."""
        return self.generation == self.runner.generation

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the work has ended (True) or ``timeout_s`` passed (False); while the app closes,
        at most what is left of its budget (``closing``)."""
        ended = self.job.ended.wait(closing.bounded(timeout_s))
        if not ended:
            closing.note_abandoned(self.name)
        return ended

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
                # Drop the callbacks and the work (often bound methods of the task's owner): a finished
                # task must not keep its owner in a reference cycle that the collector would later break
                # in the middle of event delivery (a QObject deleted there crashes Qt).
                self._handlers = _Handlers()
                self.job._work = _ended_work
                release_memory_soon()
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


class _Inbox:
    """Messages from the pool threads, waiting for the GUI thread (plain Python: workers touch only this).

    A flood of messages wakes the GUI thread once: the first message after it last looked emits ``wake``.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        self._messages: queue.SimpleQueue[tuple[int, str, object]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wake_pending = False
        self._wake = wake

    def put(self, message: tuple[int, str, object]) -> None:
        self._messages.put(message)
        with self._lock:
            if self._wake_pending:
                return
            self._wake_pending = True
        self._wake()

    def take(self) -> tuple[int, str, object] | None:
        try:
            return self._messages.get_nowait()
        except queue.Empty:
            return None

    def looked(self) -> None:
        """The GUI thread is about to read: the next message wakes it again."""
        with self._lock:
            self._wake_pending = False

    def empty(self) -> bool:
        return self._messages.empty()


class _Relay(QObject):
    """Wakes the runner on the GUI thread; the messages themselves wait in the runner's queue."""

    wake = Signal()


class _Runnable(QRunnable):
    def __init__(self, job: _Job) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.job = job

    def run(self) -> None:
        try:
            self.job.run()
        except RuntimeError:  # the runner's QObject was deleted while the app quit
            logger.debug("task %s outlived its window", self.job.name)


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
        self._inbox = _Inbox(self._relay.wake.emit)  # the emit is bound here, on the GUI thread
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
        task: Task[NoReturn, R] = Task(self, self._job(work, name, cancel, stream=False), handlers)
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
        task: Task[Y, R] = Task(self, self._job(work, name, cancel, stream=True), handlers)
        return self._start(task)

    def _job(
        self, work: Callable[[TaskContext], object], name: str, cancel: threading.Event | None, *, stream: bool
    ) -> _Job:
        event = cancel if cancel is not None else threading.Event()
        return _Job(work, name or f"{self.name} task", event, stream, self._inbox)

    def _start(self, task: T) -> T:
        self._active.append(task)
        self._by_id[task.job.id] = task
        if self._closed:
            task.cancel()
        self.pool.start(_Runnable(task.job))
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
            if not task.job.started:
                task.job.ended.set()
        budget = closing.bounded(timeout_s)
        done = self.pool.waitForDone(int((timeout_s if budget is None else budget) * 1000))
        if not done:
            closing.note_abandoned(self.name)
        return done

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
        self._inbox.looked()
        while True:  # at least one message per turn, however short the slice
            message = self._inbox.take()
            if message is None:
                return
            task_id, kind, value = message
            task = self._by_id.get(task_id)
            if task is not None:
                task._deliver(kind, value)
            if time.monotonic() - started >= DELIVERY_SLICE_S:
                break
        if not self._inbox.empty():
            QTimer.singleShot(0, self._on_wake)

    def _forget(self, task: Task[object, object]) -> None:
        """Done with: dropped from the runner's lists (freed on the GUI thread once nobody holds it)."""
        if task in self._active:
            self._active.remove(task)
        self._by_id.pop(task.job.id, None)
