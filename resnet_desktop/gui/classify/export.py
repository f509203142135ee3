"""Write the table to JSON or CSV, the CLI's schemas (``core.inference.records``), through the atomic writer.

Rows of more than one model name their model (a ``model`` column / key) so the file says which labels
came from which model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from resnet_desktop.core.atomic import write_text
from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.inference.records import Prediction, long_csv, to_json
from resnet_desktop.gui.common import dialogs, save_folders
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.status import StatusBar
from resnet_desktop.gui.common.text import plural

logger = logging.getLogger(__name__)


def export(path: str | Path, rows: Sequence[Prediction], models: Sequence[str] | None = None) -> Path:
    """Write ``rows`` to ``path`` (replacing it: the save dialog asked); ``.csv`` is CSV, else JSON.
    ``models``: each row's model name, written only when given (the table mixes models)."""
    path = Path(path)
    text = long_csv(rows, models) if path.suffix.lower() == ".csv" else to_json(rows, models)
    write_text(path, text, overwrite=True)
    logger.info("Exported results to %s", path)
    return path


def export_visible(
    parent: QWidget,
    rows: Sequence[Prediction],
    near: Path | None,
    status: StatusBar,
    banner: Banner,
    path: Path | None = None,
    models: Sequence[str] | None = None,
) -> Path | None:
    """Ask where (unless ``path`` is given), write, and say so in the status bar or the banner."""
    if not rows:
        return None
    if path is None:
        path = dialogs.ask_export_path(parent, str(save_folders.start_path(save_folders.RESULTS, "results.csv", near)))
        if path is None:
            return None
    try:
        export(path, rows, models)
    except OutputError as exc:
        banner.show_message("Export failed", str(exc))
        return None
    save_folders.remember(save_folders.RESULTS, path)
    status.set_message(f"Exported {plural(len(rows), 'row')} to {path}")
    return path
