"""The cluster's results on disk: a folder ``results.parquet/`` of Parquet parts, one row per file.

Columns: ``seq`` (position in the input manifest), ``path``, ``error`` (null when classified),
``labels``, ``indices``, ``probabilities`` (the top-k, best first), ``embedding`` (the pooled
backbone features, float32) and ``model_id``. Parts are written atomically (``core.atomic``), so
every part on disk is complete; a resumed run reads them to skip what is done. Readers (the GUI
table, ``organize --results``) get ``records.Prediction`` back. Needs ``pyarrow`` (in the extra).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resnet_desktop.core.atomic import AtomicFile
from resnet_desktop.core.errors import OutputError, SettingsError
from resnet_desktop.core.inference.records import ClassScore, Prediction

PART_GLOB = "part-*.parquet"
#: A row's ``model_id`` names the precision it was computed at after this mark ("...@bf16" on a GPU);
#: fp32 rows carry none (as every row did before), so a resumed job and its index hand-off agree.
PRECISION_MARK = "@"
SUFFIX = ".parquet"


def _pa() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:
        raise SettingsError(
            "reading or writing Parquet results needs pyarrow: pip install 'resnet-desktop[cluster]'"
        ) from None
    return pa


def schema() -> Any:
    pa = _pa()
    return pa.schema(
        [
            ("seq", pa.int64()),
            ("path", pa.string()),
            ("error", pa.string()),
            ("labels", pa.list_(pa.string())),
            ("indices", pa.list_(pa.int32())),
            ("probabilities", pa.list_(pa.float64())),
            ("embedding", pa.list_(pa.float32())),
            ("model_id", pa.string()),
        ]
    )


def to_table(
    predictions: Sequence[Prediction], seqs: Sequence[int], model_id: str, paths: Sequence[str] | None = None
) -> Any:
    """One Arrow table for a batch of predictions (worker side).

    ``paths``: the manifest's own strings (a URI such as ``s3://b/k`` does not survive ``Path``).
    """
    pa = _pa()
    columns: dict[str, list[Any]] = {name: [] for name in schema().names}
    names = paths if paths is not None else [str(p.path) for p in predictions]
    for prediction, seq, name in zip(predictions, seqs, names, strict=True):
        columns["seq"].append(int(seq))
        columns["path"].append(name)
        columns["error"].append(prediction.error)
        columns["labels"].append([s.label for s in prediction.scores])
        columns["indices"].append([s.index for s in prediction.scores])
        columns["probabilities"].append([s.probability for s in prediction.scores])
        vector = prediction.embedding
        columns["embedding"].append(None if vector is None else np.asarray(vector, dtype=np.float32))
        columns["model_id"].append(model_id)
    return pa.table(columns, schema=schema())


@dataclass(frozen=True)
class Row:
    """One row read back: the prediction, its manifest position and the model that made it."""

    seq: int
    prediction: Prediction
    model_id: str
    #: The path column as written (the manifest's string: URIs intact).
    path_text: str = ""


def from_table(table: Any) -> list[Row]:
    """Rows of an Arrow table in our schema (embeddings as float32 numpy vectors)."""
    missing = [
        name for name in ("path", "error", "labels", "indices", "probabilities") if name not in table.column_names
    ]
    if missing:
        raise SettingsError(f"not a resnet-desktop results table (no column {', '.join(missing)})")
    data = table.to_pydict()
    count = table.num_rows
    seqs = data.get("seq") or list(range(count))
    embeddings = data.get("embedding") or [None] * count
    models = data.get("model_id") or [""] * count
    rows: list[Row] = []
    for i in range(count):
        path = Path(str(data["path"][i]))
        error = data["error"][i]
        if error is not None:
            prediction = Prediction(path=path, error=str(error))
        else:
            scores = tuple(
                ClassScore(label=str(label), index=int(index), probability=float(probability))
                for label, index, probability in zip(
                    data["labels"][i] or (), data["indices"][i] or (), data["probabilities"][i] or (), strict=True
                )
            )
            vector = embeddings[i]
            embedding = None if vector is None else np.asarray(vector, dtype=np.float32)
            prediction = Prediction(path=path, scores=scores, embedding=embedding)
        rows.append(
            Row(seq=int(seqs[i]), prediction=prediction, model_id=str(models[i] or ""), path_text=str(data["path"][i]))
        )
    return rows


def with_precision(model_id: str, precision: str) -> str:
    """The ``model_id`` a worker writes: the model's, plus the precision when it is not fp32."""
    return model_id if precision == "fp32" else f"{model_id}{PRECISION_MARK}{precision}"


def split_precision(model_id: str) -> tuple[str, str]:
    """(the model's id, the precision) of a row's ``model_id``."""
    base, mark, precision = model_id.rpartition(PRECISION_MARK)
    return (base, precision) if mark else (model_id, "fp32")


def part_files(folder: Path) -> list[Path]:
    """The complete parts in ``folder`` (temp files of an interrupted write are hidden, never listed)."""
    return sorted(p for p in folder.glob(PART_GLOB) if p.is_file())


def read_rows(path: str | Path) -> list[Row]:
    """Every row of a results folder (or of one Parquet file), in manifest order."""
    pa = _pa()
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise SettingsError(f"{path}: no such results file or folder")
    files = part_files(path) if path.is_dir() else [path]
    tables = []
    for file in files:
        try:
            tables.append(pq.read_table(file))
        except (OSError, pa.ArrowException) as exc:
            raise SettingsError(f"{file}: not a readable Parquet file ({exc})") from None
    rows = [row for table in tables for row in from_table(table)]
    rows.sort(key=lambda r: r.seq)
    return rows


def read_results(path: str | Path) -> list[Prediction]:
    """The predictions of a ``classify --cluster ... --output results.parquet`` run, in input order."""
    return [row.prediction for row in read_rows(path)]


class PartWriter:
    """Writes ``results.parquet/part-<run>-<n>.parquet`` files atomically, one per call."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.run = secrets.token_hex(4)
        self.count = 0
        self.rows = 0
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"Cannot write {folder}: {exc.strerror or exc}") from exc

    def write(self, table: Any) -> Path:
        import pyarrow.parquet as pq

        name = self.folder / f"part-{self.run}-{self.count:05d}{SUFFIX}"
        with AtomicFile(name) as out:
            pq.write_table(table, out.stream)
        self.count += 1
        self.rows += table.num_rows
        return name
