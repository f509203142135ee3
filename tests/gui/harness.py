"""Drive the app as a person does: the real QActions, shortcuts pressed on the focused widget, real
buttons, drops, and file dialogs answered at ``QFileDialog``'s / ``QMessageBox``'s static calls (the
only thing mocked: the edge where a native dialog would wait for a person).

``Dialogs`` answers those calls from queues (an unanswered dialog is cancelled, as a person closing it
would) and records every call, so a test can assert which dialog an action opened. ``Person`` wraps a
window: ``trigger("Export Results")`` finds the action by its menu text and fails if it is disabled,
``press("Ctrl+E")`` sends the key to whatever has focus, ``problems()`` lists every "Unexpected error"
the app showed or raised.
"""

from __future__ import annotations

import sys
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

JOB_TIMEOUT_MS = 120_000
UNEXPECTED = "Unexpected error"


def plain(text: str) -> str:
    """Menu text as a person reads it: no mnemonic ampersand, no trailing ellipsis."""
    return text.replace("&", "").replace("…", "").replace("...", "").strip()


class Dialogs:
    """Answers the static file-dialog and message-box calls; records each one as (kind, title)."""

    def __init__(self, monkeypatch: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        self.texts: list[str] = []
        #: Where each file dialog opened (its ``dir`` argument: a folder, or a suggested file in one).
        self.starts: list[str] = []
        self._answers: dict[str, deque[Any]] = defaultdict(deque)
        for kind in ("getOpenFileNames", "getOpenFileName", "getExistingDirectory", "getSaveFileName"):
            monkeypatch.setattr(QFileDialog, kind, staticmethod(self._file_call(kind)))
        for kind in ("question", "warning", "information", "critical", "about"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(self._box_call(kind)))
        monkeypatch.setattr(QInputDialog, "getText", staticmethod(self._edge_call("getText", ("", False))))
        monkeypatch.setattr(QColorDialog, "getColor", staticmethod(self._edge_call("getColor", QColor())))

    # -- queue answers ---------------------------------------------------------------------------

    def open_files(self, paths: list[Path]) -> None:
        self._answers["getOpenFileNames"].append(([str(p) for p in paths], ""))

    def open_file(self, path: Path) -> None:
        self._answers["getOpenFileName"].append((str(path), ""))

    def folder(self, path: Path) -> None:
        self._answers["getExistingDirectory"].append(str(path))

    def save(self, path: Path, name_filter: str = "") -> None:
        self._answers["getSaveFileName"].append((str(path), name_filter))

    def text(self, answer: str) -> None:
        """What a person types into the next ``QInputDialog.getText`` before pressing OK."""
        self._answers["getText"].append((answer, True))

    def colour(self, colour: str) -> None:
        """The colour a person picks in the next ``QColorDialog.getColor``."""
        self._answers["getColor"].append(QColor(colour))

    def answer(self, button: QMessageBox.StandardButton) -> None:
        """The button a person presses in the next ``QMessageBox.question``."""
        self._answers["question"].append(button)

    def kinds(self) -> list[str]:
        return [kind for kind, _title in self.calls]

    # -- the patched calls -----------------------------------------------------------------------

    @staticmethod
    def _title(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        if len(args) > 1:
            return str(args[1])
        return str(kwargs.get("caption", kwargs.get("title", "")))

    def _file_call(self, kind: str) -> Callable[..., Any]:
        cancelled: Any = "" if kind == "getExistingDirectory" else ([] if kind == "getOpenFileNames" else "", "")

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((kind, self._title(args, kwargs)))
            self.starts.append(str(args[2]) if len(args) > 2 else str(kwargs.get("dir", "")))
            queue = self._answers[kind]
            return queue.popleft() if queue else cancelled

        return call

    def _edge_call(self, kind: str, cancelled: Any) -> Callable[..., Any]:
        """A dialog whose answer is queued (``text``, ``colour``); unanswered, it is cancelled."""

        def call(*args: Any, **kwargs: Any) -> Any:
            title = str(args[2]) if kind == "getColor" and len(args) > 2 else self._title(args, kwargs)
            self.calls.append((kind, title))
            queue = self._answers[kind]
            return queue.popleft() if queue else cancelled

        return call

    def _box_call(self, kind: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((kind, self._title(args, kwargs)))
            self.texts.append(str(args[2]) if len(args) > 2 else str(kwargs.get("text", "")))
            if kind == "question":
                queue = self._answers[kind]
                if queue:
                    return queue.popleft()
                return QMessageBox.StandardButton.No  # closing the box is never "yes"
            return None if kind == "about" else QMessageBox.StandardButton.Ok

        return call


class Person:
    """One person at one window."""

    def __init__(self, qtbot: Any, window: Any, dialogs: Dialogs) -> None:
        self.qtbot = qtbot
        self.window = window
        self.dialogs = dialogs
        self.hook_errors: list[BaseException] = []

    # -- finding things ----------------------------------------------------------------------------

    def actions(self) -> list[QAction]:
        """Every action a person can reach in the window's menus (sub-menus included), once each."""
        seen: dict[int, QAction] = {}

        def walk(actions: list[QAction]) -> None:
            for action in actions:
                if action.isSeparator():
                    continue
                menu = action.menu()
                if menu is not None:
                    walk(menu.actions())
                    continue
                seen.setdefault(id(action), action)

        walk(self.window.menuBar().actions())
        return list(seen.values())

    def action(self, text: str) -> QAction:
        wanted = plain(text)
        for action in self.window.findChildren(QAction):
            if plain(action.text()) == wanted:
                return action
        raise AssertionError(f"no action {text!r}; have {sorted(plain(a.text()) for a in self.actions())}")

    def button(self, text: str, parent: QWidget | None = None) -> QAbstractButton:
        root = parent or self.window
        for button in root.findChildren(QAbstractButton):
            if plain(button.text()) == plain(text) and button.isVisible():
                return button
        raise AssertionError(f"no visible button {text!r}")

    # -- doing things ------------------------------------------------------------------------------

    def trigger(self, text: str) -> QAction:
        """Choose a menu item: it must be enabled, then it is triggered as Qt does (``triggered(bool)``)."""
        action = self.action(text)
        assert action.isEnabled(), f"{plain(text)!r} is disabled"
        action.trigger()
        return action

    def press(self, keys: str, widget: QWidget | None = None) -> None:
        """Press a shortcut (``"Ctrl+E"``) on ``widget`` or on whatever has keyboard focus."""
        if not self.window.isActiveWindow():  # window shortcuts only fire in the active window
            self.window.activateWindow()
            self.qtbot.waitUntil(self.window.isActiveWindow, timeout=5000)
        target = widget or QApplication.focusWidget() or self.window
        sequence = QKeySequence(keys)
        combo = sequence[0]
        QTest.keyClick(target, combo.key(), combo.keyboardModifiers())

    def click(self, button: QAbstractButton) -> None:
        assert button.isEnabled(), f"button {button.text()!r} is disabled"
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def focus(self, widget: QWidget) -> None:
        self.window.activateWindow()
        widget.setFocus(Qt.FocusReason.MouseFocusReason)
        self.qtbot.waitUntil(widget.hasFocus, timeout=5000)

    def drop(self, paths: list[Path]) -> None:
        drop(self.window, paths)

    def select(self, combo: QComboBox, data: object) -> None:
        """Pick the item holding ``data`` with the arrow keys, as a person does (emits ``activated``)."""
        select(combo, data)

    def wait_idle(self, timeout: int = JOB_TIMEOUT_MS) -> None:
        self.qtbot.waitUntil(lambda: not self.window.service.busy, timeout=timeout)

    def wait_model(self, timeout: int = JOB_TIMEOUT_MS) -> None:
        self.qtbot.waitUntil(lambda: self.window.model_info is not None, timeout=timeout)

    # -- what the person sees ---------------------------------------------------------------------

    def status_text(self) -> str:
        return str(self.window.status.message.text())

    def banner_text(self) -> str:
        banner = self.window.banner
        if not banner.isVisible():
            return ""
        return f"{banner.title.text()}\n{banner.text.text()}"

    def problems(self) -> list[str]:
        """Every unexpected error the person would have seen: banner, message box, or excepthook."""
        found = [f"excepthook: {type(e).__name__}: {e}" for e in self.hook_errors]
        found += [f"message box {title!r}" for _kind, title in self.dialogs.calls if UNEXPECTED in title]
        if UNEXPECTED in self.banner_text() or UNEXPECTED in self.status_text():
            found.append(f"banner/status: {self.banner_text() or self.status_text()}")
        return found


def drop(window: QWidget, paths: list[Path]) -> None:
    """Drag ``paths`` onto ``window`` and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPointF(window.rect().center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window must accept dragged files"
    event = QDropEvent(centre, *args)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def select(combo: QComboBox, data: object) -> None:
    """Open the combo box's list and click the item holding ``data`` (emits ``activated`` once)."""
    target = combo.findData(data)
    assert target >= 0, f"{data!r} is not offered; have {[combo.itemData(i) for i in range(combo.count())]}"
    combo.showPopup()
    view = combo.view()
    rect = view.visualRect(combo.model().index(target, combo.modelColumn()))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert combo.currentIndex() == target or not view.isVisible(), f"clicking {data!r} did not select it"


@contextmanager
def excepthook_spy(person: Person) -> Iterator[list[BaseException]]:
    """Record exceptions that reach ``sys.excepthook`` (pytest-qt also fails a test on them)."""
    previous = sys.excepthook

    def spy(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        person.hook_errors.append(value)
        previous(kind, value, tb)

    sys.excepthook = spy
    try:
        yield person.hook_errors
    finally:
        sys.excepthook = previous
