"""The teach room's one worker thread, and learning as the person labels.

The core's store, index and session belong to the thread that opened them (sqlite3), so every teach
use case runs on one long-lived thread (a ``TaskRunner`` with one thread that never expires), in the
order asked. ``learn()`` refits after a label change and scores the set as soon as the head is ready
(before the out-of-fold figures): the grid's badges change without a click. Labels that arrive while
a refit runs are never lost: the refit that is only checking its folds is cancelled, the labels are
written, and one refit on all of them follows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QObject

from resnet_desktop.core.errors import CancelledError
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import Task, TaskContext, TaskRunner
from resnet_desktop.gui.teach.backend import TeachBackend
from resnet_desktop.gui.teach.records import FitReport, HeadReady, Scores

logger = logging.getLogger(__name__)

R = TypeVar("R")
Y = TypeVar("Y")

#: How long closing waits for the running step (a refit checks its cancel flag between folds).
CLOSE_WAIT_S = 1.5


@dataclass(frozen=True)
class ScoresReady:
    """A learning event: the new head's scores of the whole scope (``started``: when the change that
    caused it was asked for, ``time.monotonic()``)."""

    scores: Scores
    started: float


LearnEvent = ScoresReady | Step


class TeachController(QObject):
    """Runs ``TeachBackend`` calls on the room's worker; callbacks come back on the GUI thread."""

    def __init__(
        self, backend: Callable[[], TeachBackend], status: InlineStatus | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._make_backend = backend
        self._backend: TeachBackend | None = None
        self.runner = TaskRunner(self, max_threads=1, name="teach", status=status)
        self.runner.pool.setExpiryTimeout(-1)  # one thread for the room's life: sqlite3 objects stay on it
        self._learning: Task[LearnEvent, FitReport] | None = None
        self._scored_this_round = False
        self._again = False
        self._asked_at: float | None = None
        self._learn_args: tuple[str, Callable[[ScoresReady], object], Callable[[FitReport], object]] | None = None
        self._on_learn_failed: Callable[[BaseException], object] | None = None

    # -- plain calls -------------------------------------------------------------------------------

    def backend(self) -> TeachBackend:
        """The backend, opened on first use (call on the worker thread only)."""
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    def call(
        self,
        work: Callable[[TeachBackend], R],
        *,
        name: str,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
    ) -> Task[object, R]:
        """``work(backend)`` on the worker; ``on_done(result)`` on the GUI thread (a failure nobody
        handles is shown in the room's status line)."""
        return self.runner.submit(
            lambda _ctx: work(self.backend()), name=name, on_returned=on_done, on_failed=on_failed
        )

    def cancellable(
        self,
        work: Callable[[TeachBackend, threading.Event], R],
        *,
        name: str,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
    ) -> Task[object, R]:
        """As ``call``, for work that checks a cancel flag (closing the room sets it)."""
        return self.runner.submit(
            lambda ctx: work(self.backend(), ctx.cancel), name=name, on_returned=on_done, on_failed=on_failed
        )

    def stream(
        self,
        work: Callable[[TeachBackend, threading.Event], Work[Y, R]],
        *,
        name: str,
        on_event: Callable[[Y], object] | None = None,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[], object] | None = None,
    ) -> Task[Y, R]:
        return self.runner.stream(
            lambda ctx: work(self.backend(), ctx.cancel),
            name=name,
            on_yielded=on_event,
            on_returned=on_done,
            on_failed=on_failed,
            on_finished=on_finished,
        )

    # -- learning as the person labels -------------------------------------------------------------

    @property
    def learning(self) -> bool:
        return self._learning is not None

    def labels_changing(self) -> None:
        """Call before queuing a label write: a refit that has scored already and is only checking
        its folds is cancelled, so the write (and the refit after it) do not wait for it."""
        if self._learning is not None and self._scored_this_round:
            self._learning.cancel()

    def learn(
        self,
        set_name: str,
        on_scores: Callable[[ScoresReady], object],
        on_report: Callable[[FitReport], object],
        on_failed: Callable[[BaseException], object] | None = None,
        *,
        asked_at: float | None = None,
    ) -> None:
        """Refit on the current labels, then score; while one runs, one more follows it (never more)."""
        self._learn_args = (set_name, on_scores, on_report)
        self._on_learn_failed = on_failed
        if self._asked_at is None:
            self._asked_at = asked_at if asked_at is not None else time.monotonic()
        if self._learning is not None:
            self._again = True
            return
        self._start_learning()

    def _start_learning(self) -> None:
        assert self._learn_args is not None
        set_name, on_scores, on_report = self._learn_args
        asked_at = self._asked_at if self._asked_at is not None else time.monotonic()
        self._asked_at = None
        self._again = False
        self._scored_this_round = False

        def on_event(event: LearnEvent) -> None:
            if isinstance(event, ScoresReady):
                self._scored_this_round = True
                on_scores(event)

        self._learning = self.runner.stream(
            lambda ctx: self._learn_work(ctx, set_name, asked_at),
            name="refit",
            on_yielded=on_event,
            on_returned=on_report,
            on_failed=self._learning_failed,
            on_finished=self._learning_finished,
        )

    def _learn_work(self, ctx: TaskContext, set_name: str, asked_at: float) -> Generator[LearnEvent, None, FitReport]:
        backend = self.backend()
        refit = backend.refit(set_name, ctx.cancel)
        try:
            while True:
                event = next(refit)
                if isinstance(event, HeadReady):
                    yield ScoresReady(backend.scores(set_name), asked_at)
                else:
                    yield event
        except StopIteration as stop:
            report: FitReport = stop.value
            return report
        finally:
            refit.close()

    def _learning_failed(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            return
        if self._on_learn_failed is not None:
            self._on_learn_failed(exc)
        elif self.runner.status is not None:
            self.runner.status.show_error(exc)

    def _learning_finished(self) -> None:
        self._learning = None
        if self._again and self._learn_args is not None:
            self._start_learning()

    # -- closing -----------------------------------------------------------------------------------

    def shutdown(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """Cancel the running step and drop queued ones; True if the worker ended within ``timeout_s``.
        Every store write is one short transaction: whatever was saved stays saved."""
        self._again = False
        return self.runner.shutdown(timeout_s)
