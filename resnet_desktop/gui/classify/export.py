"""Write results to JSON (the CLI's schema) or CSV, atomically.

JSON: ``[{"path", "predictions": [{"label", "index", "probability"}, ...]} | {"path", "error"}]``.
CSV: one line per file: ``path, error``, then ``label_i, index_i, probability_i`` for each rank.
Both land via a temp file in the target folder and ``os.replace``, so an existing file is either
fully replaced or left as it was.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from resnet_desktop.gui.classify.results_model import ResultRow

logger = logging.getLogger(__name__)


def _atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(rows: Iterable[ResultRow]) -> str:
    return json.dumps([row.to_json() for row in rows], indent=2, ensure_ascii=False) + "\n"


def to_csv(rows: Iterable[ResultRow]) -> str:
    rows = list(rows)
    ranks = max((len(r.scores) for r in rows), default=1) or 1
    header = ["path", "error"]
    for rank in range(1, ranks + 1):
        header += [f"label_{rank}", f"index_{rank}", f"probability_{rank}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        line = [str(row.path), row.error or ""]
        for score in row.scores:
            line += [score.label, str(score.index), repr(score.probability)]
        line += [""] * (len(header) - len(line))
        writer.writerow(line)
    return out.getvalue()


def export(path: str | Path, rows: Iterable[ResultRow]) -> Path:
    """Write ``rows`` to ``path``; the format follows the suffix (``.csv``, anything else JSON)."""
    path = Path(path)
    text = to_csv(rows) if path.suffix.lower() == ".csv" else to_json(rows)
    _atomic_write_text(path, text)
    logger.info("Exported results to %s", path)
    return path
