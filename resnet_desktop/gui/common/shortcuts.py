"""Keep the window's shortcuts working while a text field has focus.

A ``QLineEdit`` or spin box claims some key combinations for editing (on X11, Ctrl+E moves to the
end of the line) by accepting Qt's ``ShortcutOverride`` event, so the window's action never fires.
``keep_shortcuts`` hands the listed actions' keys back to the window for those widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget


class _ShortcutKeeper(QObject):
    def __init__(self, actions: Iterable[QAction], parent: QObject) -> None:
        super().__init__(parent)
        self._actions = list(actions)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination())
            for action in self._actions:
                if any(s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for s in action.shortcuts()):
                    event.ignore()  # not claimed by the field: the window's shortcut runs
                    return True
        return False


def keep_shortcuts(widgets: Iterable[QWidget], actions: Iterable[QAction]) -> None:
    """Let ``actions``' shortcuts reach the window while any of ``widgets`` (or their children) has focus."""
    actions = list(actions)
    for widget in widgets:
        keeper = _ShortcutKeeper(actions, widget)
        widget.installEventFilter(keeper)
        for child in widget.findChildren(QWidget):  # a spin box's line edit gets the key events
            child.installEventFilter(keeper)


#: A key sequence as text ("Ctrl+E") or one of Qt's standard keys (QKeySequence.StandardKey.Open).
Shortcut = QKeySequence.StandardKey | str


def add_action(
    window: QWidget, text: str, slot: Callable[[], object], shortcut: Shortcut | None = None, tip: str = ""
) -> QAction:
    """A window action: its shortcut, status tip, and ``slot()`` (called without the ``checked`` flag)."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action
