"""Tools > Find Near-Duplicates…: groups of near-duplicate photos, and what to do with a group.

The folder is brought into the library index first (core's ``find_duplicates``), then grouped at a
similarity the person can change. On a group: keep the selected photo and move the others into a
folder (through the organize journal: Edit > Undo Last Organize puts them back), open a photo's folder
in the file manager, or compare two photos side by side. Double-click shows a photo in the main window.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library import api as library
from resnet_desktop.core.library.api import DUPLICATE_THRESHOLD, NearDuplicates, OperationProgress, Outcome
from resnet_desktop.gui.common.tasks import TaskContext
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library import organize_history
from resnet_desktop.gui.library.compare_dialog import CompareDialog
from resnet_desktop.gui.library.similar_dialog import ICON_SIZE, EngineFactory, ThumbnailDialog

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Progress, StoredModel
    from resnet_desktop.core.models.ref import LoadedModel

PATH_ROLE = Qt.ItemDataRole.UserRole
MOVE_OTHERS = "Keep Selected, &Move Others…"
OPEN_FOLDER = "Open in File &Manager"
COMPARE = "&Compare Two…"


class DuplicatesDialog(ThumbnailDialog):
    """Groups of near-duplicates below one folder, at a similarity threshold the person can change."""

    def __init__(
        self,
        folder: Path,
        loaded: LoadedModel | StoredModel,
        engine: EngineFactory,
        thumbnails: ThumbnailLoader,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(thumbnails, parent)
        self.setWindowTitle(f"Near-duplicates in {folder.name}")
        self.folder = folder
        self.loaded = loaded
        self.engine = engine
        self.settings = settings
        self.groups: list[list[tuple[Path, float]]] | None = None
        self.compare_dialog: CompareDialog | None = None
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 1.0)
        self.threshold.setDecimals(4)
        self.threshold.setSingleStep(0.005)
        self.threshold.setValue(DUPLICATE_THRESHOLD)
        self.find_button = QPushButton("&Find")
        self.find_button.clicked.connect(self.search)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Similarity", "Folder"])
        self.tree.setIconSize(QSize(ICON_SIZE // 2, ICON_SIZE // 2))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names are never hidden
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemActivated.connect(self._activated)
        self.move_button = QPushButton(MOVE_OTHERS)
        self.move_button.setToolTip("Move the other photos of the group into a folder (Edit > Undo puts them back)")
        self.move_button.clicked.connect(lambda: self.move_others())
        self.open_button = QPushButton(OPEN_FOLDER)
        self.open_button.clicked.connect(self.open_in_file_manager)
        self.compare_button = QPushButton(COMPARE)
        self.compare_button.setToolTip("Select two photos to see them side by side")
        self.compare_button.clicked.connect(lambda: self.compare())
        row = QHBoxLayout()
        row.addWidget(QLabel("Similarity at least"))
        row.addWidget(self.threshold)
        row.addWidget(self.find_button)
        row.addStretch(1)
        actions = QHBoxLayout()
        for button in (self.move_button, self.open_button, self.compare_button):
            actions.addWidget(button)
        actions.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(actions)
        layout.addWidget(buttons)
        self._after_move = ""  # what the last move did, kept above the refreshed groups
        self._fit_to_screen(900, 600)
        self._update_buttons()
        self.search()

    def _fit_to_screen(self, width: int, height: int) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            width, height = min(width, screen.width() - 40), min(height, screen.height() - 60)
        self.resize(width, height)

    # -- finding groups ----------------------------------------------------------------------

    def search(self) -> None:
        threshold = self.threshold.value()
        self.find_button.setEnabled(False)
        self.status.show_busy("Looking in the library index")

        def work(ctx: TaskContext) -> Generator[Progress, None, NearDuplicates]:
            return library.find_duplicates(
                self.loaded, self.engine, [self.folder], threshold=threshold, cancel=ctx.cancel
            )

        self.runner.stream(
            work,
            name="near-duplicates",
            on_yielded=self._indexing,
            on_returned=self._show_groups,
            on_finished=lambda: self.find_button.setEnabled(True),
        )

    def _show_groups(self, result: NearDuplicates) -> None:
        note, self._after_move = self._after_move, ""
        self._show_found(result)
        if note:
            self.status.show_info(f"{note}\n{self.status.text()}")

    def _show_found(self, result: NearDuplicates) -> None:
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
            top = QTreeWidgetItem([f"Group {number} ({len(group)} photos)", "", ""])
            self.tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)  # the title is never cut by the columns
            for path, score in group:
                child = QTreeWidgetItem([path.name, f"{score:.4f}", str(path.parent)])
                child.setToolTip(0, str(path))
                child.setToolTip(2, str(path.parent))
                child.setData(0, PATH_ROLE, str(path))
                top.addChild(child)
                self._icon_for(path, child)
            top.setExpanded(True)
        self.tree.resizeColumnToContents(2)
        self._update_buttons()

    # -- acting on a group -------------------------------------------------------------------

    def selected_photos(self) -> list[Path]:
        return [Path(str(item.data(0, PATH_ROLE))) for item in self.tree.selectedItems() if item.parent() is not None]

    def _group_of(self, photo: Path) -> list[Path]:
        for group in self.groups or []:
            paths = [path for path, _score in group]
            if photo in paths:
                return paths
        return []

    def _update_buttons(self) -> None:
        chosen = self.selected_photos()
        self.move_button.setEnabled(len(chosen) == 1 and len(self._group_of(chosen[0])) > 1)
        self.open_button.setEnabled(len(chosen) >= 1)
        self.compare_button.setEnabled(len(chosen) == 2)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.parent() is not None:
            self.photoActivated.emit(Path(str(item.data(0, PATH_ROLE))))

    def move_others(self, dest: Path | None = None) -> bool:
        """Keep the selected photo; move the rest of its group into ``dest`` (asked for), journalled."""
        chosen = self.selected_photos()
        if len(chosen) != 1:
            return False
        keep = chosen[0]
        others = [p for p in self._group_of(keep) if p != keep]
        if not others:
            return False
        if dest is None:
            picked = QFileDialog.getExistingDirectory(self, f"Move {len(others)} Near-Duplicate(s) of {keep.name} To")
            if not picked:
                return False
            dest = Path(picked)
        target = dest
        self.move_button.setEnabled(False)
        self.status.show_busy(f"Moving {len(others)} photo(s) to {target}")

        def work(ctx: TaskContext) -> Generator[Path | OperationProgress, None, Outcome]:
            journal = library.begin(library.set_aside_plan(others, target))
            yield journal  # remembered at once: a crash mid-move can still be undone
            return (yield from library.apply(journal, cancel=ctx.cancel))

        self.runner.stream(
            work,
            name="move near-duplicates",
            on_yielded=self._on_move_step,
            on_returned=lambda outcome: self._moved(outcome, target),
        )
        return True

    def _on_move_step(self, step: Path | OperationProgress) -> None:
        if isinstance(step, Path):
            organize_history.remember(self.settings, step)  # Edit > Undo Last Organize / Undo Organize…
        else:
            self.status.show_busy(f"Moving: {step.done} of {step.total} done")

    def _moved(self, outcome: Outcome, dest: Path) -> None:
        problems = f" {len(outcome.problems)} could not be moved." if outcome.problems else ""
        # said again under the refreshed groups, so the way back is not replaced by the new count
        self._after_move = (
            f"Moved {outcome.done} photo(s) to {dest}.{problems} Edit > Undo Last Organize puts them back."
        )
        self.status.show_info(self._after_move)
        self.search()

    def open_in_file_manager(self) -> None:
        for folder in dict.fromkeys(photo.parent for photo in self.selected_photos()):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def compare(self) -> CompareDialog | None:
        chosen = self.selected_photos()
        if len(chosen) != 2:
            return None
        if self.compare_dialog is None:
            self.compare_dialog = CompareDialog(self.thumbnails, self)
        self.compare_dialog.show_pair(chosen[0], chosen[1])
        self.compare_dialog.show()
        self.compare_dialog.raise_()
        return self.compare_dialog
