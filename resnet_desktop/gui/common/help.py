"""Help: the keyboard shortcuts and the user guide, both generated, so neither can drift.

Help > Keyboard Shortcuts lists every action of the window's menus that has a shortcut, read from
the actions themselves (a new or changed shortcut shows up by itself). Help > User Guide (F1) opens
the README in an in-app viewer with its sections (its ``## `` headings) listed beside it: choosing
one scrolls to it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QListWidget,
    QMainWindow,
    QMenu,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.gui.common.screen_fit import fit_window
from resnet_desktop.resources import readme_file

HEADING = "## "


def plain(text: str) -> str:
    """Menu text as a person reads it: no mnemonic ampersand, no trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu path, action, shortcut) for every menu action with a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.isSeparator():
                continue
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} > {plain(sub.title())}")
            elif not action.shortcut().isEmpty():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                rows.append((path, plain(action.text()), keys))

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            walk(menu, plain(menu.title()))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.setWordWrap(False)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        # Every row without scrolling where the screen allows (fit_window caps it at the screen).
        header = self.table.horizontalHeader()
        width = header.length() + self.table.verticalScrollBar().sizeHint().width() + 48
        height = self.table.verticalHeader().length() + header.height() + buttons.sizeHint().height() + 48
        fit_window(self, QSize(width, height), window)

    def rows(self) -> list[tuple[str, str, str]]:
        """The table as the person reads it."""

        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1), text(r, 2)) for r in range(self.table.rowCount())]


def guide_sections(path: Path | None = None) -> list[str]:
    """The README's section titles (its ``## `` headings), in order; none when it is not there."""
    try:
        text = (path or readme_file()).read_text(encoding="utf-8")
    except OSError:
        return []
    return [line[len(HEADING) :].strip() for line in text.splitlines() if line.startswith(HEADING)]


class GuideWindow(QDialog):
    """The README, rendered, with its sections listed on the left (choosing one scrolls to it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ResNet Desktop — User Guide")
        path = readme_file()
        self.sections = QListWidget()
        self.sections.addItems(guide_sections(path))
        self.sections.currentTextChanged.connect(self.show_section)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(path.parent)])  # the screenshots next to it
        self.browser.setMarkdown(path.read_text(encoding="utf-8") if path.is_file() else f"{path} is missing.")
        split = QSplitter()
        split.addWidget(self.sections)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        fit_window(self, QSize(1000, 760), parent)

    def show_section(self, title: str) -> bool:
        """Scroll so the heading ``title`` is at the top; False when there is no such section."""
        block = self.browser.document().begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and block.text().strip() == title:
                cursor = QTextCursor(block)
                self.browser.setTextCursor(cursor)
                bar = self.browser.verticalScrollBar()
                bar.setValue(bar.value() + self.browser.cursorRect(cursor).top())
                return True
            block = block.next()
        return False

    def current_heading(self) -> str:
        """The heading at the top of the view (what the person sees first)."""
        cursor = self.browser.cursorForPosition(self.browser.viewport().rect().topLeft())
        block = cursor.block()
        while block.isValid() and not block.blockFormat().headingLevel():
            block = block.next()
        return block.text().strip() if block.isValid() else ""


class HelpActions:
    """Builds the Help menu's shortcuts and guide entries for ``window`` and opens what they show."""

    def __init__(self, window: QMainWindow, menu: QMenu | None = None) -> None:
        self.window = window
        self.guide: GuideWindow | None = None
        self.shortcuts_action = QAction("&Keyboard Shortcuts", window)
        self.shortcuts_action.setStatusTip("Every shortcut of the menus")
        self.shortcuts_action.triggered.connect(lambda _checked=False: self.show_shortcuts())
        self.guide_action = QAction("&User Guide", window)
        self.guide_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.guide_action.setStatusTip("The README, section by section")
        self.guide_action.triggered.connect(lambda _checked=False: self.show_guide())
        self.guide_action.setEnabled(readme_file().is_file())  # a build without its README: nothing to open
        window.addActions([self.guide_action, self.shortcuts_action])
        if menu is not None:
            self.fill(menu)

    def fill(self, menu: QMenu) -> None:
        menu.addActions([self.guide_action, self.shortcuts_action])
        menu.addSeparator()

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.window)
        dialog.show()
        return dialog

    def show_guide(self, section: str = "") -> GuideWindow:
        if self.guide is None:
            self.guide = GuideWindow(self.window)
            self.guide.finished.connect(lambda _result: setattr(self, "guide", None))
        self.guide.show()
        self.guide.raise_()
        if section:
            self.guide.show_section(section)
        return self.guide
