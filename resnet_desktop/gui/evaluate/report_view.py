"""One evaluation report on screen: the numbers, per-class table, clickable confusion matrix with
the cell's images, top losses, reliability diagram and threshold sweep.

Clicking an image emits ``imageChosen(ImageResult)``; the window answers with the Grad-CAM pair.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.evaluate.api import ImageResult
from resnet_desktop.gui.common.cells import number_cell as number
from resnet_desktop.gui.common.gallery import Gallery
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.evaluate.charts import ConfusionPlot, ReliabilityPlot, SweepPlot

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import EvaluationReport


def table(headers: list[str]) -> QTableWidget:
    widget = QTableWidget(0, len(headers))
    widget.setHorizontalHeaderLabels(headers)
    widget.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    widget.verticalHeader().hide()
    widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return widget


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


class ReportView(QWidget):
    """Shows one ``EvaluationReport`` (core type); never computes a metric itself."""

    imageChosen = Signal(ImageResult)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: EvaluationReport | None = None
        self._by_path: dict[str, ImageResult] = {}
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()

        self.per_class = table(["Class", "Folders", "Precision", "Recall", "F1", "Images"])
        self.tabs.addTab(self.per_class, "Per class")

        self.matrix = ConfusionPlot()
        self.matrix.cellClicked.connect(self.show_cell)
        self.cell_caption = QLabel("Click a cell to see its images; click an image for Grad-CAM.")
        self.cell_gallery = Gallery(thumbnails)
        self.cell_gallery.itemClicked.connect(self._clicked)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.cell_caption)
        below_layout.addWidget(self.cell_gallery)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.matrix)
        split.addWidget(below)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        self.tabs.addTab(split, "Confusion matrix")

        self.losses = Gallery(thumbnails)
        self.losses.itemClicked.connect(self._clicked)
        self.tabs.addTab(self.losses, "Most confidently wrong")

        self.reliability = ReliabilityPlot()
        self.sweep_plot = SweepPlot()
        self.sweep = table(["Threshold", "Kept", "Share kept", "Accuracy"])
        calibration = QSplitter(Qt.Orientation.Horizontal)
        calibration.addWidget(self.reliability)
        calibration.addWidget(self.sweep_plot)
        calibration.addWidget(self.sweep)
        calibration.setSizes([420, 420, 300])
        self.tabs.addTab(calibration, "Calibration && threshold")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.tabs, 1)

    def show_report(self, report: EvaluationReport) -> None:
        self.report = report
        self._by_path = {str(r.path): r for r in report.images}
        self.headline.setText(self._headline(report))
        self._fill_per_class(report)
        self.matrix.set_matrix(report.confusion, report.rows, report.columns)
        self.cell_caption.setText("Click a cell to see its images; click an image for Grad-CAM.")
        self.cell_gallery.clear()
        wrong = report.confidently_wrong
        self.losses.show_images([self._entry(report.images[i]) for i in wrong])
        self.tabs.setTabText(self.tabs.indexOf(self.losses), f"Most confidently wrong ({len(wrong)})")
        bins = [(b.lower, b.upper, b.confidence, b.accuracy) for b in report.calibration.bins]
        self.reliability.set_bins(bins)
        self.sweep_plot.set_sweep(
            [(r.threshold, r.share_kept, r.accuracy) for r in report.sweep], report.suggested_threshold
        )
        self.sweep.setRowCount(len(report.sweep))
        for i, row in enumerate(report.sweep):
            self.sweep.setItem(i, 0, number(f"{row.threshold:.2f}"))
            self.sweep.setItem(i, 1, number(str(row.kept)))
            self.sweep.setItem(i, 2, number(_pct(row.share_kept)))
            self.sweep.setItem(i, 3, number(_pct(row.accuracy)))
        self.sweep.resizeColumnsToContents()

    @staticmethod
    def _headline(report: EvaluationReport) -> str:
        top5 = f"top-{report.top5_k}" if report.top5_k < 5 else "top-5"
        parts = [
            f"<b>{escape(str(report.model.get('label') or report.model['source']))}</b> on "
            f"{escape(str(report.folder))}: {report.scored} images in {len(report.rows)} classes.",
            f"<b>Top-1 {_pct(report.top1)}</b>, {top5} {_pct(report.top5)}, expected calibration error "
            f"{report.ece:.3f}. Suggested confidence threshold <b>{report.suggested_threshold:.2f}</b> "
            f"({escape(report.suggested_reason)}).",
        ]
        if report.unmatched:
            listing = "; ".join(
                f"{escape(u['folder'])} ({u['images']}): {escape(u['reason'])}" for u in report.unmatched
            )
            parts.append(f"<span style='color:#b26a00'>Not evaluated: {listing}.</span>")
        if report.failed:
            parts.append(f"<span style='color:#c62828'>{len(report.failed)} file(s) could not be read.</span>")
        parts += [escape(note) for note in report.notes]
        return "<br>".join(parts)

    def _fill_per_class(self, report: EvaluationReport) -> None:
        self.per_class.setRowCount(len(report.per_class))
        for row, stats in enumerate(report.per_class):
            self.per_class.setItem(row, 0, QTableWidgetItem(stats.name))
            self.per_class.setItem(row, 1, QTableWidgetItem(", ".join(report.row_folders.get(stats.name, []))))
            self.per_class.setItem(row, 2, number(_pct(stats.precision)))
            self.per_class.setItem(row, 3, number(_pct(stats.recall)))
            self.per_class.setItem(row, 4, number(_pct(stats.f1)))
            self.per_class.setItem(row, 5, number(str(stats.support)))

    def _entry(self, r: ImageResult) -> tuple[Path, str, str]:
        assert self.report is not None
        predicted = self.predicted_name(r)
        caption = f"{self.report.rows[r.true]} → {predicted}"
        true = self.report.rows[r.true]
        tip = f"{r.path}\ntrue: {true}, predicted: {predicted} ({r.confidence:.0%}), loss {r.loss:.2f}"
        return r.path, caption, tip

    def predicted_name(self, r: ImageResult) -> str:
        categories = (self.report.model.get("categories") if self.report else None) or []
        return categories[r.pred_index] if r.pred_index < len(categories) else f"class {r.pred_index}"

    def show_cell(self, row: int, column: int) -> None:
        """The images of one cell (true = row, predicted = column), most confident first."""
        if self.report is None:
            return
        chosen = self.report.cell(row, column)
        self.cell_caption.setText(
            f"{len(chosen)} image(s) of '{self.report.rows[row]}' predicted as '{self.report.columns[column]}'"
            + (" — click one for Grad-CAM" if chosen else "")
        )
        self.cell_gallery.show_images([self._entry(r) for r in chosen])

    def _clicked(self, item: QListWidgetItem) -> None:
        result = self._by_path.get(str(item.data(Qt.ItemDataRole.UserRole)))
        if result is not None:
            self.imageChosen.emit(result)
