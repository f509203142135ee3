"""The one thread that imports torch, loads models and classifies; the GUI only sees signals.

``InferenceWorker`` lives in a ``QThread`` and is driven by queued signals, so requests run
one after another in arrival order. Cancelling never goes through the (busy) worker event
loop: every request carries a ``threading.Event`` that the GUI thread sets directly and the
core checks between batches. ``ModelService`` is the GUI-side facade: it owns the thread,
queues jobs behind the running one, and shuts everything down cleanly.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from resnet_desktop.gui.settings import ModelSpec

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
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class ModelInfo:
    """A model that is ready to classify. ``loaded`` is the core's ``LoadedModel`` (never run here)."""

    spec: ModelSpec
    loaded: Any
    device: str
    device_name: str
    source: str
    num_classes: int
    notices: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Job:
    """One batch of dropped/opened inputs. Identity (not value) tells jobs apart."""

    inputs: list[Path]
    topk: int
    id: int = field(default_factory=lambda: next(_ids))
    cancel: threading.Event = field(default_factory=threading.Event)
    total: int | None = None


class InferenceWorker(QObject):
    """Runs in the inference thread. Every slot returns promptly once ``closing`` is set."""

    stage = Signal(str)
    catalogReady = Signal(object)
    loadProgress = Signal(object, int, int)  # request, done bytes, total bytes (-1 unknown)
    modelReady = Signal(object, object)  # request, ModelInfo
    modelFailed = Signal(object, str, str)  # request, message, kind ("weights" | "device" | "error")
    jobStarted = Signal(object, int)  # job, total files (-1: still counting)
    jobTotal = Signal(object, int)  # job, total files (from a thread of its own)
    predictions = Signal(object, list)  # job, [Prediction]
    jobProgress = Signal(object, object)  # job, core Progress
    jobFinished = Signal(object, bool)  # job, cancelled
    jobFailed = Signal(object, str)  # job, message

    def __init__(self, closing: threading.Event) -> None:
        super().__init__()
        self._closing = closing
        self._engine: Any = None
        self._info: ModelInfo | None = None

    @Slot()
    def prepare(self) -> None:
        """Import torch and describe what can be chosen (architectures, weights, devices)."""
        if self._closing.is_set():
            return
        self.stage.emit("Loading PyTorch…")
        try:
            self.catalogReady.emit(_build_catalog())
        except Exception:  # the app still works for choosing a file; log the details
            logger.exception("Could not list models and devices")

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        if self._closing.is_set():
            return
        cancelled = "Loading the model was cancelled."
        if request.cancel.is_set():
            self.modelFailed.emit(request, cancelled, "cancelled")
            return
        try:
            from resnet_desktop.core.errors import CancelledError, DeviceError, ResNetDesktopError, WeightsError

            self.stage.emit(f"Loading {request.spec.describe()}…")
            loaded = self._load_model(request)
            if request.cancel.is_set() or self._closing.is_set():
                self.modelFailed.emit(request, cancelled, "cancelled")
                return
            self.stage.emit("Preparing the model on the device…")
            from resnet_desktop.core.inference.engine import Engine

            engine = Engine(loaded, request.device)
        except CancelledError:
            self.modelFailed.emit(request, cancelled, "cancelled")
            return
        except WeightsError as exc:
            self.modelFailed.emit(request, str(exc), "weights")
            return
        except DeviceError as exc:
            self.modelFailed.emit(request, str(exc), "device")
            return
        except ResNetDesktopError as exc:
            self.modelFailed.emit(request, str(exc), "error")
            return
        except Exception as exc:
            logger.exception("Loading %s failed", request.spec)
            self.modelFailed.emit(request, f"Could not load the model: {exc}", "error")
            return
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
        )
        self._info = info
        logger.info("Model ready: %s on %s", info.source, info.device_name)
        self.modelReady.emit(request, info)

    def _load_model(self, request: LoadRequest) -> Any:
        """``zoo.load_model``; for a plain weights file of another ResNet, retry with its architecture."""
        from resnet_desktop.core.errors import WeightsError
        from resnet_desktop.core.models import weights as weights_io
        from resnet_desktop.core.models import zoo

        arch = request.spec.arch or zoo.DEFAULT_ARCH
        weights = request.spec.weights or "DEFAULT"  # the best ImageNet weights of *this* arch

        def progress(done: int, total: int | None) -> None:
            self.loadProgress.emit(request, int(done), int(total) if total else -1)

        try:
            return zoo.load_model(arch, weights, progress=progress, cancel=request.cancel)
        except WeightsError:
            path = Path(weights)
            if not path.is_file():
                raise
            guessed = weights_io.guess_resnet_arch(weights_io.load_state_dict(path))
            if guessed is None or guessed == arch:
                raise
            logger.info("%s holds %s weights; loading it as %s", path, guessed, guessed)
            return zoo.load_model(guessed, path, progress=progress, cancel=request.cancel)

    @Slot(object)
    def classify(self, job: Job) -> None:
        if self._closing.is_set() or job.cancel.is_set():
            self.jobFinished.emit(job, True)
            return
        if self._engine is None:
            self.jobFailed.emit(job, "No model is loaded.")
            return
        try:
            self._classify(job)
        except Exception as exc:
            logger.exception("Classification job %d failed", job.id)
            self.jobFailed.emit(job, f"Classification stopped: {exc}")
            return
        self.jobFinished.emit(job, job.cancel.is_set())

    def _classify(self, job: Job) -> None:
        """Stream ``discover(inputs)`` into the engine at once; count the files alongside for the ETA."""
        from resnet_desktop.core.images import discover

        self.jobStarted.emit(job, -1)
        stop = threading.Event()
        counter = threading.Thread(target=self._count, args=(job, stop), name=f"count-job-{job.id}", daemon=True)
        counter.start()
        pending: list[Any] = []
        last_emit = 0.0

        def flush(force: bool = False) -> None:
            nonlocal last_emit
            now = time.monotonic()
            if pending and (force or now - last_emit >= MIN_EMIT_INTERVAL_S):
                self.predictions.emit(job, list(pending))
                pending.clear()
                last_emit = now

        def on_progress(progress: Any) -> None:
            flush(force=True)
            self.jobProgress.emit(job, progress)

        try:
            for prediction in self._engine.classify(
                discover(job.inputs), topk=job.topk, cancel=job.cancel, progress=on_progress
            ):
                pending.append(prediction)
                flush()
            flush(force=True)
        finally:
            stop.set()
            counter.join()

    def _count(self, job: Job, stop: threading.Event) -> None:
        """How many files the job has (a second, cheap walk), so the GUI can show done/total and ETA."""
        from resnet_desktop.core.images import discover

        count = 0
        try:
            for _path in discover(job.inputs):
                if stop.is_set() or job.cancel.is_set():
                    return
                count += 1
        except Exception:  # the count is only for display; the classification reports real errors
            logger.debug("Counting files for job %d failed", job.id, exc_info=True)
            return
        job.total = count
        self.jobTotal.emit(job, count)


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
    loadProgress = Signal(int, int)
    modelReady = Signal(object)
    modelFailed = Signal(str, str)
    jobQueued = Signal(object)
    jobStarted = Signal(object, int)
    jobTotal = Signal(object, int)
    predictions = Signal(object, list)
    jobProgress = Signal(object, object)
    jobFinished = Signal(object, bool)
    jobFailed = Signal(object, str)
    busyChanged = Signal(bool)

    _requestPrepare = Signal()
    _requestLoad = Signal(object)
    _requestClassify = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closing = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self._worker = InferenceWorker(self._closing)
        self._worker.moveToThread(self._thread)
        self._requestPrepare.connect(self._worker.prepare)
        self._requestLoad.connect(self._worker.load)
        self._requestClassify.connect(self._worker.classify)
        w = self._worker
        w.stage.connect(self.stage)
        w.catalogReady.connect(self._on_catalog)
        w.loadProgress.connect(self._on_load_progress)
        w.modelReady.connect(self._on_model_ready)
        w.modelFailed.connect(self._on_model_failed)
        w.jobStarted.connect(self._on_job_started)
        w.jobTotal.connect(self.jobTotal)
        w.predictions.connect(self._on_predictions)
        w.jobProgress.connect(self._on_job_progress)
        w.jobFinished.connect(self._on_job_finished)
        w.jobFailed.connect(self._on_job_failed)
        self.catalog: Catalog | None = None
        self.model: ModelInfo | None = None
        self._load: LoadRequest | None = None
        self.current_job: Job | None = None
        self.queue: deque[Job] = deque()
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def engine_model(self) -> Any:
        """The module the inference thread actually runs (the engine's inference copy), or None."""
        engine = self._worker._engine
        return engine.model if engine is not None else None

    def start(self) -> None:
        """Start the thread and import torch there (the window is already on screen)."""
        if not self._started:
            self._started = True
            self._thread.start()
            self._requestPrepare.emit()

    def shutdown(self) -> None:
        """Cancel everything, let the worker return, and wait for the thread to end."""
        self._closing.set()
        self.cancel_all()
        if self._load is not None:
            self._load.cancel.set()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()
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
            self._load.cancel.set()
        request = LoadRequest(spec=spec, device=device)
        self._load = request
        self._requestLoad.emit(request)
        return request

    def cancel_load(self) -> bool:
        """Stop a model load (e.g. a download) in progress; ``modelFailed(..., "cancelled")`` follows."""
        if self._load is None:
            return False
        self._load.cancel.set()
        return True

    def _on_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.catalogReady.emit(catalog)

    def _on_load_progress(self, request: LoadRequest, done: int, total: int) -> None:
        if request is self._load:
            self.loadProgress.emit(done, total)

    def _on_model_ready(self, request: LoadRequest, info: ModelInfo) -> None:
        if request is not self._load:
            return
        self._load = None
        self.model = info
        self.modelReady.emit(info)
        self._start_next()

    def _on_model_failed(self, request: LoadRequest, message: str, kind: str) -> None:
        if request is not self._load:
            return
        self._load = None
        self.model = None
        self.modelFailed.emit(message, kind)

    # -- jobs ----------------------------------------------------------------------------------

    def classify(self, inputs: list[Path], topk: int = 5) -> Job:
        """Queue a job behind the running one; it starts as soon as a model is ready."""
        job = Job(inputs=[Path(p) for p in inputs], topk=topk)
        self.queue.append(job)
        self.jobQueued.emit(job)
        self.busyChanged.emit(True)
        self._start_next()
        return job

    def _start_next(self) -> None:
        if self.current_job is not None or self._load is not None or self.model is None:
            return
        if self._closing.is_set() or not self.queue:
            return
        self.current_job = self.queue.popleft()
        self._requestClassify.emit(self.current_job)

    def cancel_all(self) -> None:
        """Stop the running job (what is done is kept) and drop queued ones."""
        for job in self.queue:
            job.cancel.set()
        dropped = list(self.queue)
        self.queue.clear()
        if self.current_job is not None:
            self.current_job.cancel.set()
        for job in dropped:
            self.jobFinished.emit(job, True)
        if not self.busy:
            self.busyChanged.emit(False)

    def _on_job_started(self, job: Job, total: int) -> None:
        self.jobStarted.emit(job, total)

    def _on_predictions(self, job: Job, predictions: list) -> None:
        self.predictions.emit(job, predictions)

    def _on_job_progress(self, job: Job, progress: object) -> None:
        self.jobProgress.emit(job, progress)

    def _on_job_finished(self, job: Job, cancelled: bool) -> None:
        self._job_done(job)
        self.jobFinished.emit(job, cancelled)
        self._after_job()

    def _on_job_failed(self, job: Job, message: str) -> None:
        self._job_done(job)
        self.jobFailed.emit(job, message)
        self._after_job()

    def _job_done(self, job: Job) -> None:
        if job is self.current_job:
            self.current_job = None

    def _after_job(self) -> None:
        self._start_next()
        if not self.busy:
            self.busyChanged.emit(False)
