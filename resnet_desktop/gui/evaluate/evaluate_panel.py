"""The Evaluate tab: folder, optional mapping, models; progress and cancel; reports, comparison, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import OutputError, WeightsError
from resnet_desktop.core.evaluate.api import EvaluationReport, ImageResult
from resnet_desktop.gui.common.cells import number_cell as number
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import Task, TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.evaluate import export, jobs
from resnet_desktop.gui.evaluate.charts import BarChart, grab_png
from resnet_desktop.gui.evaluate.models_list import ModelList
from resnet_desktop.gui.evaluate.report_view import ReportView, table

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import ComparisonRow, EvaluateEvent
    from resnet_desktop.core.models.ref import LoadedModel, ModelRef

DEVICES = ("auto", "cpu", "cuda", "mps")


def path_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class EvaluatePanel(QWidget):
    """Runs ``core.evaluate.compare_models`` as one task and shows what it yields."""

    #: (report, loaded model, image result): the window opens the Grad-CAM pair.
    #: An image of a report was clicked (the model that made the report is ``model_for(report)``).
    camRequested = Signal(EvaluationReport, ImageResult)
    #: Emitted once an evaluation ended (finished, failed or cancelled).
    finished = Signal()

    def __init__(self, runner: TaskRunner, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.task: Task[object, object] | None = None
        self.reports: list[EvaluationReport] = []
        self.rows: list[ComparisonRow] = []
        self.loaded: dict[str, LoadedModel] = {}
        self.preloaded: dict[ModelRef, LoadedModel] = {}

        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("A folder with one subfolder per class")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_folder)
        self.mapping_edit = QLineEdit()
        self.mapping_edit.setPlaceholderText("optional: folder,class per line (for ImageNet models)")
        browse_map = QPushButton("Browse…")
        browse_map.clicked.connect(self.browse_mapping)
        self.models = ModelList()
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        form = QFormLayout()
        form.addRow("Labeled folder", path_row(self.folder_edit, browse))
        form.addRow("Mapping file", path_row(self.mapping_edit, browse_map))
        form.addRow("Models", self.models)
        form.addRow("Device", self.device)

        self.run_button = QPushButton("Evaluate")
        self.run_button.setToolTip("Evaluate every listed model on the folder (Ctrl+Return)")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export Report…")
        self.export_button.setToolTip("Save the report as JSON and the confusion matrix as PNG (Ctrl+S)")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_report())
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start)
        QShortcut(QKeySequence("Ctrl+S"), self, lambda: self.export_report())
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = InlineStatus("Choose a labeled folder and the models to evaluate.")
        buttons = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress, 1)

        self.report_choice = QComboBox()
        self.report_choice.currentIndexChanged.connect(self._show_report)
        self.view = ReportView(thumbnails)
        self.view.imageChosen.connect(self._image_chosen)
        report_tab = QWidget()
        report_layout = QVBoxLayout(report_tab)
        report_layout.addWidget(self.report_choice)
        report_layout.addWidget(self.view, 1)
        self.compare_table = table(
            [
                "Model",
                "Top-1",
                "Top-5",
                "ECE",
                "Images/s",
                "ms/image (batch 1)",
                "Peak MiB",
                "Params (M)",
                "GFLOPs",
                "File MiB",
            ]
        )
        self.compare_chart = BarChart("Top-1 accuracy", "top-1")
        self.export_compare_button = QPushButton("Export Comparison…")
        self.export_compare_button.setEnabled(False)
        self.export_compare_button.clicked.connect(lambda: self.export_comparison())
        compare_tab = QSplitter(Qt.Orientation.Vertical)
        compare_tab.addWidget(self.compare_table)
        compare_tab.addWidget(self.compare_chart)
        compare_tab.addWidget(self.export_compare_button)
        self.results = QTabWidget()
        self.results.addTab(report_tab, "Report")
        self.results.addTab(compare_tab, "Comparison")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

    # -- inputs ------------------------------------------------------------------------------

    def browse_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Labeled folder", self.folder_edit.text())
        if chosen:
            self.folder_edit.setText(chosen)

    def browse_mapping(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Mapping file", self.mapping_edit.text(), "CSV (*.csv);;All (*)")
        if chosen:
            self.mapping_edit.setText(chosen)

    def folder(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(text).expanduser() if text else None

    # -- running -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done

    def start(self) -> Task[object, object] | None:
        """Evaluate every listed model on the folder (one task: load, evaluate, time, next)."""
        if self.running:
            return None
        folder = self.folder()
        if folder is None or not folder.is_dir():
            self._say_error("Choose a labeled folder that exists (one subfolder per class).")
            return None
        try:
            choices = self.models.choices()
        except WeightsError as exc:
            self._say_error(exc)
            return None
        if not choices:
            self._say_error("Add at least one model to evaluate.")
            return None
        mapping = self.mapping_edit.text().strip()
        self.reports, self.rows, self.loaded = [], [], {}
        self.report_choice.clear()
        self.export_button.setEnabled(False)
        self.export_compare_button.setEnabled(False)
        self._set_running(True)
        self.status.show_busy(f"Evaluating {len(choices)} model(s) on {folder}")
        task = self.runner.stream(
            lambda ctx: jobs.evaluate_models(
                ctx,
                choices,
                folder,
                device=self.device.currentText(),
                mapping_file=Path(mapping).expanduser() if mapping else None,
                preloaded=dict(self.preloaded),
            ),
            name="evaluate",
            on_yielded=self._on_item,
            on_returned=self._on_returned,
            on_failed=self._say_error,
            on_finished=self._on_finished,
        )
        self.task = task
        return task

    def cancel(self) -> None:
        if self.running and self.task is not None:
            self.task.cancel()
            self.status.show_busy("Cancelling")

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)

    def _on_item(self, item: EvaluateEvent) -> None:
        from resnet_desktop.core.evaluate.api import ComparisonRow, EvaluationReport, ModelProgress

        if isinstance(item, ModelProgress):
            p = item.progress
            if p is None:
                self.status.show_busy(f"Loading {item.label} ({item.index + 1} of {item.total})")
                self.progress.setRange(0, 0)
            else:
                self.progress.setRange(0, p.total or 0)
                self.progress.setValue(p.done)
                self.status.show_info(
                    f"{item.label} ({item.index + 1} of {item.total}): {p.done} of {p.total} images, "
                    f"{p.images_per_second:.1f} images/s"
                )
        elif isinstance(item, EvaluationReport):
            self.reports.append(item)
            self.report_choice.addItem(str(item.model.get("label") or item.model["source"]))
            self.export_button.setEnabled(True)
        elif isinstance(item, ComparisonRow):
            self.rows.append(item)
            self._fill_comparison()

    def _on_returned(self, loaded: dict[str, LoadedModel]) -> None:
        self.loaded = dict(loaded)
        n = len(self.reports)
        self.status.show_info(f"Done: {n} model(s) evaluated. Click a cell of the matrix to see its images.")
        if n > 1:
            self.results.setCurrentIndex(1)

    def _on_finished(self) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.reports else 0)
        if self.task is not None and self.task.cancelled:
            self.status.show_info("Cancelled; no report was made for the model that was running.")
        self.finished.emit()

    def _say_error(self, message: BaseException | str) -> None:
        self.status.show_error(message)

    # -- results -----------------------------------------------------------------------------

    def current_report(self) -> EvaluationReport | None:
        index = self.report_choice.currentIndex()
        return self.reports[index] if 0 <= index < len(self.reports) else None

    def _show_report(self, index: int) -> None:
        if 0 <= index < len(self.reports):
            self.view.show_report(self.reports[index])

    def _fill_comparison(self) -> None:
        from resnet_desktop.core.evaluate.api import COLUMNS, cell_text

        self.compare_table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, (key, _title) in enumerate(COLUMNS):
                self.compare_table.setItem(r, c, number(cell_text(row, key)))
        self.compare_chart.set_bars([row.label for row in self.rows], [row.top1 for row in self.rows])
        self.export_compare_button.setEnabled(bool(self.rows))

    def model_for(self, report: EvaluationReport) -> LoadedModel | None:
        """The model that made ``report`` (kept for Grad-CAM once the evaluation has finished)."""
        return self.loaded.get(str(report.model.get("label")))

    def _image_chosen(self, result: ImageResult) -> None:
        report = self.current_report()
        if report is None:
            return
        if self.model_for(report) is None:
            self.status.show_info("Grad-CAM needs the model; wait until the evaluation has finished.")
            return
        self.camRequested.emit(report, result)

    def export_report(self, path: Path | None = None) -> Path | None:
        """JSON report + PNG of the confusion matrix beside it (``report.json``, ``report-confusion.png``)."""
        report = self.current_report()
        if report is None:
            return None
        if path is None:
            path = export.ask_save_path(
                self, "Export Report", "evaluation.json", "JSON (*.json)", ".json", self.folder()
            )
            if path is None:
                return None
        self.view.tabs.setCurrentIndex(1)  # the matrix must be laid out to be grabbed
        try:
            written = export.write_pair(self, path, report.to_json(), grab_png(self.view.matrix), "confusion")
        except OutputError as exc:
            self._say_error(exc)
            return None
        if written is None:
            return None
        self.status.show_info(f"Saved {written[0]} and {written[1].name}.")
        return written[0]

    def export_comparison(self, path: Path | None = None) -> Path | None:
        """CSV of the comparison table + PNG of its chart."""
        if not self.rows:
            return None
        from resnet_desktop.core.evaluate.api import comparison_csv

        if path is None:
            path = export.ask_save_path(
                self, "Export Comparison", "comparison.csv", "CSV (*.csv)", ".csv", self.folder()
            )
            if path is None:
                return None
        try:
            written = export.write_pair(self, path, comparison_csv(self.rows), grab_png(self.compare_chart), "chart")
        except OutputError as exc:
            self._say_error(exc)
            return None
        if written is None:
            return None
        self.status.show_info(f"Saved {written[0]} and {written[1].name}.")
        return written[0]

    def remembered(self) -> dict[str, Any]:
        return {"folder": self.folder_edit.text(), "mapping": self.mapping_edit.text(), "models": self.models.texts()}

    def restore(self, data: dict[str, Any]) -> None:
        self.folder_edit.setText(str(data.get("folder") or ""))
        self.mapping_edit.setText(str(data.get("mapping") or ""))
        models = data.get("models")
        if isinstance(models, list) and models:
            self.models.set_texts([str(m) for m in models])
