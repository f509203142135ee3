"""The window's two organize actions (Tools menu) and when they are enabled.

"Organize into Folders…" works on the table's visible rows; "Undo Last Organize" on the journal the
last organize left (remembered in the settings, so it survives a restart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library.organize_dialog import LAST_JOURNAL_KEY, OrganizeDialog
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
    ) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.thumbnails = thumbnails
        self.rows = rows
        self.row_count = row_count
        self.dialog: OrganizeDialog | None = None
        self.undo_dialog: UndoDialog | None = None
        self.organize_action = QAction("&Organize into Folders…", window)
        self.organize_action.setShortcut(QKeySequence("Ctrl+Shift+G"))
        self.organize_action.setStatusTip("Copy, move or link the photos in the table into one folder per class")
        self.organize_action.triggered.connect(self.open_dialog)
        self.undo_action = QAction("&Undo Last Organize", window)
        self.undo_action.setStatusTip("Put every photo back where the last organize found it")
        self.undo_action.triggered.connect(self.undo_last)
        window.addAction(self.organize_action)
        window.addAction(self.undo_action)
        self.update()

    @property
    def actions(self) -> list[QAction]:
        return [self.organize_action, self.undo_action]

    def last_journal(self) -> Path | None:
        value = self.settings.value(LAST_JOURNAL_KEY, "")
        path = Path(str(value)) if value else None
        return path if path is not None and path.is_file() else None

    def update(self) -> None:
        """Enable Organize when the table has rows (cheap: called as rows stream in), Undo when there is a journal."""
        self.organize_action.setEnabled(self.row_count() > 0)
        self.undo_action.setEnabled(self.last_journal() is not None and self.undo_dialog is None)

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
        dialog = OrganizeDialog(rows, self.settings, self.thumbnails, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.organized.connect(lambda _journal: self.update())
        dialog.destroyed.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.show()
        return dialog

    def undo_last(self) -> UndoDialog | None:
        journal = self.last_journal()
        if journal is None or self.undo_dialog is not None:
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
        if complete and Path(str(self.settings.value(LAST_JOURNAL_KEY, ""))) == journal:
            self.settings.remove(LAST_JOURNAL_KEY)  # nothing left to undo
        self.update()

    def _forget_dialog(self, *_args: object) -> None:
        self.dialog = None

    def _forget_undo(self, *_args: object) -> None:
        self.undo_dialog = None
        self.update()

    def shutdown(self) -> None:
        for dialog in (self.dialog, self.undo_dialog):
            if dialog is not None:
                dialog.close()
