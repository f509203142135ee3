"""Classify through the library index: known files come back at once, the rest go to the engine.

The one generator the CLI and the GUI share. Each input is looked up first (same path, size and
mtime, or the same content under another path: a moved or renamed photo); the others are
classified with embeddings, and every engine batch is committed to the index as it arrives, so a
run killed at any moment resumes with what is left. Results come out in input order.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from resnet_desktop.core.inference.records import Prediction, Progress
from resnet_desktop.core.library.identity import numbers_of
from resnet_desktop.core.library.index import (
    FileStat,
    Hit,
    LibraryIndex,
    LibraryIndexError,
    ModelIdentity,
    sha256_file,
)

if TYPE_CHECKING:
    from resnet_desktop.core.inference.classifier import Classifier as Engine

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
            if isinstance(made, EngineLike):  # a torch engine; an ONNX Runtime runner was opened at its tag
                self._adopt_precision(made.numeric_precision)
        return cast("Engine", self._engine)

    def _adopt_precision(self, precision: str) -> None:
        """An engine made only now (a factory) runs at ``precision``: its results are stored under it."""
        if self.identity is None or self.index is None or precision == numbers_of(self.identity.precision):
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
            if self.index is not None:
                self.index.suspect(exc)
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
        run: str | None = None,
    ) -> Generator[Indexed, None, None]:
        """Yield one :class:`Indexed` per path, in order: index hits at once, the rest as the engine
        finishes them. ``inputs`` (the folders/files given) is remembered as a session (of the app
        run ``run``).

        Paths are looked up in chunks as they are needed (the first chunk is small), so the first
        row of a 100,000-file folder comes after one chunk, not after 100,000 lookups, and the
        engine starts on the first unknown files at once. ``Progress.total`` is None until the
        last chunk has been looked up.
        """
        if self.index is not None and self.model_id is not None and inputs:
            index, model_id = self.index, self.model_id
            self._guard(lambda: index.add_session(model_id, inputs, self.topk, run=run))
        feed = _Lookahead(iter(paths), self._look_up_many, cancel)
        started = time.perf_counter()

        def report(engine_progress: Progress | None) -> None:
            if progress is None:
                return
            done = feed.hits + (engine_progress.done if engine_progress else 0)
            failed = engine_progress.failed if engine_progress else 0
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            total = feed.looked_up if feed.exhausted else None
            progress(Progress(done=done, failed=failed, total=total, images_per_second=rate, elapsed_s=elapsed))

        fresh: Iterator[Prediction] | None = None
        pending = self._pending
        try:
            while feed.plan or feed.advance():
                if not feed.plan:
                    continue
                path, stat, hit = feed.plan[0]
                if hit is not None:
                    feed.plan.popleft()
                    self.counts.from_index += 1
                    self.counts.moved += hit.moved_from is not None
                    yield hit
                    if not feed.plan:
                        report(None)  # a chunk of known files is done
                    continue
                if fresh is None:
                    report(None)
                    fresh = self._run_engine(feed.misses(), cancel, report)
                item = next(fresh, None)
                if item is None:
                    return  # cancelled: what was yielded stays valid
                feed.plan.popleft()
                self.counts.new += 1
                pending.append((stat, item))
                if len(pending) >= self._batch():
                    self._flush()
                yield Indexed(self._without_vector(item), NEW)
            if fresh is None:
                report(None)
            else:
                for _extra in fresh:  # nothing is left; this lets the engine send its last progress
                    break
        finally:
            self._flush()

    def _batch(self) -> int:
        if self.commit_every is not None:
            return self.commit_every
        engine = self._engine if hasattr(self._engine, "batch_size") else None
        return int(getattr(engine, "batch_size", 8))

    def _look_up_many(self, paths: list[Path]) -> list[Planned]:
        """(path, stat, hit or None) for each path: one index query per chunk, not one per file."""
        stats: list[FileStat | None] = []
        for path in paths:
            try:
                stats.append(FileStat.of(path.absolute()))
            except OSError:
                stats.append(None)  # the engine reports why it cannot be read, as one error row
        known = [stat for stat in stats if stat is not None]
        known_paths = [path for path, stat in zip(paths, stats, strict=True) if stat is not None]
        hits: dict[str, Hit | None] = {}
        if self.index is not None and self.model_id is not None and known:
            index, model_id = self.index, self.model_id
            try:
                found = index.lookup_many(known, model_id, self.topk, known_paths)
            except LibraryIndexError as exc:
                self._drop_index(str(exc))
            except Exception as exc:  # noqa: BLE001 - a failing index never stops a run
                index.suspect(exc)
                self._drop_index(f"The library index failed ({exc}); going on without it.")
            else:
                hits = {stat.path: hit for stat, hit in zip(known, found, strict=True)}
        planned: list[Planned] = []
        for path, stat in zip(paths, stats, strict=True):
            hit = hits.get(stat.path) if stat is not None else None
            if hit is None or self._needs_embedding(hit):  # needing one: computed again for its embedding
                planned.append((path, stat, None))
            else:
                prediction = hit.prediction if hit.prediction.path is path else replace(hit.prediction, path=path)
                planned.append((path, stat, Indexed(prediction, FROM_INDEX, hit.moved_from)))
        return planned

    def _needs_embedding(self, hit: Hit) -> bool:
        if not self.require_embedding or not hit.prediction.ok or self.index is None or self.model_id is None:
            return False
        return not self.index.has_embedding(hit.file_id, self.model_id)

    def _run_engine(
        self,
        misses: Iterator[Path],
        cancel: threading.Event | None,
        report: Callable[[Progress | None], None],
    ) -> Iterator[Prediction]:
        engine = self.engine()
        want_vectors = self.embeddings and self.index is not None
        yield from engine.classify(misses, topk=self.topk, cancel=cancel, progress=report, embeddings=want_vectors)

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
        if self.identity is not None and isinstance(running, str) and running != numbers_of(self.identity.precision):
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


Planned = tuple[Path, FileStat | None, Indexed | None]
#: Paths looked up per index query: small first (the first row at once), then bigger (fewer queries).
FIRST_CHUNK = 32
CHUNK = 512


class _Lookahead:
    """The run's plan, filled a chunk at a time: looked-up paths in input order (``plan``) and the
    unknown ones not yet handed to the engine (``misses()``, which looks further ahead when the
    engine wants more). Everything runs on the thread that iterates the run."""

    def __init__(
        self,
        source: Iterator[str | Path],
        look_up: Callable[[list[Path]], list[Planned]],
        cancel: threading.Event | None,
    ) -> None:
        self._source = source
        self._look_up = look_up
        self._cancel = cancel
        self.plan: deque[Planned] = deque()
        self._misses: deque[Path] = deque()
        self.looked_up = 0
        self.hits = 0
        self.exhausted = False

    def advance(self) -> bool:
        """Look up the next chunk; False when no path is left (or the run was cancelled)."""
        if self.exhausted:
            return False
        if self._cancel is not None and self._cancel.is_set():
            self.exhausted = True
            return False
        size = FIRST_CHUNK if self.looked_up == 0 else CHUNK
        chunk = [Path(p) for p in itertools.islice(self._source, size)]
        if not chunk:
            self.exhausted = True
            return False
        for entry in self._look_up(chunk):
            self.plan.append(entry)
            if entry[2] is None:
                self._misses.append(entry[0])
            else:
                self.hits += 1
        self.looked_up += len(chunk)
        return True

    def misses(self) -> Iterator[Path]:
        """The unknown files in order, for the engine (which pulls a few batches ahead)."""
        while self._misses or self.advance():
            if self._misses:
                yield self._misses.popleft()
