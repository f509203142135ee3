"""Wizard page: runs training in a worker thread with live loss/accuracy curves, an epoch table and ETA."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.gui.common.cells import number_cell
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.plot_theme import follow_palette
from resnet_desktop.gui.common.tasks import TaskContext
from resnet_desktop.gui.finetune.worker import WorkerPage

if TYPE_CHECKING:
    from resnet_desktop.core.finetune.api import FineTuneResult, TrainProgress

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)
COLUMNS = ("Phase", "Epoch", "Train loss", "Val loss", "Train acc", "Val acc")


def _plot(
    title: str, y_label: str, legend_offset: tuple[int, int] = (-10, 10)
) -> tuple[pg.PlotWidget, pg.PlotDataItem, pg.PlotDataItem]:
    """A curve pair; the legend sits in the corner the curves move away from (negative = right/bottom)."""
    widget = pg.PlotWidget(title=title)
    widget.setLabel("bottom", "epoch")
    widget.setLabel("left", y_label)
    widget.showGrid(x=True, y=True, alpha=0.3)
    widget.addLegend(offset=legend_offset)
    train = widget.plot([], [], pen=TRAIN_PEN, symbol="o", symbolSize=5, symbolBrush="#1f77b4", name="train")
    val = widget.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=5, symbolBrush="#ff7f0e", name="validation")
    follow_palette(widget)  # the window's colours, light or dark, also after View > Theme
    return widget, train, val


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    return f"about {seconds // 60} min {seconds % 60:02d} s left" if seconds >= 60 else f"about {seconds} s left"


class TrainingPage(WorkerPage):
    """Starts training when shown; Back or closing the wizard cancels it and waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Training")
        self.result: FineTuneResult | None = None
        self._epochs: list[TrainProgress] = []
        self.status = InlineStatus()
        self.progress = QProgressBar()
        self.eta = QLabel()
        # The wizard's own Cancel closes the wizard; this one only stops the run (one "Cancel" per page).
        self.cancel_button = QPushButton("Stop training")
        self.cancel_button.setToolTip("Stop this run; nothing is saved. The wizard stays open.")
        self.cancel_button.clicked.connect(self.cancel)
        self.again_button = QPushButton("Train again")
        self.again_button.setToolTip("Start a new run with the same settings")
        self.again_button.clicked.connect(self.train_again)
        self.again_button.hide()
        self.loss_plot, self.train_loss, self.val_loss = _plot("Loss", "cross-entropy")
        self.acc_plot, self.train_acc, self.val_acc = _plot(
            "Accuracy", "accuracy", legend_offset=(-10, -10)
        )  # accuracy rises: legend bottom-right
        self.acc_plot.setYRange(0, 1.0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.eta)
        top.addWidget(self.cancel_button)
        top.addWidget(self.again_button)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.acc_plot)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addLayout(plots, 3)
        layout.addWidget(self.table, 2)

    # -- lifecycle -------------------------------------------------------------------------------

    def initializePage(self) -> None:
        self.stop()
        self.result = None
        self._epochs.clear()
        self.table.setRowCount(0)
        for curve in (self.train_loss, self.val_loss, self.train_acc, self.val_acc):
            curve.setData([], [])
        wizard = self.owner()
        settings = wizard.settings_page.settings()
        loaded = wizard.current_loaded_model if wizard.settings_page.use_current_model() else None
        scan = wizard.scan
        assert scan is not None, "the scan page lets Next through only with a usable scan"
        self.status.show_info(f"Starting: {settings.describe_base()}, {settings.mode} mode, {scan.total} images…")
        self.progress.setRange(0, 0)
        self.eta.clear()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.again_button.hide()

        def work(ctx: TaskContext) -> Generator[TrainProgress, None, FineTuneResult]:
            from resnet_desktop.core.finetune.api import fine_tune

            return fine_tune(scan, settings, loaded=loaded, cancel=ctx.cancel)

        self.run_task(
            lambda tasks: tasks.stream(
                work,
                on_yielded=self._on_item,
                on_returned=self._on_result,
                on_failed=self._on_failed,
                on_finished=self._on_finished,
            )
        )
        self.completeChanged.emit()

    def cancel(self) -> None:
        if self.is_running():
            super().cancel()
            self.status.show_busy("Stopping")
            self.cancel_button.setEnabled(False)

    def train_again(self) -> None:
        """After a stop or a failure: the same settings, a fresh run."""
        if not self.is_running():
            self.initializePage()

    def isComplete(self) -> bool:
        return self.result is not None

    def _offer_again(self) -> None:
        self.cancel_button.hide()
        self.again_button.show()

    # -- events ------------------------------------------------------------------------------------

    def _on_item(self, item: TrainProgress) -> None:
        # The bar shows the phase that runs: images, cross-validation fits, epochs; a phase with no
        # count yet is "busy", never the last phase's 100 %.
        if item.epoch:
            self._add_epoch(item)
            self.progress.setRange(0, item.epochs)
            self.progress.setValue(item.epoch)
        elif item.images_total:
            self.progress.setRange(0, item.images_total)
            self.progress.setValue(item.images_done)
        elif item.steps:
            self.progress.setRange(0, item.steps)
            self.progress.setValue(item.step)
        else:
            self.progress.setRange(0, 0)
        self.status.show_info(item.message)
        self.eta.setText(format_eta(item.eta_s))

    def _add_epoch(self, event: TrainProgress) -> None:
        self._epochs.append(event)
        x = list(range(1, len(self._epochs) + 1))
        self.train_loss.setData(x, [e.train_loss for e in self._epochs])
        self.val_loss.setData(x, [e.val_loss for e in self._epochs])
        self.train_acc.setData(x, [e.train_acc for e in self._epochs])
        self.val_acc.setData(x, [e.val_acc for e in self._epochs])
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (
            event.phase,
            f"{event.epoch}/{event.epochs}",
            f"{event.train_loss:.4f}",
            f"{event.val_loss:.4f}",
            f"{event.train_acc:.1%}",
            f"{event.val_acc:.1%}",
        )
        for column, value in enumerate(values):
            self.table.setItem(row, column, number_cell(value) if column else QTableWidgetItem(value))
        self.table.scrollToBottom()

    def _on_result(self, result: FineTuneResult) -> None:
        self.result = result
        best = result.metrics.get("best_epoch")
        self.status.show_info(
            f"Done in {result.metrics['elapsed_s']:.1f} s: validation accuracy {result.val_accuracy:.1%} "
            f"(best epoch {best}). Press Next to see the details."
        )
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.eta.clear()
        self.cancel_button.hide()  # nothing left to stop
        self.completeChanged.emit()

    def _on_finished(self) -> None:
        task = self.task
        if task is not None and task.cancelled:
            self._on_cancelled()

    def _on_failed(self, exc: BaseException) -> None:
        self.status.show_error(exc, "Training failed")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(False)
        self._offer_again()

    def _on_cancelled(self) -> None:
        self.status.show_info("Stopped; nothing was saved. Press Train again, or Back to change the settings first.")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta.clear()
        self.cancel_button.setEnabled(False)
        self._offer_again()
