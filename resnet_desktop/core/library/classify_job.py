"""The classify use case: photos and folders in, one result per file out, through the library index.

``classify_photos`` is what ``resnet-desktop classify``, ``organize``, ``similar``/``duplicates`` and the
app's classify jobs all run: files are discovered lazily, known ones come back from the index at once,
the rest go to the engine (created only when one is needed), and every engine batch is committed as it
arrives. It yields :class:`Indexed` results (in input order) and ``Progress`` events, and returns a
:class:`ClassifySummary`. Without a usable index (switched off, damaged, ``use_index=False``) the engine
does every file and the summary's notices say why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core import images
from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.library.incremental import EngineLike, Indexed, IndexedRun
from resnet_desktop.core.library.index import FP32
from resnet_desktop.core.library.queries import identity_of, optional_index
from resnet_desktop.core.work import Work, check_cancel

if TYPE_CHECKING:
    from resnet_desktop.core.inference.classifier import Classifier
    from resnet_desktop.core.library.identity import DescribedModel

ClassifyEvent = Indexed | Progress


@dataclass
class ClassifySummary:
    """What a classify run did: for the summary line, the status bar and the tests."""

    files: int = 0
    failed: int = 0
    from_index: int = 0
    moved: int = 0
    new: int = 0
    elapsed_s: float = 0.0
    #: The index was used (read and written) for this run.
    index_used: bool = False
    #: Things to tell the person about the index (switched off, damaged and moved aside...).
    notices: list[str] = field(default_factory=list)

    @property
    def classified(self) -> int:
        return self.files - self.failed

    @property
    def rate(self) -> float:
        return self.files / self.elapsed_s if self.elapsed_s > 0 else 0.0


def photo_paths(
    inputs: Iterable[str | Path],
    *,
    skip: frozenset[Path] = frozenset(),
    exclude: Callable[[Path], bool] | None = None,
) -> Iterator[Path]:
    """The image files of ``inputs`` (folders walked lazily, in order), minus ``skip`` and ``exclude``."""
    for path in images.discover(list(inputs)):
        if path not in skip and not (exclude is not None and exclude(path)):
            yield path


def count_photos(
    inputs: Sequence[str | Path],
    *,
    skip: frozenset[Path] = frozenset(),
    cancel: threading.Event | None = None,
) -> int:
    """How many files a run of ``inputs`` will see (a second, cheap walk: for done/total and an ETA)."""
    count = 0
    for _path in photo_paths(inputs, skip=skip):
        check_cancel(cancel)
        count += 1
    return count


def classify_photos(
    loaded: DescribedModel,
    engine: Classifier | Callable[[], Classifier],
    inputs: Sequence[str | Path],
    *,
    topk: int = 5,
    use_index: bool = True,
    skip: frozenset[Path] = frozenset(),
    exclude: Callable[[Path], bool] | None = None,
    remember_session: bool = True,
    run: str | None = None,
    cancel: threading.Event | None = None,
    precision: str | None = None,
) -> Work[ClassifyEvent, ClassifySummary]:
    """Classify the photos of ``inputs`` with ``loaded`` (run by ``engine``, or a factory of one);
    ``precision`` ("fp32", or a fast graph's "fast:<calibration>"; default: the engine's) keeps results
    of different precisions apart.

    Yields each result as an :class:`Indexed` (``.prediction``, ``.source``: "index" or "new") and
    ``Progress`` after each engine batch; returns the :class:`ClassifySummary`. Cancelling keeps
    what was yielded (and committed). The index is opened and closed here, on the calling thread.
    ``run`` ties this session to the others of one app run (Reopen Last Session brings them all back).
    """
    started = time.perf_counter()
    index, notices = optional_index() if use_index else (None, [])
    if precision is None:  # an engine made later (a factory) says its precision when made: IndexedRun adopts it
        precision = engine.numeric_precision if isinstance(engine, EngineLike) else FP32
    indexed = IndexedRun(engine, index, identity_of(loaded, precision) if index is not None else None, topk=topk)
    summary = ClassifySummary(index_used=indexed.index is not None, notices=notices)
    progress: list[Progress] = []
    paths = photo_paths(inputs, skip=skip, exclude=exclude)
    remembered = [Path(p) for p in inputs] if remember_session else None
    stream = indexed.classify(paths, cancel=cancel, progress=progress.append, inputs=remembered, run=run)
    try:
        for item in stream:
            yield from _drain(progress)
            summary.files += 1
            summary.failed += item.prediction.error is not None
            yield item
        yield from _drain(progress)
    finally:
        stream.close()  # commits what the engine finished before the index is closed
        counts = indexed.counts
        summary.notices.extend(counts.notices or [])
        summary.from_index, summary.moved, summary.new = counts.from_index, counts.moved, counts.new
        indexed.close()
        summary.elapsed_s = time.perf_counter() - started
    return summary


def _drain(progress: list[Progress]) -> Iterator[Progress]:
    while progress:
        yield progress.pop(0)
