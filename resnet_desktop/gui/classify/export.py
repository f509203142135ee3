"""Write the table to JSON (the CLI's schema) or CSV (one row per file), through the atomic writer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from resnet_desktop.core.atomic import write_text
from resnet_desktop.core.inference.records import Prediction, to_json, wide_csv

logger = logging.getLogger(__name__)


def export(path: str | Path, rows: Sequence[Prediction]) -> Path:
    """Write ``rows`` to ``path`` (replacing it: the save dialog asked); ``.csv`` is CSV, else JSON."""
    path = Path(path)
    text = wide_csv(rows) if path.suffix.lower() == ".csv" else to_json(rows)
    write_text(path, text, overwrite=True)
    logger.info("Exported results to %s", path)
    return path
