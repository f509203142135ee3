"""The plan as a tree: one row per destination folder (with its count), its photos below (thumbnails).

Unticking a folder or a photo leaves it out. Thumbnails are asked for only when a folder is opened,
so a plan of thousands of photos does not decode thousands of images.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from resnet_desktop.gui.common.thumbnails import THUMB_SIZE, ThumbnailLoader

if TYPE_CHECKING:
    from resnet_desktop.core.library.api import Plan

PATH_ROLE = Qt.ItemDataRole.UserRole
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 1


class PlanTree(QTreeWidget):
    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setColumnCount(3)
        self.setHeaderLabels(["Destination", "Photos / score", "From"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)
        self.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.setUniformRowHeights(False)
        self._by_path: dict[str, list[QTreeWidgetItem]] = {}
        self.skipped_item: QTreeWidgetItem | None = None
        self._filling = False
        thumbnails.ready.connect(self._on_thumbnail)
        self.itemExpanded.connect(self._load_thumbnails)
        self.itemChanged.connect(self._on_changed)

    def show_plan(self, plan: Plan | None, excluded_folders: set[str], excluded_files: set[Path]) -> None:
        """Fill the tree; folders and photos in ``excluded_*`` start unticked (the person's choices stay)."""
        self._filling = True
        self.clear()
        self._by_path.clear()
        self.skipped_item = None
        if plan is None:
            self._filling = False
            return
        folders: dict[str, QTreeWidgetItem] = {}
        for op in plan.photo_ops:
            item = folders.get(op.folder)
            if item is None:
                label = next((k for k, v in plan.folders.items() if v == op.folder), None)
                item = QTreeWidgetItem(self, [f"{op.folder}/", "", ""])
                item.setData(0, FOLDER_ROLE, op.folder)
                item.setToolTip(0, f"Class: {label}" if label else "Below the threshold")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
                folders[op.folder] = item
            child = QTreeWidgetItem(
                item, [str(op.destination.relative_to(plan.dest / op.folder)), f"{op.probability:.0%}", str(op.source)]
            )
            child.setData(0, PATH_ROLE, str(op.source))
            child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            excluded = op.source in excluded_files or op.folder in excluded_folders
            child.setCheckState(0, Qt.CheckState.Unchecked if excluded else Qt.CheckState.Checked)
            self._by_path.setdefault(str(op.source), []).append(child)
        for folder, item in folders.items():
            if folder in excluded_folders:
                item.setCheckState(0, Qt.CheckState.Unchecked)
        if plan.skipped:
            self.skipped_item = QTreeWidgetItem(self, [f"Left alone ({len(plan.skipped)})", "", ""])
            for skipped in plan.skipped:
                row = QTreeWidgetItem(self.skipped_item, [skipped.path.name, skipped.reason, str(skipped.path)])
                row.setToolTip(1, skipped.reason)
        self._filling = False
        self.update_counts()

    def folder_items(self) -> list[QTreeWidgetItem]:
        items = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        return [item for item in items if item is not None and item.data(0, FOLDER_ROLE)]

    def folder_item(self, folder: str) -> QTreeWidgetItem | None:
        return next((item for item in self.folder_items() if item.data(0, FOLDER_ROLE) == folder), None)

    def excluded(self) -> tuple[set[str], set[Path]]:
        """Unticked folders, and unticked photos (a photo unticked in one folder is left out everywhere)."""
        folders, files = set(), set()
        for item in self.folder_items():
            if item.checkState(0) == Qt.CheckState.Unchecked:
                folders.add(str(item.data(0, FOLDER_ROLE)))
                continue
            for child in _children(item):
                if child.checkState(0) == Qt.CheckState.Unchecked:
                    files.add(Path(str(child.data(0, PATH_ROLE))))
        return folders, files

    def update_counts(self) -> None:
        for item in self.folder_items():
            total = item.childCount()
            kept = sum(1 for child in _children(item) if child.checkState(0) != Qt.CheckState.Unchecked)
            item.setText(1, f"{kept} photo{'s' if kept != 1 else ''}" + (f" of {total}" if kept != total else ""))

    def _on_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._filling and column == 0:
            self._filling = True
            self.update_counts()
            self._filling = False

    def _load_thumbnails(self, folder: QTreeWidgetItem) -> None:
        for child in _children(folder):
            path = child.data(0, PATH_ROLE)
            if path and child.icon(0).isNull():
                pixmap = self.thumbnails.pixmap(str(path), THUMB_SIZE)
                if pixmap is not None:
                    child.setIcon(0, QIcon(pixmap))

    def _on_thumbnail(self, path: str, size: int) -> None:
        pixmap = self.thumbnails.cache.get((path, size))
        if pixmap is None:
            return
        for item in self._by_path.get(path, []):
            item.setIcon(0, QIcon(pixmap))


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(i) for i in range(item.childCount()))
    return [child for child in children if child is not None]
