"""An icon-mode list of images with captions; thumbnails decoded off the GUI thread.

Shared by the fine-tune wizard's results and the evaluation window. Each item keeps its file path
in ``Qt.ItemDataRole.UserRole``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

GALLERY_SIDE = 64
GALLERY_LIMIT = 200


class Gallery(QListWidget):
    """Icon-mode list of images with captions; thumbnails decoded off the GUI thread."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(self.iconSize().scaled(GALLERY_SIDE, GALLERY_SIDE, Qt.AspectRatioMode.IgnoreAspectRatio))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        self.setGridSize(QSize(GALLERY_SIDE + 64, GALLERY_SIDE + 40))  # room for "true → predicted"
        thumbnails.ready.connect(self._ready)

    def show_images(self, entries: list[tuple[Path, str, str]]) -> None:
        """``entries``: (path, caption, tooltip)."""
        self.clear()
        for path, caption, tip in entries[:GALLERY_LIMIT]:
            item = QListWidgetItem(caption)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(tip)
            self.addItem(item)
            self._set_icon(item)

    def _set_icon(self, item: QListWidgetItem) -> None:
        pixmap = self.thumbnails.pixmap(item.data(Qt.ItemDataRole.UserRole), GALLERY_SIDE)
        if pixmap is not None:
            item.setIcon(pixmap)

    def _ready(self, path: str, size: int) -> None:
        if size != GALLERY_SIDE:
            return
        for row in range(self.count()):
            item = self.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                self._set_icon(item)
