"""Issue 27 item 8: exports a person can use.

The channel grid PNG is readable (>= 1024 px, not one pixel per activation); a save dialog never
suggests the app's own sample folder; each kind of export starts in the folder the last export of
that kind went to; Export Model suggests the loaded model's own name. (One CSV schema everywhere is
``test_main_window.test_export_round_trip``.)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt

from resnet_desktop.resources import assets_dir
from tests.gui.classify.test_parts import fruit_model_file
from tests.gui.harness import Person


def test_channel_grid_png_is_at_least_1024_px(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    person.trigger("Try Sample Images")
    person.wait_idle()
    panel = window.feature_panel
    tabs = window.side_tabs.tabBar()
    with qtbot.waitSignal(panel.captured, timeout=120_000):
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    index = panel.layer_tree.find_layer("layer4")
    assert index is not None
    with qtbot.waitSignal(panel.layerShown, timeout=120_000):
        panel.layer_tree.setCurrentIndex(index)
    assert panel.grid_canvas.image().width() < 300, "on screen the grid has one pixel per activation"

    target = tmp_path / "grid.png"
    person.dialogs.save(target)
    person.click(panel.export_grid_button)
    with Image.open(target) as png:
        assert min(png.size) >= 1024, png.size
    assert not Path(person.dialogs.starts[-1]).is_relative_to(assets_dir()), person.dialogs.starts[-1]


def test_save_dialogs_avoid_the_apps_folder_and_remember_each_kind(person: Person, tmp_path: Path) -> None:
    person.trigger("Try Sample Images")  # photos from the app's own assets/samples
    person.wait_idle()

    person.trigger("Export Results…")  # cancelled: only where it opened matters
    first = Path(person.dialogs.starts[-1])
    assert first.name == "results.csv"
    assert not first.is_relative_to(assets_dir().resolve()) and not first.is_relative_to(assets_dir())

    chosen = tmp_path / "reports" / "mine.csv"
    chosen.parent.mkdir()
    person.dialogs.save(chosen)
    person.trigger("Export Results…")
    assert chosen.is_file()
    person.trigger("Export Results…")
    assert Path(person.dialogs.starts[-1]).parent == chosen.parent, "the results kind remembers its folder"

    person.trigger("Export Model…")  # a kind of its own: not where the CSV went
    assert person.dialogs.calls[-1] == ("getSaveFileName", "Export Model")
    assert Path(person.dialogs.starts[-1]).parent != chosen.parent


def test_export_model_suggests_the_models_own_name(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        window.models.use_model_file(fruit_model_file(tmp_path))
    person.trigger("Export Model…")  # cancelled
    assert person.dialogs.calls[-1] == ("getSaveFileName", "Export Model")
    assert Path(person.dialogs.starts[-1]).name == "fruit.onnx"
