"""The Speed tab: time the chosen models on the chosen device; table, chart, CSV/PNG export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.evaluate.api import SPEED_HEADER
from resnet_desktop.core.models.ref import KNOWN_ARCHITECTURES, ModelRef
from resnet_desktop.gui.common.cells import number_cell as number
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import Task, TaskRunner
from resnet_desktop.gui.evaluate import export, jobs
from resnet_desktop.gui.evaluate.charts import BarChart, grab_png
from resnet_desktop.gui.evaluate.evaluate_panel import DEVICES
from resnet_desktop.gui.evaluate.report_view import table

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import BenchProgress, SpeedResult

DEFAULT_CHECKED = ("resnet18", "resnet50", "resnet50-v1")
EXPLANATION = (
    "Synthetic images through the engine's own path (no decoding). Models whose weights file is not on this "
    "machine run with seeded random weights: speed does not depend on the values. The -v1 models are ResNet v1 "
    "(stride 2 in the first 1x1 conv of each downsampling block) built from torchvision's v1.5; no ImageNet "
    "weights exist for them. Published: v1.5 is about +0.5% top-1 and about 5% slower."
)
#: core's bench columns (the CLI's table has the same), capitalised for the table header.
HEADERS = [title[:1].upper() + title[1:] for title in SPEED_HEADER]


class SpeedPanel(QWidget):
    """Runs ``core.evaluate.api.bench`` as one task."""

    finished = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.task: Task[object, object] | None = None
        self.results: list[SpeedResult] = []
        self.models = QListWidget()
        self.models.setMaximumHeight(150)
        for arch in KNOWN_ARCHITECTURES:
            item = QListWidgetItem(arch + ("  (ResNet v1, random weights)" if arch.endswith("-v1") else ""))
            item.setData(Qt.ItemDataRole.UserRole, arch)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if arch in DEFAULT_CHECKED else Qt.CheckState.Unchecked)
            self.models.addItem(item)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.batches = QSpinBox()
        self.batches.setRange(1, 100)
        self.batches.setValue(3)
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 500)
        self.repeats.setValue(20)
        form = QFormLayout()
        form.addRow("Models", self.models)
        form.addRow("Device", self.device)
        form.addRow("Timed batches", self.batches)
        form.addRow("Batch-1 repeats", self.repeats)
        self.run_button = QPushButton("Run Benchmark")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the table as CSV and the chart as PNG")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_results())
        self.progress = QProgressBar()
        buttons = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress, 1)
        self.explanation = QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.status = InlineStatus()
        self.table = table(HEADERS)
        self.chart = BarChart("Throughput", "images/s")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explanation)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    def checked(self) -> list[str]:
        items = (self.models.item(i) for i in range(self.models.count()))
        return [str(i.data(Qt.ItemDataRole.UserRole)) for i in items if i.checkState() == Qt.CheckState.Checked]

    def set_checked(self, archs: list[str]) -> None:
        for i in range(self.models.count()):
            item = self.models.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in archs
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done

    def start(self) -> Task[object, object] | None:
        if self.running:
            return None
        archs = self.checked()
        if not archs:
            self.status.show_info("Tick at least one model.")
            return None
        choices = [ModelRef(arch) for arch in archs]
        self.results = []
        self.table.setRowCount(0)
        self.chart.set_bars([], [])
        self.export_button.setEnabled(False)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, len(choices))
        self.progress.setValue(0)
        device, batches, repeats = self.device.currentText(), self.batches.value(), self.repeats.value()
        self.task = self.runner.stream(
            lambda ctx: jobs.run_bench(ctx, choices, device, batches, repeats),
            name="bench",
            on_yielded=self._on_item,
            on_failed=lambda exc: self.status.show_error(exc, "Benchmark failed"),
            on_finished=self._on_finished,
        )
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.show_busy("Cancelling after the current measurement")

    def _on_item(self, item: BenchProgress | SpeedResult) -> None:
        from resnet_desktop.core.evaluate.api import BenchProgress

        if isinstance(item, BenchProgress):
            self.status.show_busy(f"Timing {item.label} ({item.index + 1} of {item.total})")
            self.progress.setValue(item.index)
            return
        self.results.append(item)
        self._fill()

    def _fill(self) -> None:
        from resnet_desktop.core.evaluate.api import speed_cells

        self.table.setRowCount(len(self.results))
        for row, (r, cells) in enumerate(zip(self.results, speed_cells(self.results), strict=True)):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text) if column in (0, 1, 10) else number(text)
                item.setToolTip(r.note)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.chart.set_bars([r.label for r in self.results], [r.images_per_second for r in self.results])
        self.progress.setValue(len(self.results))
        self.export_button.setEnabled(True)

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.task is not None and self.task.cancelled:
            self.status.show_info(f"Cancelled; {len(self.results)} model(s) were measured.")
        elif self.results and self.task is not None and self.task.error is None:
            device = self.results[0].device
            self.status.show_info(
                f"Done on {device}, batch {self.results[0].batch_size}; 'vs first' is images/s "
                f"relative to {self.results[0].label}."
            )
        self.finished.emit()

    def export_results(self, path: Path | None = None) -> Path | None:
        if not self.results:
            return None
        from resnet_desktop.core.evaluate.api import results_csv

        if path is None:
            path = export.ask_save_path(self, "Export Benchmark", "bench.csv", "CSV (*.csv)", ".csv")
            if path is None:
                return None
        try:
            written = export.write_pair(self, path, results_csv(self.results), grab_png(self.chart), "chart")
        except OutputError as exc:
            self.status.show_error(exc)
            return None
        if written is None:
            return None
        self.status.show_info(f"Saved {written[0]} and {written[1].name}.")
        return written[0]
