"""Save dialogs and writers of the model lab (always through ``core.atomic``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.atomic import write_bytes, write_text
from resnet_desktop.gui.common.dialogs import confirm_changed_name


def ask_save_path(parent: QWidget, title: str, start: str, name_filter: str, suffix: str) -> Path | None:
    """The save dialog; ``suffix`` is added when missing (asking again if that file exists)."""
    path, _chosen = QFileDialog.getSaveFileName(parent, title, start, name_filter)
    if not path:
        return None
    result = Path(path)
    if result.suffix.lower() != suffix:
        result = result.with_suffix(suffix)
    return result if confirm_changed_name(parent, Path(path), result) else None


def png_beside(path: Path, tag: str) -> Path:
    """``report.json`` -> ``report-<tag>.png`` (the picture that goes with a JSON export)."""
    return path.with_name(f"{path.stem}-{tag}.png")


def write_pair(parent: QWidget, path: Path, text: str, png: bytes, tag: str) -> tuple[Path, Path] | None:
    """Write ``text`` to ``path`` and ``png`` beside it; None when the person keeps an existing PNG.

    The save dialog asked about ``path``; the PNG's name was never shown, so it is asked about here.
    """
    picture = png_beside(path, tag)
    if picture.exists() and not confirm_changed_name(parent, path, picture):
        return None
    return write_text(path, text, overwrite=True), write_bytes(picture, png, overwrite=True)
