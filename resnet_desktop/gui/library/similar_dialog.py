"""Similar photos (thumbnails + cosine scores) and near-duplicate groups, read from the library index."""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library.api import (
    DUPLICATE_THRESHOLD,
    NearDuplicates,
    Neighbour,
    SimilarPhotos,
    find_duplicates,
    find_similar,
)
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Engine, Progress
    from resnet_desktop.core.models.ref import LoadedModel

ICON_SIZE = 96
#: Makes the engine for the files the index does not know yet (called on the dialog's worker thread).
EngineFactory = Callable[[], "Engine"]


class _ThumbnailDialog(QDialog):
    """Shared: a status line, thumbnails that arrive from the loader, errors shown in place."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None) -> None:
        super().__init__(parent)
        #: The dialog's own worker: closing the dialog stops it, so no answer reaches a deleted widget.
        self.status = InlineStatus()
        self.status.show_busy("Looking in the library index")
        # The dialog's own worker (closing the dialog stops it); failures show in the status line.
        self.runner = TaskRunner(self, max_threads=1, name="library dialog", status=self.status)
        self.thumbnails = thumbnails
        self._waiting: dict[str, list[Any]] = {}
        thumbnails.ready.connect(self._on_thumbnail)

    def _icon_for(self, path: Path, item: Any) -> None:
        pixmap = self.thumbnails.pixmap(str(path), ICON_SIZE)
        if pixmap is not None:
            item.setIcon(0, QIcon(pixmap)) if isinstance(item, QTreeWidgetItem) else item.setIcon(QIcon(pixmap))
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


class SimilarDialog(_ThumbnailDialog):
    """The photos most similar to one photo, best first, each with its cosine similarity."""

    def __init__(
        self,
        photo: Path,
        loaded: LoadedModel,
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

    def _show_neighbours(self, found: SimilarPhotos) -> None:
        neighbours = self.neighbours = found.neighbours
        if not neighbours:
            self.status.show_info("No other photos classified with this model are in the library index.")
            return
        self.status.show_info(f"The {len(neighbours)} photos most similar to {self.photo.name} (cosine similarity):")
        for n in neighbours:
            item = QListWidgetItem(f"{n.score:.3f}\n{n.path.name}")
            item.setToolTip(str(n.path))
            item.setData(Qt.ItemDataRole.UserRole, str(n.path))
            self.list.addItem(item)
            self._icon_for(n.path, item)


class DuplicatesDialog(_ThumbnailDialog):
    """Groups of near-duplicates below one folder, at a similarity threshold the person can change."""

    def __init__(
        self,
        folder: Path,
        loaded: LoadedModel,
        engine: EngineFactory,
        thumbnails: ThumbnailLoader,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(thumbnails, parent)
        self.setWindowTitle(f"Near-duplicates in {folder.name}")
        self.folder = folder
        self.loaded = loaded
        self.engine = engine
        self.groups: list[list[tuple[Path, float]]] | None = None
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 1.0)
        self.threshold.setDecimals(4)
        self.threshold.setSingleStep(0.005)
        self.threshold.setValue(DUPLICATE_THRESHOLD)
        self.find_button = QPushButton("&Find")
        self.find_button.clicked.connect(self.search)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Similarity"])
        self.tree.setIconSize(QSize(ICON_SIZE // 2, ICON_SIZE // 2))
        row = QHBoxLayout()
        row.addWidget(QLabel("Similarity at least"))
        row.addWidget(self.threshold)
        row.addWidget(self.find_button)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)
        self.search()

    def search(self) -> None:
        threshold = self.threshold.value()
        self.find_button.setEnabled(False)
        self.status.show_busy("Looking in the library index")

        def work(ctx: TaskContext) -> Generator[Progress, None, NearDuplicates]:
            return find_duplicates(self.loaded, self.engine, [self.folder], threshold=threshold, cancel=ctx.cancel)

        self.runner.stream(
            work,
            name="near-duplicates",
            on_yielded=self._indexing,
            on_returned=self._show_groups,
            on_finished=lambda: self.find_button.setEnabled(True),
        )

    def _show_groups(self, result: NearDuplicates) -> None:
        count = result.photos
        groups = [list(zip(group.paths, group.scores, strict=True)) for group in result.groups]
        self.groups = groups
        self.tree.clear()
        self._waiting.clear()
        if count == 0:
            self.status.show_info(f"No photos were found in {self.folder}.")
            return
        photos = sum(len(g) for g in groups)
        self.status.show_info(f"{len(groups)} group(s), {photos} of {count} indexed photos in {self.folder}.")
        for number, group in enumerate(groups, start=1):
            top = QTreeWidgetItem([f"Group {number} ({len(group)} photos)", ""])
            self.tree.addTopLevelItem(top)
            for path, score in group:
                child = QTreeWidgetItem([path.name, f"{score:.4f}"])
                child.setToolTip(0, str(path))
                top.addChild(child)
                self._icon_for(path, child)
            top.setExpanded(True)
