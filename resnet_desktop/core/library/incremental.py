"""Classify through the library index: known files come back at once, the rest go to the engine.

The one generator the CLI and the GUI share. Each input is looked up first (same path, size and
mtime, or the same content under another path: a moved or renamed photo); the others are
classified with embeddings, and every engine batch is committed to the index as it arrives, so a
run killed at any moment resumes with what is left. Results come out in input order.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from resnet_desktop.core.inference.records import Prediction, Progress
from resnet_desktop.core.library.index import FileStat, LibraryIndex, LibraryIndexError, ModelIdentity, sha256_file

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine

logger = logging.getLogger(__name__)

FROM_INDEX = "index"
NEW = "new"
#: Test hook: ``N`` makes a run stand still after committing N batches, until it is killed.
PAUSE_ENV = "RESNET_DESKTOP_INDEX_PAUSE_AFTER"


@runtime_checkable
class EngineLike(Protocol):
    """What tells an engine from a factory of one (without importing torch)."""

    @property
    def numeric_precision(self) -> str: ...


@dataclass(frozen=True)
class Indexed:
    """One result and where it came from: ``FROM_INDEX`` (``moved_from`` when found by content) or ``NEW``."""

    prediction: Prediction
    source: str
    moved_from: str | None = None

    @property
    def from_index(self) -> bool:
        return self.source == FROM_INDEX


@dataclass
class RunCounts:
    """What a run did, for the summary line (and the resume test)."""

    from_index: int = 0
    moved: int = 0
    new: int = 0
    committed: int = 0
    notices: list[str] | None = None


class IndexedRun:
    """One classification run against an index (or without one: ``index=None`` runs the engine on all).

    ``engine`` may be a factory, called only when some file really needs the model.
    """

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        index: LibraryIndex | None,
        identity: ModelIdentity | None,
        *,
        topk: int = 5,
        commit_every: int | None = None,
        embeddings: bool = True,
        require_embedding: bool = False,
    ) -> None:
        self._engine = engine
        self.index = index
        self._opened = index
        self.topk = topk
        self.commit_every = commit_every
        self.embeddings = embeddings
        #: A stored result without a stored embedding is classified again (the teach room needs vectors).
        self.require_embedding = require_embedding
        self.counts = RunCounts(notices=[])
        self.identity = identity
        self.model_id: int | None = None
        if index is not None and identity is not None:
            self.model_id = self._guard(lambda: index.model_id(identity))
        if self.model_id is None:
            self.index = None
        #: Engine results not committed yet (one batch at most); ``close`` commits them too.
        self._pending: list[tuple[FileStat | None, Prediction]] = []
        self._pause_after = int(os.environ.get(PAUSE_ENV, "0") or 0)
        self._batches = 0

    def engine(self) -> Engine:
        if not hasattr(self._engine, "classify"):
            made = self._engine()
            self._engine = made
            self._adopt_precision(made.numeric_precision)
        return cast("Engine", self._engine)

    def _adopt_precision(self, precision: str) -> None:
        """An engine made only now (a factory) runs at ``precision``: its results are stored under it."""
        if self.identity is None or self.index is None or precision == self.identity.precision:
            return
        index, identity = self.index, self.identity.at(precision)
        self.identity = identity
        self.model_id = self._guard(lambda: index.model_id(identity))

    def close(self) -> None:
        """Commit what is pending and close the index this run was given (also when a failure dropped it)."""
        self._flush()
        self.index = None
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def _guard(self, work: Callable[[], int]) -> int | None:
        """Run an index operation; if the index fails, say so once and go on without it."""
        try:
            return work()
        except LibraryIndexError as exc:
            self._drop_index(str(exc))
        except Exception as exc:  # noqa: BLE001 - sqlite3 raises many kinds; any of them means "go on without"
            self._drop_index(f"The library index failed ({exc}); going on without it.")
        return None

    def _drop_index(self, message: str) -> None:
        logger.warning(message)
        assert self.counts.notices is not None
        self.counts.notices.append(message)
        self.index = None

    def classify(
        self,
        paths: Iterable[str | Path],
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
        inputs: list[Path] | None = None,
    ) -> Generator[Indexed, None, None]:
        """Yield one :class:`Indexed` per path, in order: index hits at once, the rest as the engine
        finishes them. ``inputs`` (the folders/files given) is remembered as a session."""
        started = time.perf_counter()
        plan: list[tuple[Path, FileStat | None, Indexed | None]] = []
        for path in paths:
            path = Path(path)
            plan.append(self._look_up(path))
            if cancel is not None and cancel.is_set():
                break
        if self.index is not None and self.model_id is not None and inputs:
            index, model_id = self.index, self.model_id
            self._guard(lambda: index.add_session(model_id, inputs, self.topk))
        total = len(plan)
        misses = [(path, stat) for path, stat, hit in plan if hit is None]
        hits = total - len(misses)

        def report(engine_progress: Progress | None) -> None:
            if progress is None:
                return
            done = hits + (engine_progress.done if engine_progress else 0)
            failed = engine_progress.failed if engine_progress else 0
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            progress(Progress(done=done, failed=failed, total=total, images_per_second=rate, elapsed_s=elapsed))

        fresh = self._run_engine(misses, cancel, report) if misses else iter(())
        pending = self._pending
        reported_hits = False
        try:
            for _path, stat, hit in plan:
                if hit is not None:
                    self.counts.from_index += 1
                    self.counts.moved += hit.moved_from is not None
                    yield hit
                    continue
                if not reported_hits:
                    report(None)
                    reported_hits = True
                item = next(fresh, None)
                if item is None:
                    return  # cancelled: what was yielded stays valid
                self.counts.new += 1
                pending.append((stat, item))
                if len(pending) >= self._batch():
                    self._flush()
                yield Indexed(self._without_vector(item), NEW)
            if not reported_hits:
                report(None)
            for _extra in fresh:  # nothing is left; this lets the engine send its last progress
                break
        finally:
            self._flush()

    def _batch(self) -> int:
        if self.commit_every is not None:
            return self.commit_every
        engine = self._engine if hasattr(self._engine, "batch_size") else None
        return int(getattr(engine, "batch_size", 8))

    def _look_up(self, path: Path) -> tuple[Path, FileStat | None, Indexed | None]:
        try:
            stat = FileStat.of(path.absolute())
        except OSError:
            return path, None, None  # the engine reports why it cannot be read, as one error row
        if self.index is None or self.model_id is None:
            return path, stat, None
        index, model_id = self.index, self.model_id
        try:
            hit = index.lookup(stat, model_id, self.topk)
        except LibraryIndexError as exc:
            self._drop_index(str(exc))
            return path, stat, None
        except Exception as exc:  # noqa: BLE001 - a failing index never stops a run
            self._drop_index(f"The library index failed ({exc}); going on without it.")
            return path, stat, None
        if hit is None or (
            self.require_embedding and hit.prediction.ok and not index.has_embedding(hit.file_id, model_id)
        ):
            return path, stat, None
        prediction = replace(hit.prediction, path=path)
        return path, stat, Indexed(prediction, FROM_INDEX, hit.moved_from)

    def _run_engine(
        self,
        misses: list[tuple[Path, FileStat | None]],
        cancel: threading.Event | None,
        report: Callable[[Progress | None], None],
    ) -> Iterator[Prediction]:
        engine = self.engine()
        want_vectors = self.embeddings and self.index is not None
        yield from engine.classify(
            [path for path, _stat in misses],
            topk=self.topk,
            cancel=cancel,
            progress=report,
            embeddings=want_vectors,
        )

    @staticmethod
    def _without_vector(prediction: Prediction) -> Prediction:
        """The caller gets the scores; the 2048 floats stay in the index (the GUI keeps thousands of rows)."""
        return replace(prediction, embedding=None) if prediction.embedding is not None else prediction

    def _flush(self) -> None:
        pending, self._pending[:] = list(self._pending), []
        self._commit(pending)

    def _commit(self, pending: list[tuple[FileStat | None, Prediction]]) -> None:
        if self.index is None or self.model_id is None or not pending:
            return
        engine = self._engine if hasattr(self._engine, "classify") else None
        running = getattr(engine, "numeric_precision", None)
        if self.identity is not None and isinstance(running, str) and running != self.identity.precision:
            # e.g. a GPU run fell back to the CPU: its results are not the identity's precision
            self._drop_index(
                f"The model now runs at {running}, not {self.identity.precision}; "
                "its results are not stored in the library index."
            )
            return
        items = []
        for stat, prediction in pending:
            if stat is None:
                continue  # could not even be stat'ed: nothing to remember it by
            sha: str | None = None
            if prediction.error is None:
                try:
                    sha = sha256_file(Path(stat.path))
                except OSError:
                    sha = None
            items.append((stat, sha, prediction))
        index, model_id = self.index, self.model_id

        def store() -> int:
            index.store(model_id, self.topk, items)
            return len(items)

        stored = self._guard(store)
        if stored:
            self.counts.committed += stored
            self._batches += 1
            if self._pause_after and self._batches >= self._pause_after:
                while True:  # the kill -9 test: stand still with N batches committed
                    time.sleep(1)
