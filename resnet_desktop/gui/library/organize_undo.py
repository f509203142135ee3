"""Edit > Undo Last Organize / Undo Organize…: reverse one organize in the background, list what was refused."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library.api import OperationProgress, Outcome, undo
from resnet_desktop.gui.common.inline_status import InlineStatus, StatusKind
from resnet_desktop.gui.common.tasks import TaskRunner


class UndoDialog(QDialog):
    """Starts undoing ``journal`` as soon as it is shown; Stop ends after the current file."""

    #: The undo reached the end (refusals included): ``Outcome``.
    undone = Signal(Outcome)

    def __init__(self, journal: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Undo Organize")
        self.resize(640, 150)
        self.journal = journal
        self.outcome: Outcome | None = None
        self.summary = InlineStatus()
        self.summary.show_busy(f"Undoing the organize recorded in {journal}")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.refused = QListWidget()
        self.refused.hide()
        self.buttons = QDialogButtonBox()
        self.stop_button = QPushButton("&Stop")
        self.close_button = QPushButton("&Close")
        self.close_button.setEnabled(False)
        self.buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.refused, 1)
        layout.addStretch(0)
        layout.addWidget(self.buttons)
        self._runner = TaskRunner(self, name="organize undo", status=self.summary)
        self._runner.stream(
            lambda ctx: undo(journal, cancel=ctx.cancel),
            name="undo",
            on_yielded=self._on_step,
            on_returned=self._on_done,
            on_finished=self._on_finished,
        )

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def _on_step(self, item: OperationProgress) -> None:
        self.progress.setRange(0, item.total)
        self.progress.setValue(item.done + item.failed)

    def _on_done(self, outcome: Outcome) -> None:
        self.outcome = outcome
        text = f"Undid {outcome.done} of {outcome.total} operations."
        if outcome.problems:
            text += f" {len(outcome.problems)} were left as they are, so that nothing is lost:"
            self.refused.addItems([why for _path, why in outcome.problems])
            self.refused.show()
            self.resize(max(self.width(), 760), max(self.height(), 380))
        elif outcome.finished:
            text += " Every file is back as it was."
        if outcome.stopped:
            text = f"Stopped: {outcome.stopped}. " + text
        self.summary.show_info(text)
        self.undone.emit(outcome)

    def _on_finished(self) -> None:
        if self.outcome is None and self.summary.kind is StatusKind.BUSY:
            self.summary.show_info("Stopped. Undo Last Organize again to reverse the rest.")
        self.stop_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self.close_button.setDefault(True)

    def stop(self) -> None:
        self._runner.cancel_all()

    def reject(self) -> None:
        if self._runner.busy:
            self.stop()
        else:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._runner.shutdown()
        super().closeEvent(event)
