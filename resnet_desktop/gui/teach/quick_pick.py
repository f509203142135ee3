"""Quick-pick: type a class's first letters in the grid, Enter labels the selection with it.

For classes past the tenth (no digit key) or when a name is quicker to type than to find. The first
letter typed in the grid opens this field with it; each letter narrows the match (name start first,
then anywhere in the name, case-insensitive); Enter labels, Esc closes without labeling.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

_OWN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Backspace)


def match(typed: str, names: Sequence[str]) -> str | None:
    """The class ``typed`` picks: the first whose name starts with it, else the first containing it."""
    text = typed.strip().casefold()
    if not text:
        return None
    starts = [n for n in names if n.casefold().startswith(text)]
    if starts:
        return starts[0]
    return next((n for n in names if text in n.casefold()), None)


class QuickPick(QLineEdit):
    """Hidden until the person types in the grid; says which class Enter would label with."""

    picked = Signal(str)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: tuple[str, ...] = ()
        self.setPlaceholderText("Type a class name…")
        self.setClearButtonEnabled(False)
        self.textChanged.connect(self._on_text)
        self.hide()

    @property
    def choice(self) -> str | None:
        return match(self.text(), self.names)

    def start(self, names: Sequence[str], first: str) -> None:
        self.names = tuple(names)
        self.show()
        self.setText(first)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_text(self, _text: str) -> None:
        choice = self.choice
        if not self.text():
            self.setToolTip("")
        elif choice is None:
            self.setToolTip(f"No class matches {self.text()!r}")
        else:
            self.setToolTip(f"Enter labels the selected photos as {choice}")

    def event(self, event: QEvent) -> bool:
        # While it is open the field owns Enter, Esc, Backspace and the letters and digits, which
        # are also the room's shortcuts (accept, label with class N, clear).
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() in _OWN_KEYS or (event.text().isprintable() and event.text()):
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            choice = self.choice
            self.finish()
            if choice is not None:
                self.picked.emit(choice)
            return
        if key == Qt.Key.Key_Escape:
            self.finish()
            return
        super().keyPressEvent(event)

    def finish(self) -> None:
        self.hide()
        self.clear()
        self.closed.emit()
