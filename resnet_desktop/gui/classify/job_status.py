"""What the status bar says about classification jobs: queued, progress with rate and ETA, the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from resnet_desktop.core.errors import describe
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.model_service import ClassifyJob, ModelService
from resnet_desktop.gui.common.status import StatusBar, progress_text
from resnet_desktop.gui.common.text import plural

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Progress
    from resnet_desktop.gui.classify.results_model import ResultsModel


CLASSIFY_REMAINING = "Classify Remaining"
#: The banner topic "a run was cancelled; the rest can be classified now".
CANCELLED = "cancelled"


@dataclass
class Spell:
    """Files done and failed over consecutive jobs, from the first one's start."""

    started: float | None = None
    jobs: int = 0
    done: int = 0
    failed: int = 0
    #: Of ``done``, the results the library index already had (nothing was computed for them).
    known: int = 0

    def add(self, started: float, done: int, failed: int, known: int = 0) -> None:
        self.started = started if self.started is None else min(self.started, started)
        self.jobs += 1
        self.done += done
        self.failed += failed
        self.known += known

    def summary(self) -> str:
        """``"Classified 8 files in 1.2 s; 4 could not be read."`` (over all jobs of the spell); files
        the library index knew are counted apart, since nothing was computed for them."""
        elapsed = time.monotonic() - (self.started or time.monotonic())
        jobs = f" in {self.jobs} jobs" if self.jobs > 1 else ""
        known = min(self.known, self.done - self.failed)
        new = self.done - self.failed - known
        if known and not new:
            text = f"{plural(known, 'file')} shown from the library index (classified before with this model)"
        else:
            text = f"Classified {plural(new, 'file')}{jobs} in {elapsed:.1f} s"
            if known:
                text += f"; {known} more from the library index"
        if self.failed:
            text += f"; {self.failed} could not be read"
        return text + "."


class JobStatus(QObject):
    """Listens to the service's job signals and keeps the status bar (and banner) up to date."""

    def __init__(
        self,
        service: ModelService,
        status: StatusBar,
        banner: Banner,
        results: ResultsModel,
        resume: Callable[[list[Path]], object],
    ) -> None:
        super().__init__(service)
        self.service = service
        self.status = status
        self.banner = banner
        self.results = results
        self._resume = resume
        #: Inputs of cancelled jobs, offered as "Classify Remaining" (already-done files are skipped).
        self._cancelled_inputs: list[Path] = []
        #: Totals over the jobs of one busy spell, so the last message sums up the whole queue.
        self._spell = Spell()
        self._started_at: dict[int, float] = {}
        self._failed: dict[int, int] = {}
        self._done: dict[int, int] = {}
        self._rate: dict[int, float] = {}
        service.jobQueued.connect(self._on_queued)
        service.jobStarted.connect(self._on_started)
        service.jobTotal.connect(self._on_total)
        service.jobProgress.connect(self._on_progress)
        service.jobFinished.connect(self._on_finished)
        service.jobFailed.connect(self._on_failed)

    def _on_queued(self, job: ClassifyJob) -> None:
        if self.service.model is None and self.service.is_loading:
            self.status.set_message("Files queued: they will be classified once the model is ready.")
        elif self.service.model is None:
            self.status.set_message("Files queued: choose a model (see the banner above) to classify them.")

    def _on_started(self, job: ClassifyJob, total: int) -> None:
        # A new run: the offer to finish a cancelled one is no longer what the person is doing.
        self.banner.withdraw(CANCELLED)
        self._cancelled_inputs = []
        self._started_at[job.id] = time.monotonic()
        self._done[job.id] = 0
        self._show(job, 0, 0.0)
        self.status.set_message("Classifying… (Esc cancels; finished results are kept)")

    def _on_total(self, job: ClassifyJob, total: int) -> None:
        if job is self.service.current_job:
            self._show(job, self._done.get(job.id, 0), self._rate.get(job.id, 0.0))

    def _on_progress(self, job: ClassifyJob, progress: Progress) -> None:
        if job is not self.service.current_job:
            return
        self._failed[job.id] = progress.failed
        self._done[job.id] = progress.done
        self._rate[job.id] = progress.images_per_second
        self._show(job, progress.done, progress.images_per_second)

    def _show(self, job: ClassifyJob, done: int, rate: float) -> None:
        """done/total with images/s and ETA; a busy bar until the file count is known."""
        total = job.total
        text = progress_text(done, total, rate, len(self.service.queue))
        self.status.set_busy(text, max(total, 1) if total is not None else 0, min(done, total or 0))

    def _forget(self, job: ClassifyJob) -> tuple[float | None, int, int]:
        started = self._started_at.pop(job.id, None)
        self._rate.pop(job.id, None)
        return started, self._done.pop(job.id, 0), self._failed.pop(job.id, 0)

    def _on_finished(self, job: ClassifyJob, cancelled: bool) -> None:
        started, done, failed = self._forget(job)
        if cancelled:
            self._cancelled_inputs.extend(p for p in job.inputs if p not in self._cancelled_inputs)
        if started is None:
            return  # dropped from the queue before it began
        known = sum(1 for origin in job.origins.values() if origin == "index")
        self._spell.add(started, done, failed, known)
        if self.service.busy:
            return  # more jobs queued: the summary comes after the last one
        spell, self._spell = self._spell, Spell()
        if cancelled or self._cancelled_inputs:
            kept = plural(self.results.rowCount(), "result")
            self.status.set_message(f"Cancelled. {kept} kept.")
            inputs, self._cancelled_inputs = self._cancelled_inputs, []
            self.banner.show_message(
                "Classification cancelled",
                f"{kept} kept. The files not classified yet can be classified now.",
                [(CLASSIFY_REMAINING, lambda: self._resume_cancelled(inputs))],
                level="info",
                topic=CANCELLED,
            )
            return
        self.status.set_message(spell.summary())

    def _resume_cancelled(self, inputs: list[Path]) -> None:
        self.banner.withdraw(CANCELLED)
        self._resume(inputs)

    def _on_failed(self, job: ClassifyJob, exc: BaseException) -> None:
        self._forget(job)
        self.banner.show_message("Classification stopped", describe(exc))
