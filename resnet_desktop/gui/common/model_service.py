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
from resnet_desktop.gui.common.model_work import Loaded as Loaded
from resnet_desktop.gui.common.model_work import build_catalog, new_id
from resnet_desktop.gui.common.model_work import classify_stream as classify_stream
from resnet_desktop.gui.common.model_work import count_files as count_files
from resnet_desktop.gui.common.model_work import load_and_place as load_and_place
from resnet_desktop.gui.common.model_work import load_torch_model as load_torch_model
from resnet_desktop.gui.common.tasks import Task, TaskRunner

if TYPE_CHECKING:
    import torch

    from resnet_desktop.core.inference.api import Opened, StoredModel
    from resnet_desktop.core.models.ref import LoadedModel

logger = logging.getLogger(__name__)


@dataclass
class LoadRequest:
    ref: ModelRef
    device: str
    id: int = field(default_factory=new_id)
    task: Task[NoReturn, Loaded] | None = None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


@dataclass
class ModelInfo:
    """A model that is ready to classify.

    ``loaded`` is the core's torch ``LoadedModel`` (never run here), or None while the model runs
    torch-free on ONNX Runtime: ask ``ModelService.request_torch_model`` for it (feature maps,
    Grad-CAM, export); ``model`` always describes it (classes, preprocessing, index identity).
    """

    ref: ModelRef
    loaded: LoadedModel | None
    device: str
    device_name: str
    source: str
    num_classes: int
    notices: list[str] = field(default_factory=list)
    #: What runs the model: "torch", "onnxruntime" or "onnxruntime int8" (the Fast Mode).
    backend: str = "torch"
    model: LoadedModel | StoredModel | None = None
    #: What runs and why, for a person ("ONNX Runtime, fp32 (auto: measured ...)").
    running: str = ""
    #: Fast Mode's gate figure when it runs ("99.5% top-1 agreement with fp32 on 250 photos").
    fast_figure: str | None = None
    #: Why Fast Mode was asked for but not used (refused or cannot be verified), for the banner.
    fast_refused: str | None = None

    @property
    def described(self) -> LoadedModel | StoredModel:
        """What describes the model (classes, preprocessing, index identity), torch or not."""
        described = self.model if self.model is not None else self.loaded
        assert described is not None, "a ModelInfo has a model or a loaded model"
        return described

    @property
    def categories(self) -> list[str]:
        return list(self.described.categories)


class ModelService(QObject):
    """GUI-side owner of the inference thread: load models, queue jobs, cancel, shut down."""

    stage = Signal(str)
    catalogReady = Signal(Catalog)
    loadProgress = Signal(int, int)  # done bytes, total bytes (-1 unknown)
    modelReady = Signal(ModelInfo)
    #: The current model, now also loaded with torch (``ModelInfo.loaded``), on request
    #: (``request_torch_model``).
    torchModelReady = Signal(ModelInfo)
    #: Loading that PyTorch copy failed; the model that runs (ONNX Runtime) is kept and goes on.
    torchModelFailed = Signal(BaseException)
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
        self._opened: Opened | None = None
        self._torch_task: Task[NoReturn, LoadedModel] | None = None
        self.catalog: Catalog | None = None
        self.model: ModelInfo | None = None
        self._load: LoadRequest | None = None
        self.current_job: ClassifyJob | None = None
        self.queue: deque[ClassifyJob] = deque()
        self._started = False
        self._closing = False
        #: Backend and precision for the next load (the Model > Backend setting).
        self.backend, self.precision = "auto", "fp32"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def engine_model(self) -> torch.nn.Module | None:
        """The module the inference thread actually runs (the PyTorch engine's inference copy), or
        None (no model, or ONNX Runtime runs it)."""
        classifier = self._opened.classifier if self._opened is not None else None
        if classifier is None or classifier.backend != "torch":
            return None
        model: torch.nn.Module = getattr(classifier, "model")  # noqa: B009 - the Engine's, not in the protocol
        return model

    @property
    def classifier_backend(self) -> str | None:
        """ "torch" or "onnxruntime": what runs the current model (None: no model)."""
        return self._opened.classifier.backend if self._opened is not None else None

    @property
    def running(self) -> bool:
        """Whether any of the service's work is still running on its threads."""
        return self._runner.busy or self._counter.busy

    def start(self) -> None:
        """List models and devices on the service's thread (remembered from the last start, else by
        importing torch) once the window is shown."""
        if self._started:
            return
        self._started = True
        self.stage.emit("Starting…")
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

    def _on_load_progress(self, request: LoadRequest, value: tuple[int, int] | str) -> None:
        if request is not self._load:
            return
        if isinstance(value, str):
            self.stage.emit(value)  # "Calibrating the fast (int8) model on 64 of your photos…"
        else:
            self.loadProgress.emit(*value)

    def _on_model_ready(self, request: LoadRequest, value: Loaded) -> None:
        if request is not self._load:
            return
        if request.task is not None and request.task.cancel_event.is_set():
            return  # cancelled after the work ended: reported as cancelled by _on_load_finished
        opened = value.opened
        classifier = opened.classifier
        self._load = None
        self._opened = opened
        described = opened.model
        info = ModelInfo(
            ref=ref_of(opened.loaded) if opened.loaded is not None else request.ref,
            loaded=opened.loaded,
            device=str(getattr(classifier, "device", "cpu")),
            device_name=classifier.device_name,
            source=described.source,
            num_classes=len(described.categories),
            notices=list(classifier.notices)
            + ([f"{value.fast_refused} Running fp32 instead."] if value.fast_refused is not None else []),
            backend=classifier.backend + (" int8" if classifier.precision == "fast" else ""),
            model=described,
            running=opened.describe(),
            fast_figure=opened.gate.figure() if opened.gate is not None else None,
            fast_refused=str(value.fast_refused) if value.fast_refused is not None else None,
        )
        self.model = info
        logger.info("Model ready: %s on %s", info.source, info.device_name)
        self.modelReady.emit(info)
        self._start_next()

    def request_torch_model(self) -> bool:
        """Load the current model's torch weights (on the service's thread) for what needs them;
        ``torchModelReady`` follows. False when there is no model or it is already loaded/loading."""
        info = self.model
        if info is None or info.loaded is not None or self._torch_task is not None:
            return False
        self.stage.emit(f"Loading {info.source} for this view…")
        self._torch_task = self._runner.submit(
            lambda ctx: load_torch_model(info.ref, ctx),
            name=f"torch {info.source}",
            on_returned=lambda loaded: self._on_torch_model(info, loaded),
            on_failed=lambda exc: self._on_torch_failed(info, exc),
            on_finished=self._on_torch_finished,
        )
        return True

    def _on_torch_model(self, info: ModelInfo, loaded: LoadedModel) -> None:
        if info is not self.model:
            return  # another model was loaded meanwhile
        info.loaded = loaded
        self.torchModelReady.emit(info)

    def _on_torch_failed(self, info: ModelInfo, exc: BaseException) -> None:
        if info is self.model:  # not about a model that was replaced meanwhile
            self.torchModelFailed.emit(exc)

    def _on_torch_finished(self) -> None:
        self._torch_task = None

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
        if self.current_job is not None or self._load is not None or self._opened is None:
            return
        if self._closing or not self.queue:
            return
        job = self.current_job = self.queue.popleft()
        job.model = self.model.source if self.model is not None else ""
        opened = self._opened
        self.jobStarted.emit(job, -1)
        task = self._runner.stream(
            lambda ctx: classify_stream(opened, job, ctx),
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
