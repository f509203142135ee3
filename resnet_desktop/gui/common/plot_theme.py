"""pyqtgraph charts in the window's colours, following View > Theme while they are open.

pyqtgraph draws with its own colours (a fixed background, grey axes), not the Qt palette: a chart
created with ``background="w"`` stays white in the dark theme. ``follow_palette`` paints the
background, axes, labels, title and legend from the widget's palette now and again whenever the
palette changes. (Imports pyqtgraph: only the wizard and the model lab use it, opened on demand.)
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette

_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def plot_colours(palette: QPalette) -> tuple[QColor, QColor]:
    """(background, foreground) of a chart: the palette's Base and Text."""
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


def apply_palette(plot: pg.PlotWidget) -> None:
    background, foreground = plot_colours(plot.palette())
    plot.setBackground(background)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(foreground)
        axis.setTextPen(foreground)
        if axis.labelText or axis.labelUnits:
            axis.labelStyle = {**axis.labelStyle, "color": foreground.name()}
            axis._updateLabel()  # pyqtgraph has no public "restyle the label" call
    title = item.titleLabel
    if title.isVisible() and title.text:
        title.setText(title.text, color=foreground.name())
    legend = item.legend
    if legend is not None:
        fill = QColor(background)
        fill.setAlpha(210)
        legend.setBrush(pg.mkBrush(fill))
        legend.setLabelTextColor(foreground)
        for _sample, label in legend.items:  # setLabelTextColor stores the colour; the text is redrawn here
            label.setText(label.text, color=foreground.name())


class _Follower(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _PALETTE_EVENTS and isinstance(watched, pg.PlotWidget):
            apply_palette(watched)
        return False


def follow_palette(plot: pg.PlotWidget) -> pg.PlotWidget:
    """Colour ``plot`` from its palette now and after every theme switch; returns it."""
    apply_palette(plot)
    plot.installEventFilter(_Follower(plot))
    return plot
