"""Bringing one library folder up to date: classify what is new or changed (renamed and moved photos
are found in the index by inode, then content hash), prune what was deleted, read the dates photos
were taken, then run the folder's rules. Every engine batch is committed as it comes, so a pass
that is paused, stopped or killed goes on later with what is left and classifies nothing twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import CancelledError
from resnet_desktop.core.images.reasons import is_about_the_content
from resnet_desktop.core.images.taken import date_taken
from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.library.folders import FolderStore, LibraryFolder
from resnet_desktop.core.library.incremental import IndexedRun
from resnet_desktop.core.library.index import FP32, LibraryIndex, ModelIdentity
from resnet_desktop.core.library.journal import OperationProgress
from resnet_desktop.core.library.queries import identity_of
from resnet_desktop.core.library.rules import RuleRun, run_rules
from resnet_desktop.core.library.scan import FolderStatus, survey
from resnet_desktop.core.work import Work, check_cancel

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import LoadedModel

#: Scores kept per photo (what ``classify`` asks by default, so its runs come from the index).
TOPK = 5
SCANNING, INDEXING, DATES, RULES = "scanning", "indexing", "dates", "rules"


@dataclass(frozen=True)
class FolderProgress:
    """How far a pass over one folder has got (``total`` None: not known yet)."""

    folder: Path
    phase: str
    done: int = 0
    total: int | None = None


#: What a pass yields: its own progress, the engine's, and the rules' organize steps.
SyncEvent = FolderProgress | Progress | OperationProgress


@dataclass
class SyncResult:
    status: FolderStatus
    new: int = 0
    from_index: int = 0
    moved: int = 0
    failed: int = 0
    pruned: int = 0
    dated: int = 0
    rules: list[RuleRun] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    #: Stopped early (paused or cancelled): what is left is done next time.
    interrupted: bool = False


class FolderModels:
    """The models library folders are indexed with: each loaded once, its engine made only when a photo
    needs it. ``threads`` is the model's CPU threads (1 by default: indexing runs in the background)."""

    def __init__(
        self,
        device: str = "auto",
        *,
        threads: int | None = 1,
        batch_size: int | None = None,
        loader: Callable[[str], LoadedModel] | None = None,
    ) -> None:
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self._loader = loader
        self._loaded: dict[str, LoadedModel] = {}
        self._engines: dict[str, Engine] = {}

    def loaded(self, model: str) -> LoadedModel:
        if model not in self._loaded:
            if self._loader is not None:
                self._loaded[model] = self._loader(model)
            else:
                from resnet_desktop.core.models.ref import ModelRef, load

                self._loaded[model] = load(ModelRef.parse(model))
        return self._loaded[model]

    def engine(self, model: str) -> Engine:
        if model not in self._engines:
            from resnet_desktop.core.inference.api import open_engine

            self._engines[model] = open_engine(
                self.loaded(model), self.device, batch_size=self.batch_size, threads=self.threads
            )
        return self._engines[model]


def sync_folder(
    store: FolderStore,
    index: LibraryIndex,
    folder: LibraryFolder,
    models: FolderModels,
    *,
    cancel: threading.Event | None = None,
) -> Work[SyncEvent, SyncResult]:
    """One pass over ``folder`` (see the module's docstring); yields progress, returns what it did."""
    yield FolderProgress(folder.path, SCANNING)
    loaded = models.loaded(folder.model)
    # the engine is made only when something is pending; IndexedRun adopts its precision then
    identity = identity_of(loaded, FP32)
    model_id = index.model_id(identity)
    store.set_model_key(folder, identity.key)
    found = survey(index, folder.path, folder.model, model_id, device=folder.device, cancel=cancel)
    status = found.status
    status.rules = folder.rules.describe()
    result = SyncResult(status)
    if status.offline:
        return result
    if found.device is not None:
        store.set_device(folder, found.device)
    total = len(found.pending)
    if total:
        yield FolderProgress(folder.path, INDEXING, 0, total)
        yield from _classify(index, folder, models, identity, found.pending, result, cancel)
    result.interrupted = cancel is not None and cancel.is_set()
    if result.interrupted:
        return result
    result.pruned = _prune(index, found.gone)
    try:
        yield from _read_dates(index, folder.path, result, cancel)
        yield FolderProgress(folder.path, RULES)
        result.rules = yield from run_rules(store, index, folder, model_id, cancel=cancel)
    except CancelledError:  # paused or stopped: the rest is done next time
        result.interrupted = True
    result.interrupted = result.interrupted or (cancel is not None and cancel.is_set())
    return result


def _classify(
    index: LibraryIndex,
    folder: LibraryFolder,
    models: FolderModels,
    identity: ModelIdentity,
    pending: list[Path],
    result: SyncResult,
    cancel: threading.Event | None,
) -> Work[FolderProgress | Progress, None]:
    run = IndexedRun(lambda: models.engine(folder.model), index, identity, topk=TOPK)
    status = result.status
    progress: list[Progress] = []
    stream = run.classify(pending, cancel=cancel, progress=progress.append)
    done = 0
    try:
        for item in stream:
            done += 1
            status.pending -= 1
            error = item.prediction.error
            if error is None:
                status.indexed += 1
            elif is_about_the_content(error):
                status.errors += 1  # remembered: counted as an error until the file changes
            else:
                status.pending += 1  # tried again next time (permission, a missing decoder)
            if item.from_index:
                result.from_index += 1
                result.moved += item.moved_from is not None
            else:
                result.new += 1
                result.failed += error is not None
            if progress:
                progress.clear()
                yield FolderProgress(folder.path, INDEXING, done, len(pending))
    finally:
        stream.close()  # commits what the engine finished
        result.notices.extend(run.counts.notices or [])


def _prune(index: LibraryIndex, gone: list[int]) -> int:
    """Rows of deleted photos; a row that followed its renamed photo (same id, new path) stays."""
    if not gone:
        return 0
    paths = index.paths_of(gone)
    return index.prune([file_id for file_id, path in paths.items() if not os.path.lexists(path)])


def _read_dates(
    index: LibraryIndex, folder: Path, result: SyncResult, cancel: threading.Event | None
) -> Work[FolderProgress, None]:
    """The EXIF date taken of every photo that has none recorded yet (a header read each)."""
    while True:
        check_cancel(cancel)
        todo = index.without_taken(folder)
        if not todo:
            return
        index.set_taken([(file_id, date_taken(path)) for file_id, path in todo])
        result.dated += len(todo)
        yield FolderProgress(folder, DATES, result.dated)
