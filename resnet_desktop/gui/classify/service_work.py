"""The classify service's work: what runs on its one background thread (no Qt object is touched
here), and the records it fills in: the catalog of models and devices, and a classification job.

``ModelService`` (``gui.classify.service``) submits these functions as tasks; it looks them up in
its own module at call time, so a test can replace ``service.load_and_place`` and the like there.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.tasks import TaskContext

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.inference.records import Prediction, Progress
    from resnet_desktop.core.library.index import LibraryIndex, ModelIdentity
    from resnet_desktop.core.models.zoo import LoadedModel

# The service's logger: these lines read as they did when this work lived in service.py.
logger = logging.getLogger("resnet_desktop.gui.classify.service")

_ids = itertools.count(1)
#: Smallest gap between two "predictions" signals; batches arriving faster are merged.
MIN_EMIT_INTERVAL_S = 0.05


def new_id() -> int:
    """The next id of one sequence shared by loads and jobs (``service.LoadRequest`` draws from it too)."""
    return next(_ids)


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


@dataclass(eq=False)
class ClassifyJob:
    """One batch of dropped/opened inputs. Identity (not value) tells jobs apart."""

    inputs: list[Path]
    topk: int
    #: Files already in the table from the current model: not classified again.
    skip: frozenset[Path] = frozenset()
    #: The model that ran the job (its ``ModelInfo.source``), set when it starts.
    model: str = ""
    id: int = field(default_factory=new_id)
    cancel: threading.Event = field(default_factory=threading.Event)
    total: int | None = None
    failed: bool = False
    #: path -> "index" or "new" (``core.library.incremental``), filled as results arrive.
    origins: dict[str, str] = field(default_factory=dict)
    #: Things to tell the person about the library index (it could not be used, it was moved aside).
    index_notices: list[str] = field(default_factory=list)


def load_and_place(
    ref: ModelRef, device: str, ctx: TaskContext, backend: str = "torch", precision: str = "fp32"
) -> tuple[LoadedModel, Engine]:
    """``ref.load`` then an ``Engine`` on ``device`` (a weights file brings its own architecture).
    Download progress goes to ``ctx.progress((done, total))``."""
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.ref import load

    def progress(done: int, total: int | None) -> None:
        ctx.progress((int(done), int(total) if total else -1))

    loaded = load(ref, progress=progress, cancel=ctx.cancel)
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
    precision = engine.numeric_precision  # results of two precisions never share index rows
    cached = _identity_cache[0] if _identity_cache else None
    if cached is None or cached[0] is not engine.loaded or cached[1].precision != precision:
        _identity_cache[:] = [(engine.loaded, ModelIdentity.of(engine.loaded, precision))]
    return index, _identity_cache[0][1]


def build_catalog() -> Catalog:
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
