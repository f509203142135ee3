"""Issue 27 item 7: on a 1366x768 or a 1024x700 screen every window opens on the screen, sized to it,
and what it holds is usable: the channel grid gets real room, the layer tree shows all its columns,
the detail controls are reachable without scrolling, status texts are elided (never cut mid-word).

The screen is the operating system's: its free area is what ``QScreen.availableGeometry`` answers,
replaced here (the only thing mocked).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QAbstractButton, QApplication, QMainWindow, QWidget

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.screen_fit import FRAME
from tests.helpers import SAMPLES_DIR

SCREENS = [(1366, 768), (1024, 700)]


@pytest.fixture(params=SCREENS, ids=["1366x768", "1024x700"])
def screen(request, monkeypatch: pytest.MonkeyPatch) -> QRect:
    width, height = request.param
    area = QRect(0, 0, width, height - 24)  # a 24-px panel at the bottom, as most desktops have
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _self: QRect(area))
    return area


def assert_on_screen(window: QWidget, area: QRect) -> None:
    frame = QRect(window.pos(), window.size() + FRAME)
    assert area.contains(frame), f"{type(window).__name__} {frame} is not inside the screen's free area {area}"
    assert window.minimumSizeHint().width() <= area.width() and window.minimumSizeHint().height() <= area.height()


def assert_inside(widget: QWidget, container: QWidget, what: str) -> None:
    """``widget`` is shown wholly inside ``container``'s visible rectangle (not cut, not scrolled away)."""
    assert widget.isVisible(), f"{what} is hidden"
    top_left = widget.mapTo(container, widget.rect().topLeft())
    rect = QRect(top_left, widget.size())
    assert container.rect().contains(rect), f"{what} at {rect} is cut by {container.rect()}"


def test_main_window_and_features_tab_fit(qtbot, make_window, resnet18_weights: Path, screen: QRect) -> None:
    window = make_window(ModelRef(arch="resnet18", weights=str(resnet18_weights)))
    assert_on_screen(window, screen)
    window.classify([SAMPLES_DIR / "cat.jpg"])
    qtbot.waitUntil(lambda: window.results.rowCount() == 1 and not window.service.busy, timeout=120_000)
    panel = window.feature_panel
    tabs = window.side_tabs.tabBar()
    with qtbot.waitSignal(panel.captured, timeout=120_000):
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    qtbot.wait(100)

    viewport = panel.grid_scroll.viewport()
    assert viewport.width() >= 250 and viewport.height() >= 250, f"the channel grid gets {viewport.size()}"
    tree, header = panel.layer_tree, panel.layer_tree.header()
    for column, title in enumerate(("Layer", "Type", "Output")):
        assert not header.isSectionHidden(column)
        assert header.sectionSize(column) >= tree.sizeHintForColumn(column), f"{title} is cut"
    assert header.length() <= tree.viewport().width(), "a column is outside the visible tree"
    scroll = window.side_tabs.widget(1)
    assert scroll.horizontalScrollBar().maximum() == 0 and scroll.verticalScrollBar().maximum() == 0
    for button in (panel.export_grid_button, panel.export_channel_button, panel.export_overlay_button, panel.cam_check):
        assert_inside(button, scroll.viewport(), button.text())
    assert_inside(panel.class_combo, scroll.viewport(), "the Grad-CAM class")

    status = window.status
    long = "Ready: resnet18 from resnet18-random.pth on CPU (x86_64, 2 threads). Drop images to classify. " * 2
    status.set_message(long)
    status.set_model_text("resnet18 from a-very-long-model-file-name-fine-tuned-on-patterns.safetensors · ONNX Runtime")
    qtbot.wait(50)
    for label in (status.message, status.model_label):
        shown = label.shown()
        assert shown == label.text() or "…" in shown, f"cut without an ellipsis: {shown!r}"
        assert label.fontMetrics().horizontalAdvance(shown) <= label.width(), shown
        assert label.toolTip() == label.text()
    assert status.message.width() >= status.width() // 3, "the message keeps most of the bar"
    assert status.message.shown().startswith("Ready: resnet18 from")


def test_a_model_text_that_fits_its_label_is_shown_whole(qtbot) -> None:
    """The label is as wide as its text asks (sizeHint); the text must then not be elided ("No …del")."""
    from resnet_desktop.gui.common.status import StatusBar

    window = QMainWindow()
    qtbot.addWidget(window)
    status = StatusBar()
    window.setStatusBar(status)
    window.resize(1366, 768)
    window.show()
    status.set_message("No model loaded: weights are missing. Choose a weights file or retry.")
    for text in ("No model", "Loading resnet50 (IMAGENET1K_V2)…"):
        status.set_model_text(text)
        qtbot.waitUntil(lambda: status.model_label.width() == status.model_label.sizeHint().width())
        assert status.model_label.shown() == text


def test_tool_windows_open_on_screen(qtbot, window, screen: QRect) -> None:
    lab = window.open_model_lab()
    qtbot.waitUntil(lab.isVisible)
    assert_on_screen(lab, screen)
    report = lab.evaluate.view
    assert report.height() >= 200, f"the report gets {report.height()} px"
    for button in lab.findChildren(QAbstractButton):
        if button.isVisibleTo(lab) and lab.tabs.currentWidget().isAncestorOf(button):
            assert_inside(button, lab, button.text() or type(button).__name__)
    lab.close()

    wizard = window.open_finetune()
    assert_on_screen(wizard, screen)
    wizard.close()

    teach = window.open_teach()  # it opened 1280 px wide on a 1024 px screen
    assert_on_screen(teach, screen)
    teach.close()

    from resnet_desktop.gui.library.organize_dialog import OrganizeDialog

    dialog = OrganizeDialog([], window.settings.qsettings, window.thumbnails, window)
    qtbot.addWidget(dialog)
    assert_on_screen(dialog, screen)


def test_a_window_remembered_on_a_bigger_monitor_comes_back_on_screen(qtbot, app_settings, screen: QRect) -> None:
    from resnet_desktop.gui.main_window import MainWindow

    first = MainWindow(app_settings, model_ref=ModelRef(arch="resnet18", weights="random"), device="cpu")
    qtbot.addWidget(first)
    first.setGeometry(1500, 900, 1800, 1000)  # where it was on a 4K monitor
    app_settings.save_window(first, first.splitter)
    assert isinstance(app_settings.geometry(), QByteArray)
    again = MainWindow(app_settings, model_ref=ModelRef(arch="resnet18", weights="random"), device="cpu")
    qtbot.addWidget(again)
    assert_on_screen(again, screen)
    for w in (first, again):
        w.close()
    QApplication.processEvents()
