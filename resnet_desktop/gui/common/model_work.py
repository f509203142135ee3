"""The model service's work: what runs on its one background thread (no Qt object is touched here),
and the job record it fills in. The work itself is core's: ``core.models.ref.load`` and
``core.inference.api.open_engine`` to get a model ready, ``core.library.api.classify_photos`` to
classify a job through the library index; this module only chunks results for the GUI.

``ModelService`` (``gui.common.model_service``) submits these functions as tasks; it looks them up in
its own module at call time, so a test can replace ``model_service.load_and_place`` and the like there.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.inference.api import Catalog as Catalog
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.tasks import TaskContext

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Engine, Prediction
    from resnet_desktop.core.models.ref import LoadedModel

# The service's logger: these lines read as they did when this work lived in service.py.
logger = logging.getLogger("resnet_desktop.gui.common.model_service")

_ids = itertools.count(1)
#: Smallest gap between two "predictions" signals; batches arriving faster are merged.
MIN_EMIT_INTERVAL_S = 0.05


def new_id() -> int:
    """The next id of one sequence shared by loads and jobs (``LoadRequest`` draws from it too)."""
    return next(_ids)


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
    ref: ModelRef,
    device: str,
    ctx: TaskContext,
    backend: str = "torch",
    precision: str = "fp32",
) -> tuple[LoadedModel, Engine]:
    """``ref.load`` then ``open_engine`` on ``device`` (a weights file brings its own architecture).
    Download progress goes to ``ctx.progress((done, total))``."""
    from resnet_desktop.core.inference.api import open_engine
    from resnet_desktop.core.models.ref import load

    def progress(done: int, total: int | None) -> None:
        ctx.progress((int(done), int(total) if total else -1))

    loaded = load(ref, progress=progress, cancel=ctx.cancel)
    ctx.check()
    return loaded, open_engine(loaded, device, backend=backend, precision=precision)


def count_files(job: ClassifyJob, ctx: TaskContext) -> int:
    """How many files a job has (a second, cheap walk), so the GUI can show done/total and an ETA."""
    from resnet_desktop.core.library.api import count_photos

    return count_photos(job.inputs, skip=job.skip, cancel=ctx.cancel)


def classify_stream(engine: Engine, job: ClassifyJob, ctx: TaskContext) -> Generator[list[Prediction], None, None]:
    """The predictions for ``job`` (core's ``classify_photos``: known files from the library index at
    once, the rest from the engine), in chunks at most every ``MIN_EMIT_INTERVAL_S``; progress events
    go to ``ctx.progress``. Without a usable index the engine does all of them and the job says why."""
    from resnet_desktop.core.inference.api import Progress
    from resnet_desktop.core.library.api import ClassifySummary, classify_photos

    pending: list[Prediction] = []
    last = 0.0
    work = classify_photos(engine.loaded, engine, job.inputs, topk=job.topk, skip=job.skip, cancel=ctx.cancel)
    summary: ClassifySummary | None = None
    try:
        while True:
            try:
                event = next(work)
            except StopIteration as stop:
                summary = stop.value
                break
            if isinstance(event, Progress):
                ctx.progress(event)
                continue
            job.origins[str(event.prediction.path)] = event.source
            pending.append(event.prediction)
            now = time.monotonic()
            if now - last >= MIN_EMIT_INTERVAL_S:
                yield pending
                pending, last = [], now
        if pending:
            yield pending
    finally:
        work.close()  # a cancelled job: core commits what the engine finished, then closes the index
        if summary is not None:
            job.index_notices.extend(summary.notices)


def build_catalog() -> Catalog:
    from PySide6 import __version__ as pyside_version

    from resnet_desktop.core.inference.api import build_catalog as core_catalog

    return core_catalog({"PySide6": pyside_version})
