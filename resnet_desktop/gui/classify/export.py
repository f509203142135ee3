"""Write the table to JSON (the CLI's schema) or CSV (one row per file), through the atomic writer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from resnet_desktop.core.atomic import write_text
from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.inference.records import Prediction, to_json, wide_csv
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.status import StatusBar
from resnet_desktop.gui.common.text import plural

logger = logging.getLogger(__name__)


def export(path: str | Path, rows: Sequence[Prediction]) -> Path:
    """Write ``rows`` to ``path`` (replacing it: the save dialog asked); ``.csv`` is CSV, else JSON."""
    path = Path(path)
    text = wide_csv(rows) if path.suffix.lower() == ".csv" else to_json(rows)
    write_text(path, text, overwrite=True)
    logger.info("Exported results to %s", path)
    return path


def export_visible(
    parent: QWidget,
    rows: Sequence[Prediction],
    start: Path,
    status: StatusBar,
    banner: Banner,
    path: Path | None = None,
) -> Path | None:
    """Ask where (unless ``path`` is given), write, and say so in the status bar or the banner."""
    if not rows:
        return None
    if path is None:
        path = dialogs.ask_export_path(parent, str(start))
        if path is None:
            return None
    try:
        export(path, rows)
    except OutputError as exc:
        banner.show_message("Export failed", str(exc))
        return None
    status.set_message(f"Exported {plural(len(rows), 'row')} to {path}")
    return path
