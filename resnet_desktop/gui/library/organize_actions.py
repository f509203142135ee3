"""The window's organize actions and when they are enabled.

Tools > "Organize into Folders…" works on the table's visible rows; the teach window hands a label
set's answers to ``organize_rows`` and to ``keyword_rows`` (Write Keywords…: XMP keywords only).
Edit > "Undo Last Organize" (Ctrl+Z) reverses the newest organize not yet undone, Edit > "Undo
Organize…" any past one, chosen from the history (``organize_history``: remembered in the settings,
so it survives a restart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library import organize_history as history
from resnet_desktop.gui.library.keywords_dialog import KeywordsDialog
from resnet_desktop.gui.library.organize_dialog import OrganizeDialog
from resnet_desktop.gui.library.organize_undo import UndoDialog

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Prediction


class OrganizeActions(QObject):
    def __init__(
        self,
        window: QWidget,
        settings: QSettings,
        thumbnails: ThumbnailLoader,
        rows: Callable[[], Sequence[Prediction]],
        row_count: Callable[[], int],
        allow: Callable[[Sequence[Prediction]], bool] = lambda _rows: True,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.thumbnails = thumbnails
        self.rows = rows
        self.row_count = row_count
        #: Says no (and why, in the window) to rows Organize must not sort together (two label sets).
        self.allow = allow
        self.dialog: OrganizeDialog | None = None
        self.keywords_dialog: KeywordsDialog | None = None
        self.undo_dialog: UndoDialog | None = None
        self.organize_action = QAction("&Organize into Folders…", window)
        self.organize_action.setShortcut(QKeySequence("Ctrl+Shift+G"))
        self.organize_action.setStatusTip("Copy, move or link the photos in the table into one folder per class")
        self.organize_action.triggered.connect(self.open_dialog)
        self.undo_action = QAction("&Undo Last Organize", window)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setStatusTip("Put every photo back where the last organize (not yet undone) found it")
        self.undo_action.triggered.connect(self.undo_last)
        self.history_action = QAction("Undo &Organize…", window)
        self.history_action.setStatusTip("Choose a past organize, newest first, and put its photos back")
        self.history_action.triggered.connect(self.open_history)
        for action in (self.organize_action, self.undo_action, self.history_action):
            window.addAction(action)
        self.history_dialog: history.UndoHistoryDialog | None = None
        self.update()

    @property
    def actions(self) -> list[QAction]:
        """For the Tools menu."""
        return [self.organize_action]

    @property
    def edit_actions(self) -> list[QAction]:
        """For the Edit menu."""
        return [self.undo_action, self.history_action]

    def last_journal(self) -> Path | None:
        return history.last_undoable(self.settings)

    def update(self) -> None:
        """Enable Organize when the table has rows (cheap: called as rows stream in), Undo when there is a journal."""
        self.organize_action.setEnabled(self.row_count() > 0)
        self.undo_action.setEnabled(self.last_journal() is not None and self.undo_dialog is None)
        self.history_action.setEnabled(self.undo_dialog is None)

    def open_dialog(self) -> OrganizeDialog | None:
        """Organize the table's visible rows."""
        return self.organize_rows(list(self.rows()))

    def organize_rows(self, rows: Sequence[Prediction]) -> OrganizeDialog | None:
        """The organize room for ``rows`` (the table's, or a label set's answers from the teach window)."""
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        rows = list(rows)
        if not any(row.ok for row in rows):
            return None  # error rows alone: nothing to sort (they are listed as left alone otherwise)
        if not self.allow(rows):
            return None
        dialog = OrganizeDialog(rows, self.settings, self.thumbnails, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.organized.connect(lambda _journal: self.update())
        dialog.destroyed.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.show()
        return dialog

    def keyword_rows(self, rows: Sequence[Prediction]) -> KeywordsDialog | None:
        """Write Keywords… for ``rows`` (a label set's answers from the teach window): undone like an organize."""
        if self.keywords_dialog is not None:
            self.keywords_dialog.raise_()
            self.keywords_dialog.activateWindow()
            return self.keywords_dialog
        rows = list(rows)
        if not any(row.ok for row in rows):
            return None
        dialog = KeywordsDialog(rows, self.settings, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.written.connect(lambda _journal: self.update())
        dialog.destroyed.connect(lambda *_a: setattr(self, "keywords_dialog", None))
        self.keywords_dialog = dialog
        dialog.show()
        return dialog

    def open_history(self) -> history.UndoHistoryDialog:
        """Edit > Undo Organize…: the past organizes, newest first; the chosen one is undone."""
        dialog = history.UndoHistoryDialog(self.settings, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self.undo)
        self.history_dialog = dialog
        dialog.destroyed.connect(lambda *_a: setattr(self, "history_dialog", None))
        dialog.show()
        return dialog

    def undo_last(self) -> UndoDialog | None:
        """Edit > Undo Last Organize (Ctrl+Z): the newest organize not yet undone."""
        journal = self.last_journal()
        return self.undo(journal) if journal is not None else None

    def undo(self, journal: Path) -> UndoDialog | None:
        if self.undo_dialog is not None:
            return None
        dialog = UndoDialog(journal, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.undone.connect(lambda outcome: self._after_undo(journal, outcome.finished and not outcome.problems))
        dialog.destroyed.connect(self._forget_undo)
        self.undo_dialog = dialog
        self.update()
        dialog.show()
        return dialog

    def _after_undo(self, journal: Path, complete: bool) -> None:
        if complete:
            history.mark_undone(self.settings, journal)  # Ctrl+Z moves on to the organize before it
        self.update()

    def _forget_dialog(self, *_args: object) -> None:
        self.dialog = None

    def _forget_undo(self, *_args: object) -> None:
        self.undo_dialog = None
        self.update()

    def shutdown(self) -> None:
        for dialog in (self.dialog, self.keywords_dialog, self.undo_dialog, self.history_dialog):
            if dialog is not None:
                dialog.close()
