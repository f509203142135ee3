"""The history of organizes: every journal an organize wrote (newest first), which of them are fully
undone, and Edit > Undo Organize…, the list a person picks one from.

Only "Undo Last Organize" existed: a second organize made the first one impossible to undo from the
app. The history lives in the settings (journal paths; the journals themselves stay next to the
photos), so it survives a restart.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from resnet_desktop.core.errors import ResNetDesktopError, describe
from resnet_desktop.core.library.api import journal_summary

JOURNALS_KEY = "organize/journals"
UNDONE_KEY = "organize/undone"
#: The one journal the app remembered before there was a history (read once, then kept in the list).
LAST_JOURNAL_KEY = "organize/last_journal"
KEEP = 30
JOURNAL_ROLE = Qt.ItemDataRole.UserRole + 1


def _paths(settings: QSettings, key: str) -> list[str]:
    value = settings.value(key, [])
    if isinstance(value, str):  # QSettings gives a bare string for a one-element list
        value = [value]
    return [str(v) for v in value or []] if isinstance(value, (list, tuple)) else []


def journals(settings: QSettings) -> list[Path]:
    """Every remembered journal that still exists, newest first."""
    listed = _paths(settings, JOURNALS_KEY)
    older = str(settings.value(LAST_JOURNAL_KEY, "") or "")
    if older and older not in listed:
        listed.append(older)
    return [Path(p) for p in listed if Path(p).is_file()]


def remember(settings: QSettings, journal: Path) -> None:
    """A new organize wrote ``journal``: it goes first."""
    text = str(journal)
    settings.setValue(JOURNALS_KEY, [text, *(p for p in _paths(settings, JOURNALS_KEY) if p != text)][:KEEP])
    settings.setValue(LAST_JOURNAL_KEY, text)


def mark_undone(settings: QSettings, journal: Path) -> None:
    """Everything ``journal`` did was put back: Undo Last Organize moves on to the one before."""
    undone = _paths(settings, UNDONE_KEY)
    if str(journal) not in undone:
        settings.setValue(UNDONE_KEY, [str(journal), *undone][:KEEP])


def last_undoable(settings: QSettings) -> Path | None:
    """The newest journal not fully undone (cheap: no journal is read)."""
    undone = set(_paths(settings, UNDONE_KEY))
    return next((j for j in journals(settings) if str(j) not in undone), None)


class UndoHistoryDialog(QDialog):
    """Edit > Undo Organize…: past organizes, newest first; Undo reverses the chosen one."""

    chosen = Signal(Path)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Undo Organize")
        self.resize(720, 360)
        self.list = QListWidget()
        undone = set(_paths(settings, UNDONE_KEY))
        for journal in journals(settings):
            try:
                text = journal_summary(journal).describe()
                if str(journal) in undone and "(undone)" not in text:
                    text += " (undone)"
            except ResNetDesktopError as exc:
                text = f"{journal.name}: {describe(exc)}"
            item = QListWidgetItem(text)
            item.setData(JOURNAL_ROLE, str(journal))
            item.setToolTip(str(journal))
            if text.endswith("(undone)"):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)  # nothing left to put back
            self.list.addItem(item)
        self.empty = QLabel("No organize to undo yet: Tools > Organize into Folders… sorts the table's photos.")
        self.empty.setVisible(self.list.count() == 0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.undo_button = self.buttons.addButton("&Undo", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._undo)
        self.buttons.rejected.connect(self.reject)
        self.list.currentItemChanged.connect(self._update)
        self.list.itemDoubleClicked.connect(lambda _item: self._undo())
        first = next((self.list.item(i) for i in range(self.list.count()) if self.list.item(i).isSelected() or
                      self.list.item(i).flags() & Qt.ItemFlag.ItemIsEnabled), None)  # fmt: skip
        if first is not None:
            self.list.setCurrentItem(first)
        self._update()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Past organizes, newest first. Undo puts the chosen one's photos back."))
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.buttons)

    def entries(self) -> list[str]:
        """The lines as shown, top to bottom."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _update(self, *_args: object) -> None:
        item = self.list.currentItem()
        self.undo_button.setEnabled(item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsEnabled))

    def _undo(self) -> None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return
        self.chosen.emit(Path(str(item.data(JOURNAL_ROLE))))
        self.accept()
