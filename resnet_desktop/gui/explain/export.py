"""Saving the feature panel's pictures as PNG: ask for a name, enlarge small maps, write atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.explain.api import save_png
from resnet_desktop.gui.common import save_folders
from resnet_desktop.gui.common.dialogs import confirm_changed_name

MIN_EXPORT_SIDE = 256
#: A channel grid has one pixel per activation (layer4: 183 px): exported at least this large to be read.
MIN_GRID_EXPORT_SIDE = 1024


def ask_png_path(parent: QWidget, title: str, start: Path) -> Path | None:
    """Ask where to save; the name gets ``.png`` if it lacks it (confirmed when that changes it)."""
    # The dialog itself asks before replacing an existing file (Qt's default).
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(start), "PNG image (*.png)")
    if not chosen:
        return None
    path = Path(chosen)
    final = path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")
    if not confirm_changed_name(parent, path, final):
        return None
    save_folders.remember(save_folders.PICTURE, final)
    return final


def ask_export_path(parent: QWidget, title: str, image: Path | None, suffix: str) -> Path | None:
    """Ask for a name, suggesting ``<stem>-<suffix>.png`` in the last picture folder, else next to ``image``
    (never in the app's own sample folder); None when cancelled."""
    stem = image.stem if image else "image"
    start = save_folders.start_path(save_folders.PICTURE, f"{stem}-{suffix}.png", image.parent if image else None)
    return ask_png_path(parent, title, start)


def write_png(rgb: np.ndarray, target: Path) -> None:
    """Write an (H, W, 3) uint8 picture through the atomic writer."""
    from PIL import Image

    # The person confirmed the name in the dialog (which asks about replacing), so replace.
    save_png(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), target, overwrite=True)


def enlarge(rgb: np.ndarray, min_side: int = MIN_EXPORT_SIDE) -> np.ndarray:
    """Scale up by a whole factor with crisp pixels until the longer side is at least ``min_side``."""
    factor = max(1, -(-min_side // max(rgb.shape[:2])))
    return rgb.repeat(factor, axis=0).repeat(factor, axis=1)
