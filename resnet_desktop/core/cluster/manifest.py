"""The job's manifest: which files to classify, in input order, minus those already done.

Paths are expanded on the client with ``images.discover`` (the same files and order as a local
run) and must be readable at the same path on every worker (a shared mount); URIs (``s3://``...)
are listed with pyarrow's file systems (``remote_files``). Files already in the output's parts (a
resumed run) are left out; their ``seq`` numbers stay those of the full input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_desktop.core.cluster import results
from resnet_desktop.core.cluster.remote_files import is_uri, list_uri
from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.images import discover


@dataclass(frozen=True)
class Manifest:
    """What to send: ``table`` has columns ``seq`` and ``path``; ``total`` counts the whole input."""

    table: Any
    total: int
    already_done: int


def done_paths(output: Path, model_id: str) -> set[str]:
    """Paths already in ``output``'s parts; ``OutputError`` if another model wrote them."""
    if not output.exists():
        return set()
    if not output.is_dir():
        raise OutputError(f"{output} exists and is not a results folder written by 'classify --cluster'")
    parts = results.part_files(output)
    if not parts and any(output.iterdir()):
        raise OutputError(f"{output} is a folder that holds no results parts; choose another --output")
    rows = results.read_rows(output)
    # the same model at another precision (a GPU worker's bf16 next to a CPU worker's fp32) is the same job
    others = sorted({row.model_id for row in rows if results.split_precision(row.model_id)[0] != model_id})
    if others:
        raise OutputError(
            f"{output} holds results of another model ({', '.join(others)}; this run uses {model_id}); "
            "choose another --output to classify with this model"
        )
    return {row.path_text for row in rows}


def expand(paths: Iterable[str | Path]) -> Iterator[str]:
    """Every file to classify, in input order: local paths as ``discover`` walks them, URIs listed."""
    for path in paths:
        if is_uri(path):
            yield from list_uri(str(path))
        else:
            yield from (str(p) for p in discover([path]))


def build(paths: Iterable[str | Path], output: Path, model_id: str) -> Manifest:
    """Discover the inputs and leave out what ``output`` already holds."""
    import pyarrow as pa

    done = done_paths(output, model_id)
    seqs: list[int] = []
    names: list[str] = []
    total = 0
    for seq, name in enumerate(expand(paths)):
        total += 1
        if name in done:
            continue
        seqs.append(seq)
        names.append(name)
    table = pa.table({"seq": pa.array(seqs, pa.int64()), "path": pa.array(names, pa.string())})
    return Manifest(table=table, total=total, already_done=total - len(names))
