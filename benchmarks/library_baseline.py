"""The code before issue 25 (main at e6d1332), kept verbatim where it matters, so ``benchmarks/library.py``
measures it next to the current code in the same run:

- ``classify``: ``IndexedRun.classify`` looked every path up (one query each) before the first row;
- ``lookup``: one SELECT per path;
- ``open_index``: ``PRAGMA quick_check`` on every open, whatever the size;
- ``append_predictions``: the results table checked each new row against every other new row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from resnet_desktop.core.images.reasons import is_about_the_content
from resnet_desktop.core.inference.records import Prediction, Progress
from resnet_desktop.core.library import index_db
from resnet_desktop.core.library.identity import FileStat
from resnet_desktop.core.library.incremental import FROM_INDEX, NEW, Indexed, IndexedRun
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.library.index_db import parse_scores
from resnet_desktop.core.library.index_read import Hit


def lookup(index: LibraryIndex, stat: FileStat, model_id: int, topk: int) -> Hit | None:
    """``IndexReads.lookup`` before: one query per path (the content search for unknown paths is the same)."""
    row = index._db.execute(
        "SELECT f.id, f.size, f.mtime_ns, r.topk, r.scores, r.error FROM files f "
        "LEFT JOIN results r ON r.file_id = f.id AND r.model_id = ? WHERE f.path = ?",
        (model_id, stat.path),
    ).fetchone()
    if row is not None:
        file_id, size, mtime_ns, stored_topk, scores, error = row
        unchanged = size == stat.size and mtime_ns == stat.mtime_ns
        if unchanged and scores is not None and stored_topk >= topk:
            return Hit(Prediction(path=Path(stat.path), scores=parse_scores(scores, topk)), int(file_id))
        if unchanged and error is not None and is_about_the_content(str(error)):
            return Hit(Prediction(path=Path(stat.path), scores=(), error=str(error)), int(file_id))
        return None
    return index._find_moved(stat, model_id, topk)


def _look_up(run: IndexedRun, path: Path) -> tuple[Path, FileStat | None, Indexed | None]:
    try:
        stat = FileStat.of(path.absolute())
    except OSError:
        return path, None, None
    if run.index is None or run.model_id is None:
        return path, stat, None
    hit = lookup(run.index, stat, run.model_id, run.topk)
    if hit is None:
        return path, stat, None
    return path, stat, Indexed(replace(hit.prediction, path=path), FROM_INDEX, hit.moved_from)


def classify(
    run: IndexedRun,
    paths: Iterable[str | Path],
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Generator[Indexed, None, None]:
    """``IndexedRun.classify`` before: the whole plan (every lookup) first, then rows in order."""
    plan: list[tuple[Path, FileStat | None, Indexed | None]] = []
    for path in paths:
        plan.append(_look_up(run, Path(path)))
    misses = [(path, stat) for path, stat, hit in plan if hit is None]
    engine = run.engine() if misses else None
    fresh = iter(()) if engine is None else engine.classify([p for p, _s in misses], topk=run.topk, embeddings=True)
    pending = run._pending
    try:
        for _path, stat, hit in plan:
            if hit is not None:
                yield hit
                continue
            item = next(fresh, None)
            if item is None:
                return
            pending.append((stat, item))
            if len(pending) >= run._batch():
                run._flush()
            yield Indexed(replace(item, embedding=None), NEW)
    finally:
        run._flush()


def open_index(path: Path) -> LibraryIndex:
    """``LibraryIndex(path)`` before: ``PRAGMA quick_check`` on every open."""
    saved = index_db.CHECK_ON_OPEN_BYTES
    index_db.CHECK_ON_OPEN_BYTES = 1 << 62
    try:
        return LibraryIndex(path)
    finally:
        index_db.CHECK_ON_OPEN_BYTES = saved


def append_predictions(model: Any, predictions: Iterable[Prediction], name: str = "") -> None:
    """``ResultsModel.append_predictions`` before: each new row compared with every new row before it."""
    new: list[Prediction] = []
    for prediction in predictions:
        key = str(prediction.path)
        model._set_model(key, model.known(name))  # today's per-row model record (a RowModel since issue 27)
        existing = model._row_of.get(key)
        if existing:
            model._rows[existing[0]] = prediction
        elif all(str(other.path) != key for other in new):
            new.append(prediction)
    model.append(new)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def timed_cpu(work: Callable[[], object]) -> tuple[float, float]:
    """(wall, this process's CPU) seconds: on a shared, loaded machine the CPU time is what the work
    itself costs, the wall time what it cost here and now."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def reopen_folder_before(index: LibraryIndex, folder: Path, topk: int = 5) -> list[Prediction]:
    """``sessions.reopen_folder`` before: every model's rows built (and thrown away) to count them."""
    best = (0, 0)
    for candidate, _description in index.models():
        count = len(index.results_under([folder], candidate, 1, prune=False))
        best = max(best, (count, candidate))
    return index.results_under([folder], best[1], topk)
