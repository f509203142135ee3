"""Issue 27 item 4: after View > Theme every text and chart is drawn in the theme's colours.

What the person reads is measured on the rendered pixels: the background's lightness and how far the
text stands out from it (a label styled once with a style sheet kept its first palette: dark grey on
dark grey after switching to Dark). Charts (pyqtgraph) were white in the dark theme.
"""

from __future__ import annotations

from collections import Counter

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from tests.gui.harness import Person


def look(widget: QWidget) -> tuple[int, int]:
    """(background lightness, largest lightness difference of any pixel from it) as rendered."""
    image = widget.grab().toImage()
    counts = Counter(image.pixel(x, y) for x in range(0, image.width(), 2) for y in range(image.height()))
    background = QColor.fromRgb(counts.most_common(1)[0][0]).lightness()
    return background, max(abs(QColor.fromRgb(p).lightness() - background) for p in counts)


def assert_readable(widget: QWidget, dark: bool, what: str, minimum: int = 120) -> None:
    background, contrast = look(widget)
    assert (background < 90) if dark else (background > 170), f"{what}: background lightness {background}"
    assert contrast > minimum, f"{what}: text/lines barely stand out ({contrast}) on {background}"


def chart_colours(plot: pg.PlotWidget) -> tuple[int, int]:
    axis = plot.getPlotItem().getAxis("left")
    return plot.backgroundBrush().color().lightness(), axis.textPen().color().lightness()


def test_every_text_and_chart_follows_the_theme(person: Person, qtbot, restore_look) -> None:
    window = person.window
    window.side_tabs.setCurrentIndex(1)  # Features: the Grad-CAM / channel title
    title = window.feature_panel._detail.detail_title
    wizard = person.window.open_finetune()
    plots = [wizard.training_page.loss_plot, wizard.training_page.acc_plot]
    hyper_note = wizard.settings_page.hyper_note
    lab = window.open_model_lab()
    plots += [lab.speed.chart, lab.evaluate.compare_chart, lab.evaluate.view.matrix, lab.evaluate.view.reliability]

    for scheme, dark in (("Dark", True), ("Light", False), ("Dark", True)):
        person.trigger(scheme)
        qtbot.wait(50)
        assert_readable(title, dark, f"Grad-CAM title after {scheme}")
        assert_readable(hyper_note, dark, f"wizard note after {scheme}", minimum=80)  # muted on purpose
        for plot in plots:
            background, text = chart_colours(plot)
            assert (background < 90) == dark and (text > 170) == dark, (scheme, type(plot).__name__, background, text)
            assert_readable(plot, dark, f"{type(plot).__name__} after {scheme}")
            legend = plot.getPlotItem().legend
            for _sample, label in legend.items if legend is not None else []:
                shown = QColor(label.item.toHtml().split("color:")[1].split(";")[0].split("'")[0].strip())  # #AARRGGBB
                assert (shown.lightness() > 170) == dark, (scheme, label.text, shown.name())
    wizard.close()
    lab.close()
