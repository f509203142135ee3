"""What classification produces, as plain records (torch-free), and their file formats.

``Prediction`` is the one result type of the engine, the CLI, the GUI table and the exports.
JSON (the README's schema) is ``[{"path", "predictions": [{"label", "index", "probability"}]} |
{"path", "error"}]``. CSV has one schema, the CLI's and the app's alike: one row per file and rank,
``path,rank,label,index,probability,error`` (a file that failed is one row with its error). Rows of
more than one model (the app's table can mix them) add the model's name: a last CSV column
``model``, a ``"model"`` key in JSON. CSV cells are neutralised against formula injection
(``core.csvcells``); JSON keeps the exact text.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from resnet_desktop.core.csvcells import SafeWriter

LONG_CSV_HEADER = ("path", "rank", "label", "index", "probability", "error")


@dataclass(frozen=True)
class ClassScore:
    """One of the top-k classes for an image."""

    label: str
    index: int
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The result for one input file: its top-k scores, or the reason it could not be classified.

    ``embedding`` (the pooled backbone features, a float32 numpy vector) is filled only when the
    engine is asked for it; it is left out of comparisons and of every file format.
    """

    path: Path
    scores: tuple[ClassScore, ...] = ()
    error: str | None = None
    embedding: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def top1(self) -> ClassScore | None:
        return self.scores[0] if self.scores else None


@dataclass(frozen=True)
class RunTimings:
    """Where one classify run's time went, so a benchmark can tell decode-bound from model-bound."""

    images: int
    elapsed_s: float
    #: Time the model loop spent waiting for the next decoded batch (decoding not hidden behind the model).
    decode_wait_s: float

    @property
    def decode_wait_share(self) -> float:
        return self.decode_wait_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class Progress:
    """Sent after each batch. ``done`` counts finished files (classified or failed)."""

    done: int
    failed: int
    total: int | None
    images_per_second: float
    elapsed_s: float


def _probability(value: float) -> float:
    """A JSON-safe probability (never NaN or infinity, which JSON cannot carry)."""
    return round(value, 6) if math.isfinite(value) else 0.0


def to_dict(prediction: Prediction) -> dict[str, Any]:
    """The JSON object for one file (documented in the README and ``classify --help``)."""
    if prediction.error is not None:
        return {"path": str(prediction.path), "error": prediction.error}
    return {
        "path": str(prediction.path),
        "predictions": [
            {"label": s.label, "index": s.index, "probability": _probability(s.probability)} for s in prediction.scores
        ],
    }


def from_dict(data: dict[str, Any]) -> Prediction:
    """Read back one object written by :func:`to_dict` (a results file, an index row)."""
    path = Path(str(data["path"]))
    if data.get("error") is not None:
        return Prediction(path=path, error=str(data["error"]))
    scores = tuple(
        ClassScore(str(s["label"]), int(s["index"]), float(s["probability"])) for s in data.get("predictions", [])
    )
    return Prediction(path=path, scores=scores)


def to_json(predictions: Iterable[Prediction], models: Sequence[str] | None = None) -> str:
    """The JSON array; with ``models`` (one name per prediction) each object also says its ``"model"``."""
    objects = [to_dict(p) for p in predictions]
    if models is not None:
        objects = [{**obj, "model": model} for obj, model in zip(objects, models, strict=True)]
    return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"


def long_csv_rows(prediction: Prediction) -> Iterator[tuple[object, ...]]:
    """One row per rank (``LONG_CSV_HEADER``); a file that failed is one row with its error."""
    path = str(prediction.path)
    if prediction.error is not None:
        yield (path, "", "", "", "", prediction.error)
        return
    for rank, score in enumerate(prediction.scores, start=1):
        yield (path, rank, score.label, score.index, f"{_probability(score.probability):.6f}", "")


def long_csv(predictions: Sequence[Prediction], models: Sequence[str] | None = None) -> str:
    """The CSV of ``predictions`` as one text (the app's export); ``models`` adds the ``model`` column."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(LONG_CSV_HEADER + (("model",) if models is not None else ()))
    for i, prediction in enumerate(predictions):
        extra = (models[i],) if models is not None else ()
        writer.writerows(row + extra for row in long_csv_rows(prediction))
    return out.getvalue()


class JsonArrayWriter:
    """One JSON array written element by element, so output starts before a long run ends."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0
        self.stream.write("[")

    def write(self, prediction: Prediction) -> None:
        self.stream.write(("," if self.count else "") + "\n  " + json.dumps(to_dict(prediction)))
        self.count += 1

    def close(self) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()


class LongCsvWriter:
    """The CLI's CSV, streamed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.csv = SafeWriter(stream)
        self.csv.writerow(LONG_CSV_HEADER)

    def write(self, prediction: Prediction) -> None:
        self.csv.writerows(long_csv_rows(prediction))

    def close(self) -> None:
        self.stream.flush()
