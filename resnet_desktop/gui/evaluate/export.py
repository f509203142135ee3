"""Save dialogs and writers of the model lab (always through ``core.atomic``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.atomic import write_bytes, write_text
from resnet_desktop.gui.common import save_folders
from resnet_desktop.gui.common.dialogs import confirm_changed_name


def ask_save_path(
    parent: QWidget, title: str, name: str, name_filter: str, suffix: str, near: Path | None = None
) -> Path | None:
    """The save dialog, starting at ``name`` in the last report folder (else ``near``, else Documents);
    ``suffix`` is added when missing (asking again if that file exists)."""
    start = save_folders.start_path(save_folders.REPORT, name, near)
    path, _chosen = QFileDialog.getSaveFileName(parent, title, str(start), name_filter)
    if not path:
        return None
    result = Path(path)
    if result.suffix.lower() != suffix:
        result = result.with_suffix(suffix)
    if not confirm_changed_name(parent, Path(path), result):
        return None
    save_folders.remember(save_folders.REPORT, result)
    return result


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
