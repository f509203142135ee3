"""The Library side list: the library's folders with their status, and the buttons to add, remove,
pause and resume. It only shows and asks; ``library_dock.LibraryDock`` does the work."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library.api import FolderStatus
from resnet_desktop.gui.common.inline_status import InlineStatus

#: The list item that stands for every library folder at once (browsing the whole library).
WHOLE_LIBRARY = "Whole Library"
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def status_line(status: FolderStatus) -> str:
    """``27 photos · 25 indexed · 2 pending · 1 error · 3 skipped`` (the numbers of ``library status``)."""
    parts = [f"{status.files} photo{'s' if status.files != 1 else ''}", f"{status.indexed} indexed"]
    if status.pending:
        parts.append(f"{status.pending} pending")
    if status.errors:
        parts.append(f"{status.errors} error{'s' if status.errors != 1 else ''}")
    if status.skipped_total:
        parts.append(f"{status.skipped_total} skipped")
    return " · ".join(parts)


def status_tooltip(status: FolderStatus) -> str:
    lines = [str(status.path), f"Model: {status.model}", f"Rules: {status.rules}", status_line(status)]
    if status.skipped:
        lines.append(
            "Skipped (not photos this app reads): " + ", ".join(f"{n} {k}" for k, n in sorted(status.skipped.items()))
        )
    if status.offline:
        lines.append(f"Offline: {status.offline_reason}. Nothing of it is pruned while it is away.")
    return "\n".join(lines)


class FoldersPanel(QWidget):
    """Folders, each with its numbers and what is happening to it; Add, Remove, Pause/Resume below."""

    #: a folder was activated (double-click, Enter): show it in the table; None: the whole library
    browseRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.list.itemActivated.connect(self._activated)
        self.list.setMinimumWidth(150)
        self.add_button = QPushButton("&Add…")
        self.add_button.setToolTip("Add a folder to the library: it is indexed in the background and kept current")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take the selected folder out of the library (its photos are not touched)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause background indexing (what is done is kept); click again to resume")
        self.status = InlineStatus()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.remove_button, self.pause_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.statuses: dict[Path, FolderStatus] = {}
        #: folder -> what is happening to it now ("indexing 3 / 20"), shown after its numbers
        self.activity: dict[Path, str] = {}
        self._whole = QListWidgetItem(WHOLE_LIBRARY)
        self._whole.setToolTip("Every library folder's photos, each with its folder's model")
        self.list.addItem(self._whole)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def add_actions(self, actions: list[QAction]) -> None:
        self.list.addActions(actions)

    # -- what is shown -------------------------------------------------------------------------

    def set_folders(self, statuses: list[FolderStatus]) -> None:
        """Every folder's status (the list is rebuilt; the selection is kept)."""
        current = self.current_folder()
        self.statuses = {s.path: s for s in statuses}
        self.activity = {p: a for p, a in self.activity.items() if p in self.statuses}
        while self.list.count() > 1:
            self.list.takeItem(1)
        for path in sorted(self.statuses):
            item = QListWidgetItem()
            item.setData(PATH_ROLE, str(path))
            self.list.addItem(item)
            self._refresh(item)
            if path == current:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def update_status(self, status: FolderStatus) -> None:
        if status.path not in self.statuses:
            self.set_folders([*self.statuses.values(), status])
            return
        self.statuses[status.path] = status
        self._refresh_path(status.path)

    def set_activity(self, folder: Path, text: str) -> None:
        if text:
            self.activity[folder] = text
        else:
            self.activity.pop(folder, None)
        self._refresh_path(folder)

    def item_text(self, path: Path) -> str:
        item = self._item(path)
        return item.text() if item is not None else ""

    def current_folder(self) -> Path | None:
        item = self.list.currentItem()
        value = item.data(PATH_ROLE) if item is not None else None
        return Path(str(value)) if value else None

    def select(self, path: Path | None) -> None:
        item = self._item(path) if path is not None else self._whole
        if item is not None:
            self.list.setCurrentItem(item)

    # -- plumbing ------------------------------------------------------------------------------

    def _item(self, path: Path) -> QListWidgetItem | None:
        for row in range(1, self.list.count()):
            item = self.list.item(row)
            if item.data(PATH_ROLE) == str(path):
                return item
        return None

    def _refresh_path(self, path: Path) -> None:
        item = self._item(path)
        if item is not None:
            self._refresh(item)

    def _refresh(self, item: QListWidgetItem) -> None:
        path = Path(str(item.data(PATH_ROLE)))
        status = self.statuses[path]
        if status.offline:
            state = "offline"
        else:
            state = self.activity.get(path) or ("up to date" if not status.pending else "waiting")
        item.setText(f"{path.name or path}\n{status_line(status)}\n{state}")
        item.setToolTip(status_tooltip(status))

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(PATH_ROLE)
        self.browseRequested.emit(Path(str(value)) if value else None)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current_folder() is not None)
