"""The model service's work: what runs on its one background thread (no Qt object is touched here),
and the job record it fills in. The work itself is core's: ``core.inference.api.open_classifier`` to
get a model ready (torch-free when its ONNX Runtime graph is cached), ``core.library.api.classify_photos``
to classify a job through the library index; this module only chunks results for the GUI.

``ModelService`` (``gui.common.model_service``) submits these functions as tasks; it looks them up in
its own module at call time, so a test can replace ``model_service.load_and_place`` and the like there.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.inference.api import Catalog as Catalog
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.tasks import TaskContext

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import FastModeRefused, Opened, PhotoSet, Prediction
    from resnet_desktop.core.models.ref import LoadedModel

# The service's logger: these lines read as they did when this work lived in service.py.
logger = logging.getLogger("resnet_desktop.gui.common.model_service")

_ids = itertools.count(1)
#: Smallest gap between two "predictions" signals; batches arriving faster are merged.
MIN_EMIT_INTERVAL_S = 0.05
#: This app run: every job's session carries it, so Reopen Last Session brings back all of them.
APP_RUN = uuid.uuid4().hex


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


@dataclass
class Loaded:
    """What a load returns: the ready classifier, and why fast mode was not used when it was asked for."""

    opened: Opened
    fast_refused: FastModeRefused | None = None


def fast_mode_photos(ref: ModelRef) -> PhotoSet | None:
    """The photos the app's Fast Mode calibrates and verifies on: None when ``ref`` has a verified fast
    model already, else the person's own photos the library index knows (classified before)."""
    from resnet_desktop.core.inference.api import fast_photos
    from resnet_desktop.core.library.api import your_photos

    return fast_photos(ref, "fast", None, your_photos())


def load_and_place(
    ref: ModelRef,
    device: str,
    ctx: TaskContext,
    backend: str = "auto",
    precision: str = "fp32",
) -> Loaded:
    """``ref`` ready to classify on ``device`` (``open_classifier``: torch-free when it can be).
    Download progress goes to ``ctx.progress((done, total))``, stage messages to ``ctx.progress(str)``.
    Fast mode that is refused (or cannot be verified yet) loads fp32 and says why."""
    from resnet_desktop.core.inference.api import FastModeRefused, open_classifier

    def progress(done: int, total: int | None) -> None:
        ctx.progress((int(done), int(total) if total else -1))

    def open_(chosen_precision: str, photos: PhotoSet | None) -> Opened:
        return open_classifier(
            ref,
            backend=backend,
            precision=chosen_precision,
            device=device,
            photos=photos,
            progress=progress,
            cancel=ctx.cancel,
            say=ctx.progress,
        )

    if precision == "fast":
        try:
            return Loaded(open_(precision, fast_mode_photos(ref)))
        except FastModeRefused as refused:
            ctx.check()
            return Loaded(open_("fp32", None), fast_refused=refused)
    opened = open_(precision, None)
    ctx.check()
    return Loaded(opened)


def load_torch_model(ref: ModelRef, ctx: TaskContext) -> LoadedModel:
    """The torch model of ``ref``, for what needs it (feature maps, Grad-CAM, export, the lab)."""
    from resnet_desktop.core.models.ref import load

    return load(ref, cancel=ctx.cancel)


def count_files(job: ClassifyJob, ctx: TaskContext) -> int:
    """How many files a job has (a second, cheap walk), so the GUI can show done/total and an ETA."""
    from resnet_desktop.core.library.api import count_photos

    return count_photos(job.inputs, skip=job.skip, cancel=ctx.cancel)


def classify_stream(opened: Opened, job: ClassifyJob, ctx: TaskContext) -> Generator[list[Prediction], None, None]:
    """The predictions for ``job`` (core's ``classify_photos``: known files from the library index at
    once, the rest from the engine), in chunks at most every ``MIN_EMIT_INTERVAL_S``; progress events
    go to ``ctx.progress``. Without a usable index the engine does all of them and the job says why."""
    from resnet_desktop.core.inference.api import Progress
    from resnet_desktop.core.library.api import ClassifySummary, classify_photos

    pending: list[Prediction] = []
    last = 0.0
    work = classify_photos(
        opened.model,
        opened.classifier,
        job.inputs,
        topk=job.topk,
        skip=job.skip,
        run=APP_RUN,
        cancel=ctx.cancel,
        precision=opened.precision_tag,
    )
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
    """The models and devices to offer: remembered from the last torch start (no torch import), else built."""
    from PySide6 import __version__ as pyside_version

    from resnet_desktop.core.inference.api import build_catalog as core_catalog
    from resnet_desktop.core.inference.api import cached_catalog

    return cached_catalog({"PySide6": pyside_version}) or core_catalog({"PySide6": pyside_version})
