"""Tools > Organize into Folders…: options, a preview of the plan, then apply with progress and cancel.

Planning (it looks at the disk for taken names) and applying both run as background tasks
(``gui.common.tasks``); the preview is planned again whenever an option changes. Applying writes
the journal first, so a cancel, a crash or a full disk can always be finished or undone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import describe
from resnet_desktop.core.library import api as library
from resnet_desktop.core.library.api import OperationProgress, Outcome, Plan, make_plan
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.screen_fit import fit_window
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library import organize_history as history
from resnet_desktop.gui.library.organize_options import OptionsForm
from resnet_desktop.gui.library.organize_preview import PlanTree

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from resnet_desktop.core.inference.api import Prediction


class OrganizeDialog(QDialog):
    """Sort ``rows`` (the table's predictions) into class folders."""

    #: The journal of an organize that did something (finished, cancelled or stopped): undo can use it.
    organized = Signal(Outcome)

    def __init__(
        self,
        rows: Sequence[Prediction],
        settings: QSettings,
        thumbnails: ThumbnailLoader,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Organize into Folders")
        fit_window(self, QSize(900, 620), parent)  # never larger than the screen, on it
        self.rows = list(rows)
        self.settings = settings
        self.plan: Plan | None = None
        self.journal: Path | None = None
        self.outcome: Outcome | None = None
        self._planner = TaskRunner(self, name="organize plan")
        self._runner = TaskRunner(self, name="organize apply")
        self._applying = False
        self._returned = False

        self.options = OptionsForm(settings)
        self.options.changed.connect(self.schedule_plan)
        self.options.problem.connect(self._show_problem)
        self.tree = PlanTree(thumbnails)
        self.tree.itemChanged.connect(lambda *_: self._update_summary())
        self.summary = InlineStatus()
        self._planner.status = self._runner.status = self.summary  # failures are shown here
        self.progress = QProgressBar()
        self.progress.hide()
        self.buttons = QDialogButtonBox()
        self.apply_button = QPushButton("&Organize")
        self.apply_button.setDefault(True)
        self.stop_button = QPushButton("&Stop")
        self.stop_button.setToolTip("Stop after the current photo; what is done stays done and can be undone")
        self.stop_button.hide()
        self.close_button = QPushButton("&Close")
        self.buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.stop_button.hide()  # shown while applying (adding it to the box showed it)
        self.apply_button.clicked.connect(self.start_apply)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.options)
        layout.addWidget(QLabel("Preview: nothing is touched until you press Organize. Untick what to leave out."))
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.plan_now)
        self.plan_now()

    # -- planning ----------------------------------------------------------------------------

    def schedule_plan(self) -> None:
        if not self._applying:
            self._timer.start()

    def plan_now(self) -> None:
        dest = self.options.dest()
        self.apply_button.setEnabled(False)
        if dest is None:
            self.plan = None
            self.tree.show_plan(None, set(), set())
            self.summary.show_info("Choose the folder to sort into.")
            return
        options = self.options.options()
        rows = self.rows
        self._planner.invalidate()  # an older plan arriving late is dropped
        self.summary.show_busy("Planning")
        self._planner.submit(
            lambda _ctx: make_plan(rows, dest, options),
            name="plan",
            on_returned=self._show_plan,
            on_failed=lambda exc: self._show_problem(describe(exc)),
        )

    def _show_plan(self, plan: Plan) -> None:
        folders, files = self.tree.excluded() if self.plan is not None else (set(), set())
        self.plan = plan
        self.tree.show_plan(plan, folders, files)
        self._update_summary()

    def _update_summary(self) -> None:
        if self.plan is None or self._applying:
            return
        folders, files = self.tree.excluded()
        kept = [op for op in self.plan.photo_ops if op.folder not in folders and op.source not in files]
        n_folders = len({op.folder for op in kept})
        verb = self.plan.options.mode.value
        text = f"{verb.capitalize()} {len(kept)} photo{'s' if len(kept) != 1 else ''} into {n_folders} folder(s)"
        text += f" in {self.plan.dest}."
        if self.plan.sidecar_ops:
            text += " Keywords go into XMP sidecars."
        if self.plan.skipped:
            text += f" {len(self.plan.skipped)} left alone (see the end of the list)."
        self.summary.show_info(text)
        self.apply_button.setEnabled(bool(kept))

    def _show_problem(self, message: str) -> None:
        self.summary.show_info(message)

    # -- applying ----------------------------------------------------------------------------

    def start_apply(self) -> None:
        """Plan once more with the exclusions, write the journal, and apply it in the background."""
        dest = self.options.dest()
        if dest is None or self._applying:
            return
        folders, files = self.tree.excluded()
        options, rows, resume = self.options.options(), self.rows, self.journal

        def work(ctx: TaskContext) -> Generator[Path | OperationProgress, None, Outcome]:
            if resume is not None and self.outcome is not None and not self.outcome.finished:
                path = resume  # finish the one that was stopped
            else:
                plan = make_plan(rows, dest, options, exclude_folders=folders, exclude_files=files)
                path = library.begin(plan)
            yield path
            outcome = yield from library.apply(path, cancel=ctx.cancel)
            return outcome

        self._returned = False
        self._set_applying(True)
        self.progress.setRange(0, 0)
        self.summary.show_busy("Organizing")
        self._runner.stream(
            work,
            name="apply",
            on_yielded=self._on_step,
            on_returned=self._on_done,
            on_finished=self._on_finished,
        )

    def _on_step(self, item: Path | OperationProgress) -> None:
        if isinstance(item, Path):
            self.journal = item
            history.remember(self.settings, item)  # Edit > Undo Organize… lists it from now on
            return
        self.progress.setRange(0, item.total)
        self.progress.setValue(item.done)
        name = item.current.name if item.current else ""
        self.summary.show_info(f"{item.done} of {item.total} done, {item.failed} failed… {name}")

    def _on_done(self, outcome: Outcome) -> None:
        self._returned = True
        self.outcome = outcome
        lines = [f"Done: {outcome.done} of {outcome.total} operations, {len(outcome.problems)} failed."]
        if outcome.stopped:
            lines = [f"Stopped: {outcome.stopped}", f"{outcome.done} of {outcome.total} done; nothing was lost."]
        lines += [why for _path, why in outcome.problems[:10]]
        lines.append("Edit > Undo Last Organize (Ctrl+Z) reverses it.")
        self.summary.show_info("\n".join(lines))

    def _on_finished(self) -> None:
        self._set_applying(False)
        if not self._returned and self.journal is not None:  # stopped (a cancel ends without a return value)
            self.outcome = Outcome(self.journal, cancelled=True)
            self.summary.show_info("Stopped. What was done stays done: Organize again to finish, or undo it.")
        if self.journal is not None:
            self.organized.emit(self.journal)
        finished = self.outcome is not None and self.outcome.finished
        self.apply_button.setText("&Organize" if finished or self.journal is None else "&Resume")
        self.apply_button.setEnabled(not finished)

    def _set_applying(self, applying: bool) -> None:
        self._applying = applying
        self.options.setEnabled(not applying)
        self.tree.setEnabled(not applying)
        self.apply_button.setEnabled(not applying)
        self.stop_button.setVisible(applying)
        self.progress.setVisible(applying or self.progress.value() > 0)

    def stop(self) -> None:
        self._runner.cancel_all()
        self.summary.show_busy("Stopping after the current photo")

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def reject(self) -> None:
        """Esc: while applying it stops (after the current photo); otherwise it closes."""
        if self._applying:
            self.stop()
        else:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while applying stops after the current photo (the journal keeps it undoable)."""
        self._runner.shutdown()
        self._planner.shutdown()
        super().closeEvent(event)
