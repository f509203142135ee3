"""Similar photos (thumbnails + cosine scores), from the library index; the shared thumbnail dialog.

Double-clicking (or Enter on) a photo shows it in the main window (``photoActivated``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library.api import (
    Neighbour,
    SimilarPhotos,
    find_similar,
)
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Classifier, Progress, StoredModel
    from resnet_desktop.core.models.ref import LoadedModel

ICON_SIZE = 96
#: Makes the engine for the files the index does not know yet (called on the dialog's worker thread).
EngineFactory = Callable[[], "Classifier"]


def square(pixmap: QPixmap) -> QPixmap:
    """``pixmap`` centred on a transparent square as wide as its longest side."""
    side = max(pixmap.width(), pixmap.height())
    padded = QPixmap(side, side)
    padded.fill(Qt.GlobalColor.transparent)
    painter = QPainter(padded)
    painter.drawPixmap((side - pixmap.width()) // 2, (side - pixmap.height()) // 2, pixmap)
    painter.end()
    return padded


class ThumbnailDialog(QDialog):
    """Shared: a status line, thumbnails that arrive from the loader, errors shown in place; a photo
    double-clicked (or Enter) is shown in the main window."""

    photoActivated = Signal(Path)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None) -> None:
        super().__init__(parent)
        #: The dialog's own worker: closing the dialog stops it, so no answer reaches a deleted widget.
        self.status = InlineStatus()
        self.status.show_busy("Looking in the library index")
        # The dialog's own worker (closing the dialog stops it); failures show in the status line.
        self.runner = TaskRunner(self, max_threads=1, name="library dialog", status=self.status)
        self.thumbnails = thumbnails
        self._waiting: dict[str, list[QListWidgetItem | QTreeWidgetItem]] = {}
        thumbnails.ready.connect(self._on_thumbnail)

    def _icon_for(self, path: Path, item: QListWidgetItem | QTreeWidgetItem) -> None:
        pixmap = self.thumbnails.pixmap(str(path), ICON_SIZE)
        if pixmap is not None:
            icon = QIcon(square(pixmap))  # every name starts at the same place, whatever the photo's shape
            item.setIcon(0, icon) if isinstance(item, QTreeWidgetItem) else item.setIcon(icon)
        else:
            self._waiting.setdefault(str(path), []).append(item)

    def _on_thumbnail(self, path: str, size: int) -> None:
        if size != ICON_SIZE:
            return
        for item in self._waiting.pop(path, []):
            self._icon_for(Path(path), item)

    def _indexing(self, progress: Progress) -> None:
        total = f" of {progress.total}" if progress.total else ""
        self.status.show_busy(f"Bringing the library index up to date: {progress.done}{total} photos")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.shutdown()
        super().closeEvent(event)


class SimilarDialog(ThumbnailDialog):
    """The photos most similar to one photo, best first, each with its cosine similarity."""

    def __init__(
        self,
        photo: Path,
        loaded: LoadedModel | StoredModel,
        engine: EngineFactory,
        thumbnails: ThumbnailLoader,
        parent: QWidget | None = None,
        k: int = 12,
    ) -> None:
        super().__init__(thumbnails, parent)
        self.setWindowTitle(f"Similar to {photo.name}")
        self.photo = photo
        self.neighbours: list[Neighbour] | None = None
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setGridSize(QSize(ICON_SIZE + 40, ICON_SIZE + 44))
        self.list.itemActivated.connect(
            lambda item: self.photoActivated.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(640, 480)
        self.task = self.runner.stream(
            lambda ctx: find_similar(loaded, engine, photo, k=k, cancel=ctx.cancel),
            name="similar photos",
            on_yielded=self._indexing,
            on_returned=self._show_neighbours,
        )

    def _activated(self, item: QListWidgetItem) -> None:
        self.photoActivated.emit(Path(str(item.data(Qt.ItemDataRole.UserRole))))

    def _show_neighbours(self, found: SimilarPhotos) -> None:
        neighbours = self.neighbours = found.neighbours
        if not neighbours:
            self.status.show_info("No other photos classified with this model are in the library index.")
            return
        self.status.show_info(
            f"The {len(neighbours)} photos most similar to {self.photo.name} (cosine similarity). "
            "Double-click one to show it in the main window."
        )
        for n in neighbours:
            item = QListWidgetItem(f"{n.score:.3f}\n{n.path.name}")
            item.setToolTip(str(n.path))
            item.setData(Qt.ItemDataRole.UserRole, str(n.path))
            self.list.addItem(item)
            self._icon_for(n.path, item)
