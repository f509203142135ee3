"""The window's library folders: the Library side list (a dock), background indexing in its own
process, its progress in the status bar, pause/resume, rules, and showing a folder in the table.

The work is ``core.library.api``'s: the folder list and statuses (on a worker thread: a status walks
the folder), ``library watch`` for indexing (``indexer.BackgroundIndexer``), ``browse_library`` for the
table. The app's active model is recorded as the default for folders added without one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QProgressBar, QStatusBar

from resnet_desktop.core.library.api import (
    FolderStatus,
    LibraryView,
    Outcome,
    add_folder,
    browse_library,
    folder_statuses,
    get_folder,
    last_rule_journal,
    remove_folder,
    set_default_model,
    set_folder_model,
    set_folder_rules,
    undo,
)
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.tasks import TaskRunner
from resnet_desktop.gui.library.folders_panel import FoldersPanel
from resnet_desktop.gui.library.indexer import BackgroundIndexer
from resnet_desktop.gui.library.rules_dialog import RulesDialog

PHASES = {"scanning": "looking", "indexing": "indexing", "dates": "reading dates", "rules": "running rules"}


class LibraryDock(QObject):
    def __init__(
        self,
        window: QMainWindow,
        status_bar: QStatusBar,
        current_ref: Callable[[], ModelRef | None],
        show_view: Callable[[LibraryView], object],
        *,
        priority: str = "low",
    ) -> None:
        super().__init__(window)
        self.window = window
        self.current_ref = current_ref
        self.show_view = show_view
        self.panel = FoldersPanel()
        self.dock = QDockWidget("Library", window)
        self.dock.setObjectName("libraryDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.hide()  # shown once the library has folders (or from View): no room taken before
        self.runner = TaskRunner(self, max_threads=1, name="library folders", status=self.panel.status)
        self.indexer = BackgroundIndexer(self, priority=priority)
        # the status bar: what background indexing is doing, while it does something
        self.status_label = QLabel()
        self.status_label.setObjectName("libraryStatus")
        self.status_progress = QProgressBar()
        self.status_progress.setMaximumWidth(160)
        self.status_progress.setTextVisible(False)
        status_bar.addPermanentWidget(self.status_label)
        status_bar.addPermanentWidget(self.status_progress)
        self._show_in_status("")

        self.add_action = self._action("Add Library &Folder…", lambda: self.add())
        self.pause_action = self._action(
            "&Pause Library Indexing", lambda: self.set_paused(self.pause_action.isChecked())
        )
        self.pause_action.setCheckable(True)
        self.browse_action = self._action("Show in &Table", lambda: self.browse(self.panel.current_folder()))
        self.rules_action = self._action("&Rules…", lambda: self.edit_rules())
        self.model_action = self._action("Index with the &Current Model", lambda: self.use_current_model())
        self.undo_action = self._action("&Undo Last Rule Run", lambda: self.undo_rules())
        self.remove_action = self._action("&Remove from Library", lambda: self.remove())
        self.panel.add_actions(
            [self.browse_action, self.rules_action, self.model_action, self.undo_action, self.remove_action]
        )
        self.panel.add_button.clicked.connect(lambda: self.add())
        self.panel.remove_button.clicked.connect(lambda: self.remove())
        self.panel.pause_button.toggled.connect(self.set_paused)
        self.panel.folderRequested.connect(self.browse)
        self.panel.wholeLibraryRequested.connect(lambda: self.browse(None))
        self.indexer.stateChanged.connect(self._on_state)
        self.indexer.progressed.connect(self._on_progress)
        self.indexer.synced.connect(self._on_synced)
        self.indexer.noticed.connect(self.panel.status.show_info)
        self.indexer.ended.connect(self._on_ended)

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.window)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    @property
    def menu_actions(self) -> list[QAction]:
        """File menu: add a folder, pause/resume background indexing."""
        return [self.add_action, self.pause_action]

    @property
    def view_action(self) -> QAction:
        """View menu: show or hide the Library side list."""
        action = self.dock.toggleViewAction()
        action.setText("&Library Folders")
        return action

    # -- start, stop ---------------------------------------------------------------------------

    def start(self) -> None:
        """Show every folder's status and start indexing in the background when there are folders."""
        self.refresh(start_indexing=True)

    def refresh(self, *, start_indexing: bool = False) -> None:
        def shown(statuses: list[FolderStatus]) -> None:
            self.panel.set_folders(statuses)
            if statuses and start_indexing:
                self.dock.show()
                self.indexer.start()

        self.runner.submit(lambda ctx: folder_statuses(cancel=ctx.cancel), name="library status", on_returned=shown)

    def shutdown(self) -> None:
        """Stop background indexing (killed if it does not end at once: every batch is committed)."""
        self.indexer.stop()
        self.runner.shutdown(timeout_s=0.5)

    def model_ready(self, ref: ModelRef) -> None:
        """The app's active model: the default of folders added without one (CLI ``library add`` too)."""
        self.runner.submit(lambda _ctx: set_default_model(ref), name="default model")

    # -- the person's actions ------------------------------------------------------------------

    def add(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Add a Folder to the Library")
            if not chosen:
                return
            folder = Path(chosen)
        ref = self.current_ref()
        added = folder
        self.panel.status.show_busy(f"Adding {folder}")

        def done(_result: object) -> None:
            self.panel.status.show_info(f"Added {added}; it is indexed in the background.")
            self.refresh(start_indexing=True)

        self.runner.submit(lambda _ctx: add_folder(added, ref), name="add folder", on_returned=done)

    def remove(self, folder: Path | None = None) -> None:
        folder = folder or self.panel.current_folder()
        if folder is None:
            return
        chosen = folder

        def done(_result: object) -> None:
            self.panel.status.show_info(f"Removed {chosen} from the library (its photos were not touched).")
            self.refresh()

        self.runner.submit(lambda _ctx: remove_folder(chosen), name="remove folder", on_returned=done)

    def set_paused(self, paused: bool) -> None:
        for toggle in (self.pause_action, self.panel.pause_button):
            toggle.blockSignals(True)
            toggle.setChecked(paused)
            toggle.blockSignals(False)
        self.panel.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.indexer.pause()
        else:
            self.indexer.resume()
            if not self.indexer.running and self.panel.statuses:
                self.indexer.start()
        self._show_in_status("Library indexing paused" if paused else "")

    def use_current_model(self) -> None:
        folder, ref = self.panel.current_folder(), self.current_ref()
        if folder is None or ref is None:
            return
        chosen = folder
        self.runner.submit(
            lambda _ctx: set_folder_model(chosen, ref),
            name="folder model",
            on_returned=lambda f: self.panel.status.show_info(f"{f.path} is indexed with {f.model} from now on."),
        )

    def edit_rules(self) -> None:
        folder = self.panel.current_folder()
        if folder is None:
            return
        dialog = RulesDialog(folder, get_folder(folder).rules, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        rules = dialog.rules
        self.runner.submit(
            lambda _ctx: set_folder_rules(folder, rules),
            name="folder rules",
            on_returned=lambda f: self.panel.status.show_info(f"{f.path}: {f.rules.describe()}"),
        )

    def undo_rules(self) -> None:
        folder = self.panel.current_folder()
        if folder is None:
            return
        chosen = folder

        def undone(outcome: Outcome) -> None:
            refused = f"; {len(outcome.problems)} refused" if outcome.problems else ""
            self.panel.status.show_info(f"Undid {outcome.done} of {outcome.total} rule operation(s){refused}.")

        self.runner.stream(
            lambda ctx: undo(last_rule_journal(chosen), cancel=ctx.cancel), name="undo rules", on_returned=undone
        )

    def browse(self, folder: Path | None) -> None:
        """Show one library folder (None: the whole library) in the table, newest photo first."""
        chosen = [folder] if folder is not None else None
        where = str(folder) if folder is not None else "the whole library"
        self.panel.status.show_busy(f"Opening {where}")

        def shown(view: LibraryView) -> None:
            self.panel.status.show_info(f"{len(view.rows)} photos of {where} in the table.")
            self.show_view(view)

        self.runner.submit(lambda _ctx: browse_library(chosen), name="browse library", on_returned=shown)

    # -- what background indexing says ------------------------------------------------------

    def _on_state(self, state: str, folder: str) -> None:
        if state == "paused":
            self._show_in_status("Library indexing paused")
        elif state in ("watching", "stopped"):
            for path in list(self.panel.activity):
                self.panel.set_activity(path, "")
            self._show_in_status("")

    def _on_progress(self, folder: str, phase: str, done: int, total: int) -> None:
        path = Path(folder)
        if phase == "indexing" and total > 0:
            text = f"indexing {done} / {total}"
            self.status_progress.setRange(0, total)
            self.status_progress.setValue(done)
            self.panel.show_indexing(path, done, total)
        else:
            text = PHASES.get(phase, phase)
            self.status_progress.setRange(0, 0)
            self.panel.set_activity(path, text)
        self._show_in_status(f"Library: {path.name or path} {text}")

    def _on_synced(self, status: FolderStatus) -> None:
        self.panel.update_status(status)
        self.panel.set_activity(status.path, "")

    def _on_ended(self, why: str) -> None:
        self._show_in_status("")
        if why:
            self.panel.status.show_error(f"Background indexing stopped: {why}")

    def _show_in_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))
        self.status_progress.setVisible(bool(text) and "paused" not in text)
