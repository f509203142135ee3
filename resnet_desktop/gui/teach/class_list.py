"""The class list beside the grid: the active set's classes with their keys, colours and counts.

Each row reads "1  receipts" over "12 labeled · 340 predicted", with a swatch of the class colour.
Above the list: the held-out accuracy. Below: New / Rename / Colour / Delete. Photos dragged from the
grid onto a row are labeled with that class. The room owns the store: the panel only says what the
person asked for (its signals) and shows what it is told (``show_classes``, ``show_accuracy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QGridLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.teach.api import ClassInfo, FitReport
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.text import plural
from resnet_desktop.gui.teach.badges import class_colour

#: Keys 1-9 then 0 label with the first ten classes.
HOTKEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0")
NAME_ROLE = Qt.ItemDataRole.UserRole


def hotkey(position: int) -> str | None:
    return HOTKEYS[position] if 0 <= position < len(HOTKEYS) else None


def row_text(info: ClassInfo, predicted: int | None) -> str:
    key = hotkey(info.position)
    head = f"{key}  {info.name}" if key else f"    {info.name}"
    counts = f"{info.labeled} labeled" + (f" · {predicted} predicted" if predicted is not None else "")
    return f"{head}\n      {counts}"


def accuracy_text(report: FitReport | None) -> str:
    if report is None:
        return "Held-out accuracy: not measured yet (label photos in at least 2 classes)."
    if report.held_out_accuracy is None:
        learned = plural(report.trained_on, "photo")
        return f"Held-out accuracy: not measured yet (learned from {learned}; none held out)."
    return f"Held-out accuracy: {report.held_out_accuracy:.0%} on {plural(report.held_out, 'labeled photo')}"


class ClassListWidget(QListWidget):
    """The list itself: a drop target for photos (file URLs) dragged from the grid."""

    dropped = Signal(list, str)  # paths, class name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setIconSize(QSize(14, 14))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys belong to the grid

    def _target(self, event: QDragMoveEvent | QDropEvent) -> str | None:
        if not event.mimeData().hasUrls():
            return None
        item = self.itemAt(event.position().toPoint())
        return str(item.data(NAME_ROLE)) if item is not None else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        item = self.itemAt(event.position().toPoint()) if event.mimeData().hasUrls() else None
        if item is None:
            event.ignore()
            return
        self.setCurrentItem(item)
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        name = self._target(event)
        if name is None:
            event.ignore()
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        if paths:
            self.dropped.emit(paths, name)


class ClassListPanel(QWidget):
    """The side panel; its signals carry what the person asked for."""

    labelRequested = Signal(list, str)  # paths (dropped), class name
    addRequested = Signal(str)
    renameRequested = Signal(str, str)
    recolourRequested = Signal(str, str)
    deleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accuracy = InlineStatus(accuracy_text(None))
        font = self.accuracy.font()
        font.setBold(True)
        self.accuracy.setFont(font)
        self.list = ClassListWidget()
        self.list.dropped.connect(self.labelRequested)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename())
        self.hint = InlineStatus(
            "Keys 1-9 and 0 label the selected photos; type a class's first letters to pick any; "
            "Backspace clears. Or drag photos onto a class."
        )
        self.new_button = QPushButton("New Class…")
        self.rename_button = QPushButton("Rename…")
        self.colour_button = QPushButton("Colour…")
        self.delete_button = QPushButton("Delete…")
        self.new_button.clicked.connect(self.new_class)
        self.rename_button.clicked.connect(self.rename)
        self.colour_button.clicked.connect(self.recolour)
        self.delete_button.clicked.connect(self.delete)
        for button in (self.new_button, self.rename_button, self.colour_button, self.delete_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking one leaves the keys with the grid
        buttons = QGridLayout()  # two by two: the panel stays narrow enough for a 1366-pixel screen
        buttons.setContentsMargins(0, 0, 0, 0)
        for i, button in enumerate((self.new_button, self.rename_button, self.colour_button, self.delete_button)):
            buttons.addWidget(button, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.accuracy)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        self.classes: tuple[ClassInfo, ...] = ()
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    # -- showing ---------------------------------------------------------------------------------

    def show_classes(self, classes: Sequence[ClassInfo], predicted: Mapping[str, int] | None = None) -> None:
        """The set's classes in hotkey order, with "N labeled · M predicted" (predicted: unlabeled photos)."""
        current, current_row = self.current_class(), self.list.currentRow()
        self.classes = tuple(sorted(classes, key=lambda c: c.position))
        names = [c.name for c in self.classes]
        if current not in names and 0 <= current_row < len(names):
            current = names[current_row]  # renamed: the same row stays chosen
        self.list.clear()
        for info in self.classes:
            item = QListWidgetItem(row_text(info, predicted.get(info.name, 0) if predicted is not None else None))
            item.setData(NAME_ROLE, info.name)
            item.setIcon(swatch(class_colour(info)))
            item.setToolTip(f"{info.name}: {plural(info.labeled, 'photo')} labeled by you")
            self.list.addItem(item)
            if info.name == current:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def show_accuracy(self, report: FitReport | None) -> None:
        self.accuracy.show_info(accuracy_text(report))

    def row_texts(self) -> list[str]:
        """What the list reads, row by row (tests and the screen reader)."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def current_class(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(NAME_ROLE)) if item is not None else None

    def class_on_key(self, key: str) -> ClassInfo | None:
        return next((c for c in self.classes if hotkey(c.position) == key), None)

    def _update_buttons(self) -> None:
        chosen = self.current_class() is not None
        for button in (self.rename_button, self.colour_button, self.delete_button):
            button.setEnabled(chosen)

    # -- asking ----------------------------------------------------------------------------------

    def new_class(self) -> None:
        name, ok = QInputDialog.getText(self, "New Class", "Name of the new class:")
        if ok and name.strip():
            self.addRequested.emit(name.strip())

    def rename(self) -> None:
        name = self.current_class()
        if name is None:
            return
        new, ok = QInputDialog.getText(self, "Rename Class", f"New name for {name!r}:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.renameRequested.emit(name, new.strip())

    def recolour(self) -> None:
        name = self.current_class()
        info = next((c for c in self.classes if c.name == name), None)
        if name is None or info is None:
            return
        colour = QColorDialog.getColor(QColor(class_colour(info)), self, f"Colour of {name}")
        if colour.isValid():
            self.recolourRequested.emit(name, colour.name())

    def delete(self) -> None:
        name = self.current_class()
        info = next((c for c in self.classes if c.name == name), None)
        if name is None or info is None:
            return
        labels = f" and its {plural(info.labeled, 'label')}" if info.labeled else ""
        answer = QMessageBox.question(
            self,
            "Delete Class",
            f"Delete the class {name!r}{labels}? The photos themselves are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(name)


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
