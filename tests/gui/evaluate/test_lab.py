"""The model lab as a person uses it: Tools menu, file dialogs, buttons, matrix clicks, Grad-CAM, export.

File dialogs are answered by monkeypatching only ``QFileDialog``'s static calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from tests.evaluate_data import finetuned_model_file, heldout_folder


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finetuned_model_file(tmp_path_factory)


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return heldout_folder(tmp_path_factory)


def answer_dialogs(
    monkeypatch: pytest.MonkeyPatch,
    *,
    folder: Path | None = None,
    open_file: Path | None = None,
    save: Path | None = None,
) -> None:
    if folder is not None:
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    if open_file is not None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(open_file), "")))
    if save is not None:
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(save), "")))


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_tab(qtbot, tabs, index: int) -> None:
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def click_item(qtbot, gallery, row: int) -> None:
    rect = gallery.visualItemRect(gallery.item(row))
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def open_lab(window, action_name: str = "evaluate_action"):
    getattr(window, action_name).trigger()
    lab = window.tools.lab
    assert lab is not None and lab.isVisible()
    return lab


def test_evaluate_click_a_cell_see_grad_cam_and_export(
    qtbot,
    window,
    resnet18_weights: Path,
    model_file: Path,
    heldout: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from resnet_desktop.core.evaluate.run import run_evaluation
    from resnet_desktop.core.models.zoo import load_model

    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.evaluate_action in menu.actions() and window.bench_action in menu.actions()
    lab = open_lab(window)
    panel = lab.evaluate
    # The lab starts with the window's current model; replace it with the fine-tuned file.
    assert panel.models.texts() == [f"resnet18:{resnet18_weights}"]
    panel.models.list.setCurrentRow(0)
    click(qtbot, panel.models.remove_button)
    answer_dialogs(monkeypatch, folder=heldout, open_file=model_file, save=tmp_path / "out" / "report")
    click(qtbot, panel.models.file_button)
    assert panel.models.texts() == [str(model_file)]
    browse = next(b for b in panel.findChildren(type(panel.run_button)) if b.text() == "Browse…")
    click(qtbot, browse)
    assert panel.folder_edit.text() == str(heldout)

    with qtbot.waitSignal(panel.finished, timeout=120_000):
        click(qtbot, panel.run_button)
        assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    expected = run_evaluation(load_model(weights=model_file), heldout, device="cpu")
    report = panel.current_report()
    assert report is not None and report.confusion.tolist() == expected.confusion.tolist()
    assert f"Top-1 {expected.top1:.1%}" in panel.view.headline.text()
    assert panel.view.per_class.rowCount() == 3
    assert panel.view.per_class.item(0, 5).text() == "5"

    view = panel.view
    click_tab(qtbot, view.tabs, 1)
    row, column = max(
        ((r, c) for r in range(3) for c in range(3)), key=lambda rc: (rc[0] != rc[1], report.confusion[rc])
    )
    qtbot.mouseClick(
        view.matrix.viewport(), Qt.MouseButton.LeftButton, pos=view.matrix.cell_center(row, column).toPoint()
    )
    count = int(report.confusion[row, column])
    assert view.cell_gallery.count() == count > 0
    assert (
        f"{count} image(s) of '{report.rows[row]}' predicted as '{report.columns[column]}'" in view.cell_caption.text()
    )

    click_item(qtbot, view.cell_gallery, 0)
    dialog = lab.cam_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.pair is not None, timeout=60_000)
    chosen = report.cell(row, column)[0]
    assert dialog.pair.path == chosen.path
    assert (dialog.pair.true_index, dialog.pair.pred_index) == (chosen.true_index, chosen.pred_index)
    assert dialog.pair.true_overlay.shape == dialog.pair.pred_overlay.shape == (320, 320, 3)
    # What the person reads: plain text, line breaks as lines (it showed "…dots_02.jpg<br>Warm colours…").
    lines = dialog.status.text().split("\n")
    assert lines[0] == str(chosen.path)
    assert lines[1] == "Warm colours: the parts of the photo that raised each class's score (layer4)."
    assert dialog.status.textFormat() == Qt.TextFormat.PlainText and "<" not in dialog.status.text()
    true_p, pred_p = dialog.pair.true_probability, dialog.pair.pred_probability
    assert dialog.true_caption.text() == f"True: {report.rows[row]} (probability {true_p:.1%})"
    assert dialog.pred_caption.text() == f"Predicted: {report.columns[column]} (probability {pred_p:.1%})"
    assert dialog.true_caption.font().bold() and dialog.true_caption.textFormat() == Qt.TextFormat.PlainText
    assert not dialog.true_image.pixmap().isNull()

    (tmp_path / "out").mkdir()
    click(qtbot, panel.export_button)
    written = tmp_path / "out" / "report.json"
    data = json.loads(written.read_text())
    assert data["suggested_threshold"] == expected.suggested_threshold
    assert data["confusion"]["matrix"] == expected.confusion.tolist()
    png = QImage(str(tmp_path / "out" / "report-confusion.png"))
    assert not png.isNull() and png.width() > 100


def test_speed_tab_times_a_model_and_exports(qtbot, window, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lab = open_lab(window, "bench_action")
    assert lab.tabs.currentIndex() == 1
    speed = lab.speed
    assert "speed does not depend on the values" in speed.explanation.text()
    speed.set_checked(["resnet18"])
    speed.batches.setValue(1)
    speed.repeats.setValue(2)
    with qtbot.waitSignal(speed.finished, timeout=120_000):
        click(qtbot, speed.run_button)
    assert speed.table.rowCount() == 1 and speed.table.item(0, 0).text() == "resnet18"
    assert speed.table.item(0, 3).text() == "1.00x" and float(speed.table.item(0, 2).text()) > 0
    assert speed.chart.values == [speed.results[0].images_per_second]
    answer_dialogs(monkeypatch, save=tmp_path / "bench.csv")
    click(qtbot, speed.export_button)
    assert (tmp_path / "bench.csv").read_text().startswith("label,arch,weights")
    assert not QImage(str(tmp_path / "bench-chart.png")).isNull()


def test_without_a_model_and_with_bad_input(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window(start=False)  # no model yet: the lab still opens, with an empty list
    lab = open_lab(window)
    panel = lab.evaluate
    assert panel.models.texts() == []
    click(qtbot, panel.run_button)
    assert "Choose a labeled folder" in panel.status.text()
    panel.folder_edit.setText(str(tmp_path))
    click(qtbot, panel.run_button)
    assert "Add at least one model" in panel.status.text()
    panel.models.entry.setCurrentText("vgg16")
    click(qtbot, panel.models.add_button)
    assert "unknown model 'vgg16'; choose one of resnet18" in panel.models.error.text() and panel.models.texts() == []
    panel.models.entry.setCurrentText("resnet18:random")
    click(qtbot, panel.models.add_button)
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        click(qtbot, panel.run_button)
    assert "has no subfolders" in panel.status.text()  # the core's message, shown inline
    assert panel.run_button.isEnabled() and not panel.export_button.isEnabled()
    # The same action raises the same window; closing it stops its threads.
    window.evaluate_action.trigger()
    assert window.tools.lab is lab
    lab.close()
    qtbot.waitUntil(lambda: window.tools.lab is None)


def test_cancel_with_escape(qtbot, make_window, heldout: Path, model_file: Path) -> None:
    window = make_window(start=False)
    lab = open_lab(window)
    panel = lab.evaluate
    panel.folder_edit.setText(str(heldout))
    panel.models.entry.setCurrentText(str(model_file))
    click(qtbot, panel.models.add_button)
    lab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is lab)
    with qtbot.waitSignal(panel.finished, timeout=120_000):
        click(qtbot, panel.run_button)
        qtbot.keyClick(QApplication.focusWidget() or lab, Qt.Key.Key_Escape)
    assert "Cancelled; no report was made" in panel.status.text()
    assert panel.reports == [] and panel.run_button.isEnabled()


def test_the_lab_modules_import_no_torch() -> None:
    code = "import sys, resnet_desktop.gui.main_window; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
