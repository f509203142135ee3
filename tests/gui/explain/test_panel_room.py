"""The Features tab gives the grid the room (issue 11): tree columns shown, the grid grows with the
window, layer4's 2048 channels never shrink below readable tiles, and the panel can be cleared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from resnet_desktop.gui.explain.panel import FeaturePanel
from tests.helpers import SAMPLES_DIR

TIMEOUT_MS = 120_000
MIN_TILE_PX = 12  # the issue: layer4 tiles at least 12 px on screen, or the grid scrolls


@pytest.fixture(scope="module")
def loaded(resnet18_weights: Path):
    from resnet_desktop.core.models import zoo

    return zoo.load_model("resnet18", str(resnet18_weights))


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLES_DIR / "cat.jpg", tmp_path / "cat.jpg"))


def _panel(qtbot, loaded, photo: Path, size: tuple[int, int]) -> FeaturePanel:
    panel = FeaturePanel()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.set_model(loaded)
    panel.set_image(photo)
    with qtbot.waitSignal(panel.captured, timeout=TIMEOUT_MS):
        panel.show()
    return panel


def _click_layer(qtbot, panel: FeaturePanel, name: str) -> None:
    """A real click on the layer's row of the tree."""
    tree = panel.layer_tree
    model = tree.model()
    found = model.match(
        model.index(0, 0), Qt.ItemDataRole.ToolTipRole, name, 1, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
    )
    assert found, name
    index = found[0]
    tree.scrollTo(index)
    with qtbot.waitSignal(panel.layerShown, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(index).center())


def _tile_px(panel: FeaturePanel) -> float:
    canvas = panel.grid_canvas
    image = canvas.image()
    assert image is not None and panel.current_activation is not None
    return canvas.target_rect().width() / image.width() * panel.current_activation.shape[2]


@pytest.mark.parametrize("size", [(780, 950), (1400, 900)], ids=["side tab at 1920x1080", "own window"])
def test_layer_tree_shows_all_its_columns(qtbot, loaded, photo: Path, size: tuple[int, int]) -> None:
    panel = _panel(qtbot, loaded, photo, size)
    try:
        tree = panel.layer_tree
        header = tree.header()
        for column, title in enumerate(("Layer", "Type", "Output")):
            assert panel.layer_tree.model().headerData(column, Qt.Orientation.Horizontal) == title
            assert not header.isSectionHidden(column)
            assert header.sectionSize(column) >= tree.sizeHintForColumn(column), title  # contents not cut
        assert header.length() <= tree.viewport().width()  # every column inside the visible tree
    finally:
        panel.shutdown()


def test_grid_grows_with_the_window(qtbot, loaded, photo: Path) -> None:
    panel = _panel(qtbot, loaded, photo, (700, 600))
    try:
        viewport = panel.grid_scroll.viewport()

        def grows_to(size: tuple[int, int]) -> None:
            before = viewport.size()
            panel.resize(*size)
            qtbot.waitUntil(
                lambda: viewport.height() > before.height() + 150 and viewport.width() > before.width() + 100
            )

        grows_to((900, 1000))  # a side tab, taller and wider: the grid on top gets both
        panel.resize(1100, 700)  # a window of its own: tree | grid | detail
        qtbot.waitUntil(lambda: not panel.stacked)
        qtbot.wait(50)
        grows_to((1800, 1000))
        # layer1's 64 tiles of 56 px are drawn as large as the room allows (never scrolled).
        assert panel.grid_canvas.size() == viewport.size()
        rect = panel.grid_canvas.target_rect()  # (an integer zoom may leave up to a fifth unused)
        assert max(rect.height() / viewport.height(), rect.width() / viewport.width()) >= 0.8
    finally:
        panel.shutdown()


def test_layer4_of_resnet50_has_readable_tiles_at_1920x1080(qtbot, make_window) -> None:
    """2048 channels of 7x7 in the Features tab of a full-HD window: tiles >= 12 px, the grid scrolls."""
    from resnet_desktop.core.models.ref import ModelRef

    window = make_window(ModelRef.parse("resnet50", "random"))
    window.resize(1920, 1080)
    window.classify([SAMPLES_DIR / "cat.jpg"])
    qtbot.waitUntil(lambda: window.results.rowCount() == 1 and not window.service.busy, timeout=TIMEOUT_MS)
    panel = window.feature_panel
    tabs = window.side_tabs.tabBar()
    with qtbot.waitSignal(panel.captured, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    _click_layer(qtbot, panel, "layer4")
    assert panel.current_activation is not None and panel.current_activation.shape == (2048, 7, 7)
    qtbot.wait(50)
    assert _tile_px(panel) >= MIN_TILE_PX
    scroll = panel.grid_scroll
    fits = panel.grid_canvas.height() <= scroll.viewport().height() and (
        panel.grid_canvas.width() <= scroll.viewport().width()
    )
    assert fits or scroll.verticalScrollBar().maximum() > 0 or scroll.horizontalScrollBar().maximum() > 0


def test_clear_shows_nothing_and_says_why(qtbot, loaded, photo: Path, tmp_path: Path) -> None:
    panel = _panel(qtbot, loaded, photo, (900, 800))
    try:
        assert panel.grid_canvas.image() is not None
        panel.show_unreadable(tmp_path / "notes.jpg", "not an image file")
        assert panel.current_activation is None and panel.current_layer is None
        assert panel.grid_canvas.image() is None and panel.detail_canvas.image() is None
        assert "No features for notes.jpg" in panel.status.text() and "not an image file" in panel.grid_info.text()
        assert not panel.export_grid_button.isEnabled()

        # A capture that is still running when the panel is cleared never lands.
        other = Path(shutil.copy(photo, tmp_path / "other.jpg"))
        panel.set_image(other)
        panel.clear("No features for a file that could not be read")
        qtbot.wait(300)
        qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT_MS)
        assert panel.current_activation is None and panel.grid_canvas.image() is None
        assert panel.status.text() == "No features for a file that could not be read"

        with qtbot.waitSignal(panel.captured, timeout=TIMEOUT_MS):  # and the next photo shows again
            panel.set_image(photo)
        assert panel.grid_canvas.image() is not None
    finally:
        panel.shutdown()
