"""Two photos side by side (from the near-duplicates dialog): which one to keep?"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QWidget

from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

COMPARE_SIZE = 480


def _describe(path: Path) -> str:
    """The facts that decide which copy to keep: name, folder, size on disk, date."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        return f"{path.name}\n{path.parent}\ncannot be read ({exc.strerror or exc})"
    from datetime import datetime

    when = datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{path.name}\n{path.parent}\n{_pixels(path)}{stat.st_size / 1024:.0f} KB, modified {when}"


def _pixels(path: Path) -> str:
    """ "4032 x 3024 pixels, " from the header alone (nothing is decoded); empty when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return ""
    return f"{width} x {height} pixels, "


class CompareDialog(QDialog):
    """The two photos, as large as the dialog allows, each with its name, folder, size and date."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare photos")
        self.thumbnails = thumbnails
        self.paths: tuple[Path, Path] | None = None
        self.images = (QLabel(), QLabel())
        self.captions = (InlineStatus(), InlineStatus())
        grid = QGridLayout(self)
        for column, (image, caption) in enumerate(zip(self.images, self.captions, strict=True)):
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image.setMinimumSize(COMPARE_SIZE // 2, COMPARE_SIZE // 2)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(image, 0, column)
            grid.addWidget(caption, 1, column)
        thumbnails.ready.connect(self._on_ready)
        screen = self.screen().availableGeometry()
        self.resize(min(1040, screen.width() - 40), min(640, screen.height() - 60))

    def show_pair(self, first: Path, second: Path) -> None:
        self.paths = (first, second)
        for path, image, caption in zip(self.paths, self.images, self.captions, strict=True):
            caption.show_info(_describe(path))
            self._show_image(path, image)

    def _show_image(self, path: Path, image: QLabel) -> None:
        pixmap = self.thumbnails.pixmap(str(path), COMPARE_SIZE)
        if pixmap is not None:
            image.setPixmap(pixmap)
        else:
            image.setText("Loading…")

    def _on_ready(self, path: str, size: int) -> None:
        if self.paths is None or size != COMPARE_SIZE:
            return
        for candidate, image in zip(self.paths, self.images, strict=True):
            if str(candidate) == path:
                self._show_image(candidate, image)
