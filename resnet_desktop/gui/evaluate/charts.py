"""pyqtgraph charts of the model lab: the clickable confusion matrix, reliability, sweep, bars.

The widgets only paint numbers the core computed; ``grab_png`` renders any of them to PNG bytes
for the export (written by ``core.atomic``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QPointF, Signal
from PySide6.QtWidgets import QWidget

from resnet_desktop.gui.common.plot_theme import follow_palette

BAR_BRUSH = pg.mkBrush("#1f77b4")
GAP_BRUSH = pg.mkBrush(214, 39, 40, 110)
#: Cells above this count show no number (the text would not fit).
MAX_TEXT_CELLS = 900


def grab_png(widget: QWidget) -> bytes:
    """The widget as it is on screen, as PNG bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    return bytes(buffer.data().data())


def _ticks(names: Sequence[str], limit: int = 18) -> list[list[tuple[float, str]]]:
    shown = [(i + 0.5, n if len(n) <= limit else n[: limit - 1] + "…") for i, n in enumerate(names)]
    return [shown]


class _CellImage(pg.ImageItem):  # type: ignore[misc]
    """The matrix as an image whose clicks name a (row, column) cell."""

    def __init__(self, owner: ConfusionPlot) -> None:
        super().__init__(axisOrder="row-major")
        self.owner = owner

    def mouseClickEvent(self, event: object) -> None:
        pos = event.pos()  # type: ignore[attr-defined]
        self.owner.click_at(pos.x(), pos.y())
        event.accept()  # type: ignore[attr-defined]


class ConfusionPlot(pg.PlotWidget):  # type: ignore[misc]
    """Rows: true class; columns: predicted. Colour: share of the row. Click a cell: ``cellClicked``."""

    cellClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.invertY(True)
        self.setAspectLocked(False)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self.image = _CellImage(self)
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.selection = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.selection.setPen(pg.mkPen("#d62728", width=3))
        self.selection.setVisible(False)
        self.addItem(self.selection)
        self.shape = (0, 0)
        self._texts: list[pg.TextItem] = []
        follow_palette(self)  # the window's colours, light or dark, also after View > Theme

    def set_matrix(self, matrix: np.ndarray, rows: Sequence[str], columns: Sequence[str]) -> None:
        self.shape = (int(matrix.shape[0]), int(matrix.shape[1]))
        totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        self.image.setImage((matrix / totals).astype(np.float32), levels=(0.0, 1.0))
        self.image.setRect(0, 0, self.shape[1], self.shape[0])
        for text in self._texts:
            self.removeItem(text)
        self._texts = []
        if matrix.size <= MAX_TEXT_CELLS:
            share = matrix / totals
            for r in range(self.shape[0]):
                for c in range(self.shape[1]):
                    colour = "k" if share[r, c] > 0.6 else "w"
                    text = pg.TextItem(str(int(matrix[r, c])), color=colour, anchor=(0.5, 0.5))
                    text.setPos(c + 0.5, r + 0.5)
                    self.addItem(text)
                    self._texts.append(text)
        self.getAxis("left").setTicks(_ticks(rows))
        self.getAxis("bottom").setTicks(_ticks(columns, 12))
        self.selection.setVisible(False)
        self.setRange(xRange=(0, self.shape[1]), yRange=(0, self.shape[0]), padding=0.02)

    def click_at(self, x: float, y: float) -> None:
        row, column = int(np.floor(y)), int(np.floor(x))
        if 0 <= row < self.shape[0] and 0 <= column < self.shape[1]:
            self.select(row, column)
            self.cellClicked.emit(row, column)

    def select(self, row: int, column: int) -> None:
        self.selection.setRect(column, row, 1, 1)
        self.selection.setVisible(True)

    def cell_center(self, row: int, column: int) -> QPointF:
        """Where cell (row, column) is on the widget (for tests that click it as a person does)."""
        scene = self.getViewBox().mapViewToScene(QPointF(column + 0.5, row + 0.5))
        return QPointF(self.mapFromScene(scene))


class ReliabilityPlot(pg.PlotWidget):  # type: ignore[misc]
    """Accuracy per confidence bin against the diagonal of perfect calibration."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, title="Reliability")
        self.setLabel("bottom", "confidence")
        self.setLabel("left", "accuracy")
        self.setXRange(0, 1)
        self.setYRange(0, 1)
        for axis in ("bottom", "left"):
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.3)
        self.setMouseEnabled(x=False, y=False)
        follow_palette(self)  # the window's colours, light or dark, also after View > Theme

    def set_bins(self, bins: Sequence[tuple[float, float, float | None, float | None]]) -> None:
        """``bins``: (lower, upper, mean confidence, accuracy); empty bins have None."""
        self.clear()
        self.plot([0, 1], [0, 1], pen=pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine))
        filled = [(lo, hi, conf, acc) for lo, hi, conf, acc in bins if acc is not None and conf is not None]
        if not filled:
            return
        x = [(lo + hi) / 2 for lo, hi, _c, _a in filled]
        width = filled[0][1] - filled[0][0]
        self.addItem(pg.BarGraphItem(x=x, height=[a for *_r, a in filled], width=width * 0.9, brush=BAR_BRUSH))
        gaps = [abs(a - c) for _lo, _hi, c, a in filled]
        y0 = [min(a, c) for _lo, _hi, c, a in filled]
        self.addItem(pg.BarGraphItem(x=x, y0=y0, height=gaps, width=width * 0.9, brush=GAP_BRUSH))


class SweepPlot(pg.PlotWidget):  # type: ignore[misc]
    """Accuracy of the kept photos and the share kept, against the confidence threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, title="Confidence threshold")
        self.setLabel("bottom", "threshold")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.setXRange(0, 1)
        self.setYRange(0, 1.05)
        self.showGrid(x=True, y=True, alpha=0.3)
        self.addLegend(offset=(-10, -10))
        self.setMouseEnabled(x=False, y=False)
        follow_palette(self)  # the window's colours, light or dark, also after View > Theme

    def set_sweep(self, rows: Sequence[tuple[float, float, float | None]], suggested: float) -> None:
        """``rows``: (threshold, share kept, accuracy or None)."""
        self.clear()
        thresholds = [t for t, _s, _a in rows]
        self.plot(thresholds, [s for _t, s, _a in rows], pen=pg.mkPen("#ff7f0e", width=2), name="share kept")
        kept = [(t, a) for t, _s, a in rows if a is not None]
        self.plot([t for t, _a in kept], [a for _t, a in kept], pen=pg.mkPen("#1f77b4", width=2), name="accuracy")
        self.addItem(pg.InfiniteLine(suggested, angle=90, pen=pg.mkPen("#2ca02c", width=2), label="suggested"))


class BarChart(pg.PlotWidget):  # type: ignore[misc]
    """One bar per model (images/s in the speed tab, top-1 in the comparison)."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, title=title)
        self.setLabel("left", y_label)
        self.showGrid(y=True, alpha=0.3)
        self.setMouseEnabled(x=False, y=False)
        self.values: list[float] = []
        follow_palette(self)  # the window's colours, light or dark, also after View > Theme

    def set_bars(self, labels: Sequence[str], values: Sequence[float]) -> None:
        self.clear()
        self.values = list(values)
        if not labels:
            return
        x = list(range(len(labels)))
        self.addItem(pg.BarGraphItem(x=x, height=list(values), width=0.6, brush=BAR_BRUSH))
        self.getAxis("bottom").setTicks([[(i, label) for i, label in zip(x, labels, strict=True)]])
        self.setXRange(-0.6, len(labels) - 0.4)
        self.setYRange(0, max(values) * 1.1 if max(values) > 0 else 1)
