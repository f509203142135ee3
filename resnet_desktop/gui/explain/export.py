"""Saving the feature panel's pictures as PNG: ask for a name, enlarge small maps, write atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.explain.heatmaps import save_png
from resnet_desktop.gui.common.dialogs import confirm_changed_name

MIN_EXPORT_SIDE = 256


def ask_png_path(parent: QWidget, title: str, start: Path) -> Path | None:
    """Ask where to save; the name gets ``.png`` if it lacks it (confirmed when that changes it)."""
    # The dialog itself asks before replacing an existing file (Qt's default).
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(start), "PNG image (*.png)")
    if not chosen:
        return None
    path = Path(chosen)
    final = path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")
    return final if confirm_changed_name(parent, path, final) else None


class ExportError(OSError):
    """A picture could not be saved; the message says which file and why."""


def export_png(parent: QWidget, title: str, image: Path | None, suffix: str, rgb: np.ndarray) -> Path | None:
    """Ask for a name next to ``image`` (``<stem>-<suffix>.png``) and save ``rgb`` there.

    None when the person cancels; raises ExportError when the file cannot be written.
    """
    stem = image.stem if image else "image"
    start = (image.parent if image else Path.home()) / f"{stem}-{suffix}.png"
    target = ask_png_path(parent, title, start)
    if target is None:
        return None
    try:
        write_png(rgb, target)
    except OSError as exc:
        raise ExportError(f"Could not save {target}: {exc.strerror or exc}") from exc
    return target


def write_png(rgb: np.ndarray, target: Path) -> None:
    """Write an (H, W, 3) uint8 picture; raises OSError."""
    from PIL import Image

    # The person confirmed the name in the dialog (which asks about replacing), so replace.
    save_png(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), target, overwrite=True)


def enlarge(rgb: np.ndarray, min_side: int = MIN_EXPORT_SIDE) -> np.ndarray:
    """Scale up by a whole factor with crisp pixels until the longer side is at least ``min_side``."""
    factor = max(1, -(-min_side // max(rgb.shape[:2])))
    return rgb.repeat(factor, axis=0).repeat(factor, axis=1)
