"""Feature Maps panel (pytest-qt, offscreen): capture, switch layers, click a tile, overlays, export."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog

from resnet_desktop.core.explain.api import VIEW_SIZE
from resnet_desktop.core.explain.heatmaps import colormap_lut
from resnet_desktop.core.explain.hooks import capture, image_tensor
from resnet_desktop.gui.explain.panel import FeaturePanel
from tests.helpers import SAMPLES_DIR

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def loaded(resnet18_weights: Path):
    from resnet_desktop.core.models import zoo

    return zoo.load_model("resnet18", str(resnet18_weights))


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLES_DIR / "cat.jpg", tmp_path / "cat.jpg"))


def assert_half_close(shown: np.ndarray, exact: np.ndarray) -> None:
    """The shown map is the layer's output to float16 precision (how the panel keeps feature maps)."""
    assert shown.dtype == np.float32
    np.testing.assert_allclose(shown, exact, rtol=1e-3, atol=1e-3 * float(np.abs(exact).max() or 1.0))


def _open_panel(qtbot, loaded, photo: Path, **kwargs) -> FeaturePanel:
    panel = FeaturePanel(**kwargs)
    qtbot.addWidget(panel)
    panel.resize(1200, 720)
    panel.set_model(loaded)
    panel.set_image(photo)
    assert not panel.busy  # nothing runs while the panel is hidden (e.g. another tab is shown)
    with qtbot.waitSignal(panel.captured, timeout=TIMEOUT_MS):
        panel.show()
    return panel


def _save_to(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))


def test_select_image_switch_layers_click_tile_overlay_and_export(
    qtbot,
    loaded,
    photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel = _open_panel(qtbot, loaded, photo)
    try:
        inputs = image_tensor(Image.open(photo), loaded.preprocessing)
        expected = capture(loaded.model, inputs, ["layer1", "layer4"])
        # The first grid is layer1, all 64 channels of 56x56 in one picture (8 columns, 1-px gaps).
        assert panel.current_layer == "layer1"
        assert_half_close(panel.current_activation, expected["layer1"][0].numpy())
        grid = panel.grid_canvas.image()
        assert (grid.width(), grid.height()) == (8 * 57 - 1, 8 * 57 - 1)
        assert "layer4.1.relu_1" in panel.layer_names()

        # Switching layers uses the cached activations: the grid changes at once, no capture.
        with qtbot.waitSignal(panel.layerShown, timeout=1000) as shown:
            panel.select_layer("layer4")
        assert shown.args == ["layer4"] and not panel.busy and panel.forward_passes == 1
        assert_half_close(panel.current_activation, expected["layer4"][0].numpy())
        assert panel.grid_canvas.image().width() == 23 * 8 - 1  # 512 tiles of 7x7 in 23 columns

        # Sort by mean, then click the first tile: the strongest channel is enlarged.
        panel.sort_combo.setCurrentIndex(panel.sort_combo.findData("mean"))
        strongest = int(np.argmax(expected["layer4"][0].numpy().mean(axis=(1, 2))))
        qtbot.mouseClick(panel.grid_canvas, Qt.MouseButton.LeftButton, pos=panel.tile_center(strongest).toPoint())
        assert panel.current_channel == strongest
        assert "channel" in panel.detail_title.text()

        # Value readout under the cursor: the top-left activation of that channel.
        canvas = panel.detail_canvas
        corner = canvas.target_rect().topLeft().toPoint() + QPoint(2, 2)
        qtbot.mouseMove(canvas, corner)
        value = panel.current_activation[strongest, 0, 0]
        qtbot.waitUntil(lambda: f"{value:.4g}" in panel.readout.text(), timeout=2000)

        # Overlay on the photo, with an opacity slider that changes the picture.
        panel.overlay_check.setChecked(True)
        faint = canvas.image().copy()
        assert (faint.width(), faint.height()) == (VIEW_SIZE, VIEW_SIZE)
        panel.opacity_slider.setValue(90)
        assert canvas.image() != faint

        # Grad-CAM with the class chooser: top-1 first, then the second class.
        top = np.argsort(-panel.probabilities)[:5]
        assert [panel.class_combo.itemData(i) for i in range(panel.class_combo.count())] == top.tolist()
        with qtbot.waitSignal(panel.camShown, timeout=TIMEOUT_MS) as cam:
            panel.cam_check.setChecked(True)
        assert cam.args == [int(top[0])]
        with qtbot.waitSignal(panel.camShown, timeout=TIMEOUT_MS) as cam:
            panel.class_combo.setCurrentIndex(1)
            panel.class_combo.activated.emit(1)
        assert cam.args == [int(top[1])] and "Grad-CAM" in panel.detail_title.text()

        # Exports go through the save dialog (stubbed here) and are real PNGs.
        _save_to(monkeypatch, tmp_path / "overlay")  # no suffix typed: .png is added
        assert panel.export_overlay() == tmp_path / "overlay.png"
        assert Image.open(tmp_path / "overlay.png").size == (VIEW_SIZE, VIEW_SIZE)
        _save_to(monkeypatch, tmp_path / "grid.png")
        panel.export_grid()
        width, height = Image.open(tmp_path / "grid.png").size
        assert width == height >= 1024  # a readable size, not the 183 px the screen shows (issue 27)
        panel.cam_check.setChecked(False)
        _save_to(monkeypatch, tmp_path / "channel.png")
        qtbot.mouseClick(panel.export_channel_button, Qt.MouseButton.LeftButton)
        channel = np.asarray(Image.open(tmp_path / "channel.png"))
        assert channel.shape[0] >= 256 and set(map(tuple, channel.reshape(-1, 3))) <= set(map(tuple, colormap_lut()))
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
        # A disk that is full says so in the panel (the atomic writer's OutputError), never a traceback.
        _save_to(monkeypatch, Path("/dev/full/grid.png"))
        assert panel.export_grid() is None
        assert "/dev/full" in panel.status.text()

        # A new image drops the old activations at once and captures again.
        with qtbot.waitSignal(panel.captured, timeout=TIMEOUT_MS):
            panel.set_image(SAMPLES_DIR / "coffee.jpg")
            assert panel.current_activation is None
        assert panel.current_layer == "layer4"  # the chosen layer is kept
    finally:
        panel.shutdown()


def test_layers_outside_a_small_budget_are_captured_in_the_worker(qtbot, loaded, photo: Path) -> None:
    panel = _open_panel(qtbot, loaded, photo, budget_bytes=4 * 2**20)
    try:
        captured, total = map(int, re.search(r"(\d+) of (\d+) layers captured", panel.status.text()).groups())
        assert total == 75 and captured < total  # the whole net (34 MB) does not fit 4 MB
        assert panel.probabilities is not None and panel.forward_passes == 1  # layer1 and fc in one pass
        with qtbot.waitSignal(panel.layerShown, timeout=TIMEOUT_MS) as shown:
            panel.select_layer("layer2.0.conv1")
        assert shown.args == ["layer2.0.conv1"]
        inputs = image_tensor(Image.open(photo), loaded.preprocessing)
        expected = capture(loaded.model, inputs, ["layer2.0.conv1"])["layer2.0.conv1"][0].numpy()
        assert_half_close(panel.current_activation, expected)
    finally:
        panel.shutdown()


def test_narrow_panel_stacks_the_detail_under_the_grid(qtbot, loaded, photo: Path) -> None:
    """As a side tab of the main window the panel is narrow: grid on top, enlarged view below."""
    panel = _open_panel(qtbot, loaded, photo)
    try:

        def below() -> bool:
            grid_bottom = panel.grid_canvas.mapTo(panel, panel.grid_canvas.rect().bottomLeft()).y()
            return panel.detail_canvas.mapTo(panel, QPoint(0, 0)).y() > grid_bottom

        assert not below()  # wide: side by side
        panel.resize(560, 900)
        qtbot.waitUntil(below, timeout=2000)
        panel.resize(1200, 720)
        qtbot.waitUntil(lambda: not below(), timeout=2000)
    finally:
        panel.shutdown()


def test_unreadable_image_is_reported_not_raised(qtbot, loaded, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    panel = FeaturePanel()
    qtbot.addWidget(panel)
    panel.set_model(loaded)
    panel.set_image(broken)
    with qtbot.waitSignal(panel.failed, timeout=TIMEOUT_MS) as failed:
        panel.show()
    assert "broken.jpg" in failed.args[0] and "broken.jpg" in panel.status.text()
    panel.shutdown()


def test_colormap_matches_pyqtgraph() -> None:
    """core.heatmaps reads pyqtgraph's tables without importing it; the GUI side may import it."""
    import pyqtgraph

    table = pyqtgraph.colormap.get("inferno").getLookupTable(nPts=256, mode=pyqtgraph.ColorMap.BYTE)
    assert np.abs(table[:, :3].astype(int) - colormap_lut("inferno").astype(int)).max() <= 1
