"""Put what a cluster job wrote into the library index, so the app never classifies those files again.

The rows are stored under the identity of the model the client loaded (the same identity a local
run uses) at the precision each row was computed at (its ``model_id`` says so: a GPU worker's rows
are bf16, never served to an fp32 run), keyed by each file's stat taken here. A photo whose
modification time is later than the part that holds its row changed after the cluster read it: it
is left out and classified afresh next time. URIs (``s3://``...) and files this machine cannot see are left out too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.cluster import results
from resnet_desktop.core.cluster.remote_files import is_uri
from resnet_desktop.core.library.identity import FileStat

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.core.library.index import LibraryIndex, ModelIdentity

#: Rows per index transaction (as a local run commits batches).
BATCH_ROWS = 512


@dataclass
class IndexImport:
    """How many rows went into the index, and why the others did not."""

    stored: int = 0
    not_here: int = 0
    changed: int = 0


def import_results(output: Path, index: LibraryIndex, identity: ModelIdentity, topk: int) -> IndexImport:
    """Store every row of the results folder ``output`` in ``index`` for the model ``identity``, at
    the precision each row names (``identity.precision`` is replaced by it)."""
    import pyarrow.parquet as pq

    model_ids: dict[str, int] = {}
    counts = IndexImport()
    pending: dict[int, list[tuple[FileStat, str | None, Prediction]]] = {}
    for part in results.part_files(output):
        written_ns = part.stat().st_mtime_ns
        for row in results.from_table(pq.read_table(part)):
            stat = _local_stat(row.path_text)
            if stat is None:
                counts.not_here += 1
                continue
            if stat.mtime_ns > written_ns:
                counts.changed += 1
                continue
            precision = results.split_precision(row.model_id)[1]
            if precision not in model_ids:
                model_ids[precision] = index.model_id(identity.at(precision))
            batch = pending.setdefault(model_ids[precision], [])
            batch.append((stat, None, row.prediction))  # the content hash is computed lazily
            if len(batch) >= BATCH_ROWS:
                counts.stored += _store(index, model_ids[precision], topk, batch)
    for model_id, batch in pending.items():
        counts.stored += _store(index, model_id, topk, batch)
    return counts


def _local_stat(path_text: str) -> FileStat | None:
    if is_uri(path_text):
        return None
    try:
        return FileStat.of(path_text)
    except OSError:
        return None


def _store(index: LibraryIndex, model_id: int, topk: int, items: list[tuple[FileStat, str | None, Prediction]]) -> int:
    index.store(model_id, topk, items)
    count = len(items)
    items.clear()
    return count
