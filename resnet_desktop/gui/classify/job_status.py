"""What the status bar says about classification jobs: queued, progress with rate and ETA, the end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from resnet_desktop.core.errors import describe
from resnet_desktop.gui.classify.service import ClassifyJob, ModelService
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.status import StatusBar, progress_text

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Progress
    from resnet_desktop.gui.classify.results_model import ResultsModel


class JobStatus(QObject):
    """Listens to the service's job signals and keeps the status bar (and banner) up to date."""

    def __init__(self, service: ModelService, status: StatusBar, banner: Banner, results: ResultsModel) -> None:
        super().__init__(service)
        self.service = service
        self.status = status
        self.banner = banner
        self.results = results
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
        if started is None:
            return  # dropped from the queue before it began
        if cancelled:
            self.status.set_message(f"Cancelled. {self.results.rowCount()} results kept.")
            return
        elapsed = time.monotonic() - started
        unread = f" ({failed} could not be read)." if failed else "."
        self.status.set_message(f"Classified {done} files in {elapsed:.1f} s{unread}")

    def _on_failed(self, job: ClassifyJob, exc: BaseException) -> None:
        self._forget(job)
        self.banner.show_message("Classification stopped", describe(exc))
