"""The model service: imports torch, loads models and classifies, on one background thread.

Everything runs as tasks of one single-thread ``TaskRunner`` (``gui.common.tasks``), so catalog,
loads and classification jobs happen one after another in arrival order and the engine is only
ever used by that thread. Cancelling goes through each task's ``threading.Event``, which the core
checks between batches. ``ModelService`` queues jobs behind the running one and until a model is
ready, and shuts everything down cleanly; the GUI only sees its typed signals. The work itself (and
the job record) is in ``model_work``; it lives in ``gui.common`` because every room of the app uses
the one loaded model (classify, features, library, the model lab, the wizard).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from PySide6.QtCore import QObject, Signal

from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.models.ref import ModelRef, ref_of

# The work functions are looked up in this module when a task starts (``load_and_place(...)`` inside
# the lambdas), so replacing ``model_service.load_and_place`` (tests do) reaches the worker.
from resnet_desktop.gui.common.model_work import MIN_EMIT_INTERVAL_S as MIN_EMIT_INTERVAL_S
from resnet_desktop.gui.common.model_work import Catalog as Catalog
from resnet_desktop.gui.common.model_work import ClassifyJob as ClassifyJob
from resnet_desktop.gui.common.model_work import build_catalog, new_id
from resnet_desktop.gui.common.model_work import classify_stream as classify_stream
from resnet_desktop.gui.common.model_work import count_files as count_files
from resnet_desktop.gui.common.model_work import load_and_place as load_and_place
from resnet_desktop.gui.common.tasks import Task, TaskRunner

if TYPE_CHECKING:
    import torch

    from resnet_desktop.core.inference.api import Engine
    from resnet_desktop.core.models.ref import LoadedModel

logger = logging.getLogger(__name__)


@dataclass
class LoadRequest:
    ref: ModelRef
    device: str
    id: int = field(default_factory=new_id)
    task: Task[NoReturn, tuple[LoadedModel, Engine]] | None = None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


@dataclass
class ModelInfo:
    """A model that is ready to classify. ``loaded`` is the core's ``LoadedModel`` (never run here)."""

    ref: ModelRef
    loaded: LoadedModel
    device: str
    device_name: str
    source: str
    num_classes: int
    notices: list[str] = field(default_factory=list)
    #: What runs the model: "torch", "onnxruntime" or "onnxruntime int8" (the Fast Mode).
    backend: str = "torch"


class ModelService(QObject):
    """GUI-side owner of the inference thread: load models, queue jobs, cancel, shut down."""

    stage = Signal(str)
    catalogReady = Signal(Catalog)
    loadProgress = Signal(int, int)  # done bytes, total bytes (-1 unknown)
    modelReady = Signal(ModelInfo)
    modelFailed = Signal(BaseException)  # a core error type; CancelledError when cancelled
    jobQueued = Signal(ClassifyJob)
    jobStarted = Signal(ClassifyJob, int)  # job, total files (-1: still counting)
    jobTotal = Signal(ClassifyJob, int)  # job, total files
    predictions = Signal(ClassifyJob, list)  # job, [Prediction]
    jobProgress = Signal(ClassifyJob, Progress)
    jobFinished = Signal(ClassifyJob, bool)  # job, cancelled
    jobFailed = Signal(ClassifyJob, BaseException)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = TaskRunner(self, max_threads=1, name="inference")
        self._counter = TaskRunner(self, max_threads=1, name="count-files")
        self._engine: Engine | None = None
        self.catalog: Catalog | None = None
        self.model: ModelInfo | None = None
        self._load: LoadRequest | None = None
        self.current_job: ClassifyJob | None = None
        self.queue: deque[ClassifyJob] = deque()
        self._started = False
        self._closing = False
        #: Engine backend and precision for the next load (the Model > Backend setting).
        self.backend, self.precision = "torch", "fp32"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def engine_model(self) -> torch.nn.Module | None:
        """The module the inference thread actually runs (the engine's inference copy), or None."""
        return self._engine.model if self._engine is not None else None

    @property
    def running(self) -> bool:
        """Whether any of the service's work is still running on its threads."""
        return self._runner.busy or self._counter.busy

    def start(self) -> None:
        """Import torch on the service's thread and list models and devices (the window is shown)."""
        if self._started:
            return
        self._started = True
        self.stage.emit("Loading PyTorch…")
        self._runner.submit(lambda _ctx: build_catalog(), name="catalog", on_returned=self._on_catalog)

    def shutdown(self) -> None:
        """Cancel everything, drop queued work, and wait for the running task to end."""
        self._closing = True
        self.cancel_all()
        if self._load is not None:
            self._load.cancel()
        self._runner.shutdown()
        self._counter.shutdown()
        self.current_job = None
        self._load = None
        logger.debug("Inference thread stopped")

    @property
    def is_loading(self) -> bool:
        return self._load is not None

    @property
    def busy(self) -> bool:
        return self.current_job is not None or bool(self.queue)

    # -- model ---------------------------------------------------------------------------------

    def load(self, ref: ModelRef, device: str = "auto") -> LoadRequest:
        """Load ``ref`` on ``device``; supersedes (cancels) a load still in progress."""
        self.start()
        if self._load is not None:
            self._load.cancel()
        request = LoadRequest(ref=ref, device=device)
        self._load = request
        self.stage.emit(f"Loading {ref.describe()}…")
        backend, precision = self.backend, self.precision
        request.task = self._runner.submit(
            lambda ctx: load_and_place(ref, device, ctx, backend, precision),
            name=f"load {ref.describe()}",
            on_progress=partial(self._on_load_progress, request),
            on_returned=lambda value: self._on_model_ready(request, value),
            on_failed=lambda exc: self._on_model_failed(request, exc),
            on_finished=lambda: self._on_load_finished(request),
        )
        return request

    def cancel_load(self) -> bool:
        """Stop a model load (e.g. a download) in progress; ``modelFailed(CancelledError)`` follows."""
        if self._load is None:
            return False
        self._load.cancel()
        return True

    def _on_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.catalogReady.emit(catalog)

    def _on_load_progress(self, request: LoadRequest, value: tuple[int, int]) -> None:
        if request is self._load:
            self.loadProgress.emit(*value)

    def _on_model_ready(self, request: LoadRequest, value: tuple[LoadedModel, Engine]) -> None:
        if request is not self._load:
            return
        if request.task is not None and request.task.cancel_event.is_set():
            return  # cancelled after the work ended: reported as cancelled by _on_load_finished
        loaded, engine = value
        self._load = None
        self._engine = engine
        info = ModelInfo(
            ref=ref_of(loaded),
            loaded=loaded,
            device=str(engine.device),
            device_name=engine.device_name,
            source=loaded.source,
            num_classes=len(loaded.categories),
            notices=list(engine.notices),
            backend=engine.backend + (" int8" if engine.precision == "fast" else ""),
        )
        self.model = info
        logger.info("Model ready: %s on %s", info.source, info.device_name)
        self.modelReady.emit(info)
        self._start_next()

    def _on_model_failed(self, request: LoadRequest, exc: BaseException) -> None:
        """A failed load keeps the model that worked (``self.model``), and its queued jobs go on."""
        if request is not self._load:
            return
        self._load = None
        self.modelFailed.emit(exc)
        self._start_next()

    def _on_load_finished(self, request: LoadRequest) -> None:
        """A cancelled load (or one superseded mid-way) always reports back: never a stuck 'loading'."""
        if request is not self._load:
            return
        from resnet_desktop.core.errors import CancelledError

        self._on_model_failed(request, CancelledError("Loading the model was cancelled."))

    # -- jobs ----------------------------------------------------------------------------------

    def classify(self, inputs: list[Path], topk: int = 5, skip: frozenset[Path] = frozenset()) -> ClassifyJob:
        """Queue a job behind the running one; it starts as soon as a model is ready."""
        job = ClassifyJob(inputs=[Path(p) for p in inputs], topk=topk, skip=skip)
        self.queue.append(job)
        self.jobQueued.emit(job)
        self.busyChanged.emit(True)
        self._start_next()
        return job

    def _start_next(self) -> None:
        if self.current_job is not None or self._load is not None or self._engine is None:
            return
        if self._closing or not self.queue:
            return
        job = self.current_job = self.queue.popleft()
        job.model = self.model.source if self.model is not None else ""
        engine = self._engine
        self.jobStarted.emit(job, -1)
        task = self._runner.stream(
            lambda ctx: classify_stream(engine, job, ctx),
            name=f"classify job {job.id}",
            cancel=job.cancel,
            on_yielded=lambda chunk: self.predictions.emit(job, chunk),
            on_progress=lambda progress: self.jobProgress.emit(job, progress),
            on_failed=lambda exc: self._on_job_failed(job, exc),
            on_finished=lambda: self._on_job_finished(job, task),
        )
        self._counter.submit(
            lambda ctx: count_files(job, ctx),
            name=f"count job {job.id}",
            cancel=job.cancel,  # one cancel stops both
            on_returned=lambda total: self._on_total(job, total),
        )

    def _on_total(self, job: ClassifyJob, total: int) -> None:
        job.total = total
        self.jobTotal.emit(job, total)

    def cancel_running(self) -> None:
        """Stop the running job only (what is done is kept); queued jobs stay queued."""
        if self.current_job is not None:
            self.current_job.cancel.set()

    def cancel_all(self) -> None:
        """Stop the running job (what is done is kept) and drop queued ones."""
        dropped = list(self.queue)
        self.queue.clear()
        for job in dropped:
            job.cancel.set()
        if self.current_job is not None:
            self.current_job.cancel.set()
        for job in dropped:
            self.jobFinished.emit(job, True)
        if not self.busy:
            self.busyChanged.emit(False)

    def _on_job_failed(self, job: ClassifyJob, exc: BaseException) -> None:
        job.failed = True
        self.jobFailed.emit(job, exc)

    def _on_job_finished(self, job: ClassifyJob, task: Task[object, object]) -> None:
        if job is self.current_job:
            self.current_job = None
        if not job.failed:
            self.jobFinished.emit(job, task.cancelled)
        self._start_next()
        if not self.busy:
            self.busyChanged.emit(False)
