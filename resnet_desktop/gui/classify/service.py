"""The model service: imports torch, loads models and classifies, on one background thread.

Everything runs as tasks of one single-thread ``TaskRunner`` (``gui.common.tasks``), so catalog,
loads and classification jobs happen one after another in arrival order and the engine is only
ever used by that thread. Cancelling goes through each task's ``threading.Event``, which the core
checks between batches. ``ModelService`` queues jobs behind the running one and until a model is
ready, and shuts everything down cleanly; the GUI only sees its signals.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from resnet_desktop.gui.common.tasks import Task, TaskContext, TaskRunner
from resnet_desktop.gui.settings import ModelSpec

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.inference.records import Prediction, Progress
    from resnet_desktop.core.library.index import LibraryIndex, ModelIdentity
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

_ids = itertools.count(1)
#: Smallest gap between two "predictions" signals; batches arriving faster are merged.
MIN_EMIT_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Catalog:
    """What the toolbar offers, known only once torch/torchvision are imported (in the worker)."""

    architectures: tuple[str, ...]
    default_arch: str
    default_weights: str
    random_weights: str
    #: arch -> [(weights name, description)] from ``zoo.list_weights``.
    weights: dict[str, list[tuple[str, str]]]
    #: [(device id, human name)], best first; "auto" is added by the GUI.
    devices: list[tuple[str, str]]
    versions: dict[str, str]


@dataclass
class LoadRequest:
    spec: ModelSpec
    device: str
    id: int = field(default_factory=lambda: next(_ids))
    task: Task | None = None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


@dataclass
class ModelInfo:
    """A model that is ready to classify. ``loaded`` is the core's ``LoadedModel`` (never run here)."""

    spec: ModelSpec
    loaded: LoadedModel
    device: str
    device_name: str
    source: str
    num_classes: int
    notices: list[str] = field(default_factory=list)
    #: What runs the model: "torch", "onnxruntime" or "onnxruntime int8" (the Fast Mode).
    backend: str = "torch"


@dataclass(eq=False)
class ClassifyJob:
    """One batch of dropped/opened inputs. Identity (not value) tells jobs apart."""

    inputs: list[Path]
    topk: int
    #: Files already in the table from the current model: not classified again.
    skip: frozenset[Path] = frozenset()
    #: The model that ran the job (its ``ModelInfo.source``), set when it starts.
    model: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    cancel: threading.Event = field(default_factory=threading.Event)
    total: int | None = None
    failed: bool = False
    #: path -> "index" or "new" (``core.library.incremental``), filled as results arrive.
    origins: dict[str, str] = field(default_factory=dict)
    #: Things to tell the person about the library index (it could not be used, it was moved aside).
    index_notices: list[str] = field(default_factory=list)


# -- work that runs on the service's thread (no Qt objects touched here) ----------------------


def load_and_place(
    spec: ModelSpec, device: str, ctx: TaskContext, backend: str = "torch", precision: str = "fp32"
) -> tuple[LoadedModel, Engine]:
    """``zoo.load_model`` then an ``Engine`` on ``device``; a plain weights file of another ResNet is
    loaded as that architecture. Download progress goes to ``ctx.progress((done, total))``."""
    from resnet_desktop.core.errors import WeightsError
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models import weights as weights_io
    from resnet_desktop.core.models import zoo

    arch = spec.arch or zoo.DEFAULT_ARCH
    weights = spec.weights or "DEFAULT"  # the best ImageNet weights of *this* arch

    def progress(done: int, total: int | None) -> None:
        ctx.progress((int(done), int(total) if total else -1))

    try:
        loaded = zoo.load_model(arch, weights, progress=progress, cancel=ctx.cancel)
    except WeightsError:
        path = Path(weights)
        if not path.is_file():
            raise
        guessed = weights_io.guess_resnet_arch(weights_io.load_state_dict(path))
        if guessed is None or guessed == arch:
            raise
        logger.info("%s holds %s weights; loading it as %s", path, guessed, guessed)
        loaded = zoo.load_model(guessed, path, progress=progress, cancel=ctx.cancel)
    ctx.check()
    return loaded, Engine(loaded, device, backend=backend, precision=precision)


def job_files(job: ClassifyJob) -> Iterator[Path]:
    """The files of ``job`` that are not in its skip set (already classified with this model)."""
    from resnet_desktop.core.images import discover

    return (path for path in discover(job.inputs) if path not in job.skip)


def count_files(job: ClassifyJob, ctx: TaskContext) -> int:
    """How many files a job has (a second, cheap walk), so the GUI can show done/total and an ETA."""
    count = 0
    for _path in job_files(job):
        ctx.check()
        count += 1
    return count


def classify_stream(engine: Engine, job: ClassifyJob, ctx: TaskContext) -> Iterator[list[Prediction]]:
    """The predictions for ``job``, through the library index (known files at once, the rest from the
    engine, committed batch by batch), in chunks at most every ``MIN_EMIT_INTERVAL_S``; progress after
    each batch goes to ``ctx.progress``. Without a usable index, the engine does all of them."""
    from resnet_desktop.core.library.incremental import IndexedRun

    pending: list[Prediction] = []
    last = 0.0

    def on_progress(progress: Progress) -> None:
        ctx.progress(progress)

    index, identity = _open_index(engine, job)
    run = IndexedRun(engine, index, identity, topk=job.topk)
    stream = run.classify(job_files(job), cancel=ctx.cancel, progress=on_progress, inputs=job.inputs)
    try:
        for item in stream:
            job.origins[str(item.prediction.path)] = item.source
            pending.append(item.prediction)
            now = time.monotonic()
            if now - last >= MIN_EMIT_INTERVAL_S:
                yield pending
                pending, last = [], now
        if pending:
            yield pending
    finally:
        stream.close()  # commits what the engine finished before the index is closed
        job.index_notices.extend(run.counts.notices or [])
        run.close()


#: The last model's index identity: hashing a model file once per model, not once per job.
_identity_cache: list[tuple[LoadedModel, ModelIdentity]] = []


def _open_index(engine: Engine, job: ClassifyJob) -> tuple[LibraryIndex | None, ModelIdentity | None]:
    from resnet_desktop.core.library.index import LibraryIndexError, ModelIdentity, open_index

    try:
        index = open_index()
    except LibraryIndexError as exc:
        job.index_notices.append(str(exc))
        return None, None
    if index is None:
        return None, None
    job.index_notices.extend(index.notices)
    if not _identity_cache or _identity_cache[0][0] is not engine.loaded:
        _identity_cache[:] = [(engine.loaded, ModelIdentity.of(engine.loaded))]
    return index, _identity_cache[0][1]


def _build_catalog() -> Catalog:
    import torch
    import torchvision

    from resnet_desktop.core.devices import available_devices
    from resnet_desktop.core.models import zoo

    weights: dict[str, list[tuple[str, str]]] = {}
    for info in zoo.list_weights():
        default = " (default)" if getattr(info, "is_default", False) else ""
        text = f"{info.name}{default}: top-1 {info.acc1:.1f}%, {info.file_size_mb:.0f} MB"
        weights.setdefault(info.arch, []).append((info.name, text))
    devices = [(d.id, d.name) for d in available_devices()]
    from PySide6 import __version__ as pyside_version

    versions = {
        "Python": sys.version.split()[0],
        "PySide6": pyside_version,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    return Catalog(
        architectures=tuple(zoo.ARCHITECTURES),
        default_arch=zoo.DEFAULT_ARCH,
        default_weights=zoo.DEFAULT_WEIGHTS,
        random_weights=zoo.RANDOM_WEIGHTS,
        weights=weights,
        devices=devices,
        versions=versions,
    )


class ModelService(QObject):
    """GUI-side owner of the inference thread: load models, queue jobs, cancel, shut down."""

    stage = Signal(str)
    catalogReady = Signal(object)
    loadProgress = Signal(int, int)  # done bytes, total bytes (-1 unknown)
    modelReady = Signal(object)  # ModelInfo
    modelFailed = Signal(object)  # the exception (a core error type; CancelledError when cancelled)
    jobQueued = Signal(object)
    jobStarted = Signal(object, int)  # job, total files (-1: still counting)
    jobTotal = Signal(object, int)  # job, total files
    predictions = Signal(object, list)  # job, [Prediction]
    jobProgress = Signal(object, object)  # job, core Progress
    jobFinished = Signal(object, bool)  # job, cancelled
    jobFailed = Signal(object, object)  # job, exception
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
    def engine_model(self) -> Any:
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
        self._runner.submit(lambda _ctx: _build_catalog(), name="catalog", on_returned=self._on_catalog)

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

    def load(self, spec: ModelSpec, device: str = "auto") -> LoadRequest:
        """Load ``spec`` on ``device``; supersedes (cancels) a load still in progress."""
        self.start()
        if self._load is not None:
            self._load.cancel()
        request = LoadRequest(spec=spec, device=device)
        self._load = request
        self.stage.emit(f"Loading {spec.describe()}…")
        backend, precision = self.backend, self.precision
        request.task = self._runner.submit(
            lambda ctx: load_and_place(spec, device, ctx, backend, precision),
            name=f"load {spec.describe()}",
            on_progress=lambda value: self._on_load_progress(request, value),
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
        weights = request.spec.weights or loaded.weights_name
        info = ModelInfo(
            spec=ModelSpec(arch=loaded.arch, weights=weights),
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
        task = self._runner.submit(
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

    def _on_job_finished(self, job: ClassifyJob, task: Task) -> None:
        if job is self.current_job:
            self.current_job = None
        if not job.failed:
            self.jobFinished.emit(job, task.cancelled)
        self._start_next()
        if not self.busy:
            self.busyChanged.emit(False)
