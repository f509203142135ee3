"""The teach room's one worker thread, and learning as the person labels.

The core's store, index and session belong to the thread that opened them (sqlite3), so every teach
use case (a call of ``core.teach.api`` with what the ``TeachDesk`` holds) runs on one long-lived thread
(a ``TaskRunner`` with one thread that never expires), in the order asked. ``learn()`` refits after a
label change and scores the set as soon as the head is ready (before the out-of-fold figures): the
grid's badges change without a click; the regularisation is chosen again after it when it is due.
Labels that arrive while a refit runs are never lost: the refit that is only checking its folds is
cancelled, the labels are written, and one refit on all of them follows.
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
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach.api import FitReport, HeadReady, Scores
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import Task, TaskContext, TaskRunner
from resnet_desktop.gui.teach.desk import TeachDesk

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


#: What learning yields: the badges' scores, the refit's figures (before a regularisation search), steps.
LearnEvent = ScoresReady | FitReport | Step


class TeachController(QObject):
    """Runs ``core.teach.api`` calls on the room's worker; callbacks come back on the GUI thread."""

    def __init__(self, status: InlineStatus | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._desk: TeachDesk | None = None
        self.runner = TaskRunner(self, max_threads=1, name="teach", status=status)
        self.runner.pool.setExpiryTimeout(-1)  # one thread for the room's life: sqlite3 objects stay on it
        self._learning: Task[LearnEvent, None] | None = None
        self._scored_this_round = False
        self._again = False
        self._asked_at: float | None = None
        self._learn_args: tuple[str, Callable[[ScoresReady], object], Callable[[FitReport], object]] | None = None
        self._on_learn_failed: Callable[[BaseException], object] | None = None
        #: Writes of the person's labels not run yet: closing runs them, never drops them.
        self._writes: set[Task[object, object]] = set()

    # -- plain calls -------------------------------------------------------------------------------

    def desk(self) -> TeachDesk:
        """The store, index and sessions, opened on first use (call on the worker thread only)."""
        if self._desk is None:
            self._desk = TeachDesk()
        return self._desk

    def call(
        self,
        work: Callable[[TeachDesk], R],
        *,
        name: str,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        write: bool = False,
    ) -> Task[object, R]:
        """``work(desk)`` on the worker; ``on_done(result)`` on the GUI thread (a failure nobody
        handles is shown in the room's status line). ``write``: the person's labels, which closing the
        room waits for instead of cancelling (they show as labeled already)."""
        task: Task[object, R] = self.runner.submit(
            lambda _ctx: work(self.desk()),
            name=name,
            on_returned=on_done,
            on_failed=on_failed,
            on_finished=(lambda: self._writes.discard(task)) if write else None,
        )
        if write:
            self._writes.add(task)
        return task

    def cancellable(
        self,
        work: Callable[[TeachDesk, threading.Event], R],
        *,
        name: str,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
    ) -> Task[object, R]:
        """As ``call``, for work that checks a cancel flag (closing the room sets it)."""
        return self.runner.submit(
            lambda ctx: work(self.desk(), ctx.cancel), name=name, on_returned=on_done, on_failed=on_failed
        )

    def stream(
        self,
        work: Callable[[TeachDesk, threading.Event], Work[Y, R]],
        *,
        name: str,
        on_event: Callable[[Y], object] | None = None,
        on_done: Callable[[R], object] | None = None,
        on_failed: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[], object] | None = None,
    ) -> Task[Y, R]:
        return self.runner.stream(
            lambda ctx: work(self.desk(), ctx.cancel),
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
            elif isinstance(event, FitReport):
                on_report(event)

        self._learning = self.runner.stream(
            lambda ctx: self._learn_work(ctx, set_name, asked_at),
            name="refit",
            on_yielded=on_event,
            on_failed=self._learning_failed,
            on_finished=self._learning_finished,
        )

    def _learn_work(self, ctx: TaskContext, set_name: str, asked_at: float) -> Generator[LearnEvent, None, None]:
        session = self.desk().session(set_name)
        refit = api.refit(session, ctx.cancel)
        try:
            while True:
                event = next(refit)
                if isinstance(event, HeadReady):
                    yield ScoresReady(api.scores(session), asked_at)
                else:
                    yield event
        except StopIteration as stop:
            report: FitReport = stop.value
        finally:
            refit.close()
        yield report
        if session.regularisation_due():  # after the figures: it takes longer, and new labels cancel it
            yield from api.choose_regularisation(session, ctx.cancel)

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
        """Cancel the running step and the queued ones but the label writes, which run (one short
        transaction each), then close the store and the index on the worker; True if it all ended
        within ``timeout_s``."""
        self._again = False
        for task in self.runner.active:
            if task not in self._writes:
                task.cancel()
        if self._desk is not None:
            self.runner.submit(lambda _ctx: self._close_desk(), name="close the store")
        ended = self.runner.pool.waitForDone(int(timeout_s * 1000))
        return self.runner.shutdown(0.0) and ended

    def _close_desk(self) -> None:
        """On the worker, last (its sqlite3 connections belong to this thread)."""
        desk, self._desk = self._desk, None
        if desk is not None:
            desk.close()
