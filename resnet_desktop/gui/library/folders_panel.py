"""The Library side list: the library's folders with their status, and the buttons to add, remove,
pause and resume. It only shows and asks; ``library_dock.LibraryDock`` does the work."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
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


def display_lines(text: str) -> list[str]:
    """An item's lines as the delegate gets them: Qt hands the text over with its new lines turned into
    U+2028 (line separators), which drawText would stack, centred, inside one line's height."""
    return text.replace("\u2028", "\n").split("\n")


class FolderDelegate(QStyledItemDelegate):
    """An item as three lines: the folder's name in bold, its numbers, what is happening (dimmed)."""

    PAD = 6

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        lines = max(1, str(index.data() or "").count("\n") + 1)
        return QSize(option.rect.width(), lines * option.fontMetrics.height() + 2 * self.PAD)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        lines = display_lines(opt.text)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText)
        painter.save()
        height = option.fontMetrics.height()
        rect = option.rect.adjusted(self.PAD + opt.decorationSize.width() + self.PAD, self.PAD, -self.PAD, 0)
        for number, line in enumerate(lines):
            font = QFont(option.font)
            font.setBold(number == 0)
            painter.setFont(font)
            painter.setPen(text if number < 2 else dim)
            row = QRect(rect.left(), rect.top() + number * height, rect.width(), height)
            elided = painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, row.width())
            painter.drawText(row, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()


class FoldersPanel(QWidget):
    """Folders, each with its numbers and what is happening to it; Add, Remove, Pause/Resume below."""

    #: a folder was activated (double-click, Enter): show it in the table
    folderRequested = Signal(Path)
    #: "Whole Library" was activated: show every library folder's photos
    wholeLibraryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.list.itemActivated.connect(self._activated)
        self.list.setMinimumWidth(150)
        self.list.setItemDelegate(FolderDelegate(self.list))
        self.list.setSpacing(1)
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
        #: folder -> (indexed, files) when its current pass began
        self._base: dict[Path, tuple[int, int]] = {}
        self._whole = QListWidgetItem(WHOLE_LIBRARY)
        self._whole.setToolTip("Every library folder's photos, each with its folder's model")
        self._whole.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon))
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

    def show_indexing(self, folder: Path, done: int, total: int) -> None:
        """A pass is classifying ``total`` pending photos: the numbers move with it (the pass's own
        status replaces them when it ends)."""
        status = self.statuses.get(folder)
        if status is None:
            return
        if done == 0:
            self._base[folder] = (status.indexed, status.files)
        indexed, files = self._base.get(folder, (status.indexed, status.files))
        live = replace(status, indexed=indexed + done, pending=max(0, total - done), files=max(files, indexed + total))
        self.statuses[folder] = live
        self.set_activity(folder, f"indexing {done} / {total}")

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
        icon = QStyle.StandardPixmap.SP_DriveNetIcon if status.offline else QStyle.StandardPixmap.SP_DirIcon
        item.setIcon(self.style().standardIcon(icon))

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(PATH_ROLE)
        if value:
            self.folderRequested.emit(Path(str(value)))
        else:
            self.wholeLibraryRequested.emit()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current_folder() is not None)
