"""Open what classifies for a model reference: torch-free when the graph cache allows it, else torch.

When the rule (``backend_rule``) says ONNX Runtime for a model the cache already holds (its graph,
head and description, ``graph_store``), the ``OrtRunner`` classifies with Pillow + numpy + ONNX
Runtime and torch is never imported: a one-photo CLI run or the app's first answer costs well under
a second. Otherwise the model is loaded with torch into an ``Engine`` (which, on ONNX Runtime,
exports and remembers the graph so the next start is torch-free). The CLI and the app both open
their model here, so they cannot disagree about what runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.inference import backend_rule, graph_store

if TYPE_CHECKING:
    from resnet_desktop.core.inference.backend_rule import Plan
    from resnet_desktop.core.inference.fast import PhotoSet, Say
    from resnet_desktop.core.inference.graph_store import StoredModel
    from resnet_desktop.core.inference.records import Prediction, Progress
    from resnet_desktop.core.models.gate import GateResult
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.spec import Preprocessing
    from resnet_desktop.core.models.weights import ProgressFn
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)


class Classifier(Protocol):
    """What both the PyTorch ``Engine`` and the torch-free ``OrtRunner`` offer."""

    categories: list[str]
    preprocessing: Preprocessing
    backend: str
    precision: str
    device_name: str
    notices: list[str]
    batch_size: int

    def classify(
        self,
        paths: Iterable[str | Path],
        *,
        topk: int = 5,
        cancel: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
        total: int | None = None,
        embeddings: bool = False,
    ) -> Iterator[Prediction]: ...


@dataclass
class Opened:
    """A ready classifier and what describes its model (for the index identity and the status line)."""

    classifier: Classifier
    model: StoredModel | LoadedModel
    plan: Plan | None
    #: The torch model when it was loaded (None on the torch-free route: load it only when needed).
    loaded: LoadedModel | None
    #: "fp32", or "fast:<calibration>" for one int8 graph (part of the index identity).
    precision_tag: str = "fp32"
    gate: GateResult | None = None

    @property
    def source(self) -> str:
        return self.model.source

    @property
    def torch_free(self) -> bool:
        return self.loaded is None

    def describe(self) -> str:
        """What runs and why, for a person: "ONNX Runtime, fp32 (auto: measured ...)"."""
        if self.plan is None:
            return backend_rule.NAMES.get(self.classifier.backend, self.classifier.backend)
        return self.plan.describe()


def _cpu_for(device: str) -> bool | None:
    """Whether ``device`` means the CPU, known without torch (None: only torch can tell)."""
    if device == "cpu":
        return True
    if device != "auto":
        return False
    known, accelerator = backend_rule.auto_accelerator()
    return (accelerator is None) if known else None


def open_torch_free(
    ref: ModelRef,
    *,
    backend: str = backend_rule.DEFAULT_BACKEND,
    precision: str = "fp32",
    device: str = "auto",
    threads: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    photos: PhotoSet | None = None,
    say: Say | None = None,
    cancel: threading.Event | None = None,
) -> Opened | None:
    """The ``OrtRunner`` for ``ref`` when the rule picks ONNX Runtime and the cache holds the model;
    None when torch is needed. Raises what the rule refuses (``SettingsError``, ``FastModeRefused``)."""
    from resnet_desktop.core.inference.ort_runner import OrtRunner

    if backend == "torch":
        backend_rule.plan(backend, precision)  # fast on PyTorch is refused here too
        return None
    cpu = _cpu_for(device)
    if cpu is None:
        return None
    if not cpu:
        backend_rule.plan(backend, precision, accelerator=device)  # refuses ORT / fast on a GPU
        return None
    stored = graph_store.find(ref)
    if stored is None:
        backend_rule.plan(backend, precision)  # a contradiction is refused before torch is loaded
        return None
    threads = threads or backend_rule.threads_default()
    measurement = backend_rule.remembered(stored.arch, stored.preprocessing.crop_size, threads)
    plan = backend_rule.plan(backend, precision, measurement=measurement)
    if plan.backend != "onnxruntime":
        return None
    graph, tag, result = None, "fp32", None
    notices = []
    if precision == "fast":
        from resnet_desktop.core.inference.onnx_backend import fast_entry

        stored, entry = fast_entry(stored, photos, threads=threads, say=say)
        graph, tag, result = entry.graph, f"fast:{entry.calibration}", entry.gate
        notices.append(f"Fast Mode (int8): {entry.gate.figure()} of yours.")
    try:
        runner = OrtRunner(
            stored,
            graph=graph,
            precision=precision,
            threads=threads,
            batch_size=batch_size,
            workers=workers,
            plan=plan,
            notices=notices,
        )
    except (OSError, WeightsError, ValueError) as exc:  # a damaged cache file: torch rebuilds it
        logger.warning("the cached graph of %s cannot be used (%s); loading with torch", stored.source, exc)
        return None
    return Opened(runner, stored, plan, None, tag, result)


def open_classifier(
    ref: ModelRef,
    *,
    backend: str = backend_rule.DEFAULT_BACKEND,
    precision: str = "fp32",
    device: str = "auto",
    threads: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    photos: PhotoSet | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    say: Say | None = None,
    torch_free: bool = True,
) -> Opened:
    """The classifier for ``ref``: torch-free when possible (``torch_free=False`` always loads torch),
    else ``ref`` loaded with torch (downloading with ``progress``) into an ``Engine``."""
    if torch_free:
        opened = open_torch_free(
            ref,
            backend=backend,
            precision=precision,
            device=device,
            threads=threads,
            batch_size=batch_size,
            workers=workers,
            photos=photos,
            say=say,
            cancel=cancel,
        )
        if opened is not None:
            return opened
    import torch

    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.ref import load

    if threads is not None:
        torch.set_num_threads(threads)
    loaded = load(ref, progress=progress, cancel=cancel)
    if cancel is not None and cancel.is_set():
        from resnet_desktop.core.errors import CancelledError

        raise CancelledError("Loading the model was cancelled.")
    engine = Engine(
        loaded,
        device,
        batch_size=batch_size,
        workers=workers,
        backend=backend,
        precision=precision,
        photos=photos,
        ref=ref,
        say=say,
    )
    tag, result = "fp32", None
    ort = engine.onnxruntime
    if engine.precision == "fast" and ort is not None:
        entry = ort.stored.verified_fast()
        tag = f"fast:{entry.calibration}" if entry is not None else "fast"
        result = ort.gate
    return Opened(engine, loaded, engine.plan, loaded, tag, result)
