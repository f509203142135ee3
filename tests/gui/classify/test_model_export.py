"""Model > Export Model… and Model > Backend, driven through the real menu actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from resnet_desktop.core.models import export, quantize
from resnet_desktop.gui.common.model_export import ONNX_FILTER, ONNX_FP16_FILTER, ONNX_INT8_FILTER, TORCHSCRIPT_FILTER


def model_menu_action(window, text: str):
    """The action called ``text`` in the window's real Model menu (or its Backend submenu)."""
    for top in window.menuBar().actions():
        if top.text() == "&Model":
            menus = [top.menu()]
            while menus:
                menu = menus.pop()
                for action in menu.actions():
                    if action.text() == text:
                        return action
                    if action.menu() is not None:
                        menus.append(action.menu())
    raise AssertionError(f"no {text!r} in the Model menu")


def choose_save_path(monkeypatch: pytest.MonkeyPatch, path: Path | None, chosen: str = ONNX_FILTER) -> list[str]:
    asked: list[str] = []

    def fake(_parent, caption, _start, filters):
        asked.append(filters)
        return (str(path), chosen) if path is not None else ("", "")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    return asked


def test_export_model_writes_a_verified_onnx_of_the_loaded_model(qtbot, window, tmp_path, monkeypatch) -> None:
    target = tmp_path / "mine.onnx"
    asked = choose_save_path(monkeypatch, target)
    action = model_menu_action(window, "&Export Model…")
    assert action.isEnabled()
    with qtbot.waitSignal(window.model_export.exported, timeout=120_000):
        action.trigger()
        assert not action.isEnabled()  # one export at a time
    assert asked[0].split(";;") == [ONNX_FILTER, ONNX_FP16_FILTER, ONNX_INT8_FILTER, TORCHSCRIPT_FILTER]
    info = export.read_onnx_info(target)
    assert info.arch == "resnet18" and info.class_names == window.model_info.loaded.categories
    assert window.banner.isVisible()
    assert "Verified: top-1 equal on 7/7" in window.banner.text.text()
    qtbot.waitUntil(lambda: action.isEnabled(), timeout=10_000)


def test_export_refused_by_verification_shows_why_and_writes_nothing(qtbot, window, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(quantize, "FP32_BOUND", 0.0)
    choose_save_path(monkeypatch, tmp_path / "strict.onnx")
    model_menu_action(window, "&Export Model…").trigger()
    qtbot.waitUntil(lambda: window.model_export.task is None, timeout=120_000)
    assert window.banner.title.text() == "The model was not exported"
    assert "does not match PyTorch, so it was not written" in window.banner.text.text()
    assert not (tmp_path / "strict.onnx").exists()


def test_export_offers_fp16_and_int8_and_int8_needs_photos_to_be_verified(qtbot, window, tmp_path, monkeypatch) -> None:
    half = tmp_path / "half.onnx"
    choose_save_path(monkeypatch, half, ONNX_FP16_FILTER)
    with qtbot.waitSignal(window.model_export.exported, timeout=120_000):
        model_menu_action(window, "&Export Model…").trigger()
    assert export.read_onnx_info(half).precision == "fp16"
    qtbot.waitUntil(lambda: window.model_export.task is None, timeout=10_000)
    small = tmp_path / "small.onnx"
    choose_save_path(monkeypatch, small, ONNX_INT8_FILTER)
    model_menu_action(window, "&Export Model…").trigger()
    qtbot.waitUntil(lambda: window.model_export.task is None, timeout=120_000)
    assert window.banner.title.text() == "The model was not exported"
    assert "The int8 model cannot be verified, so it was not written" in window.banner.text.text()
    assert not small.exists()  # the library index knows none of this person's photos yet


def test_cancelled_save_dialog_exports_nothing(qtbot, window, monkeypatch) -> None:
    choose_save_path(monkeypatch, None)
    model_menu_action(window, "&Export Model…").trigger()
    assert window.model_export.task is None


def test_without_a_model_export_is_disabled_and_a_backend_choice_waits(qtbot, make_window, app_settings) -> None:
    window = make_window(start=False)
    assert not model_menu_action(window, "&Export Model…").isEnabled()
    model_menu_action(window, "&ONNX Runtime").trigger()
    assert window.status.message.text() == "Backend: ONNX Runtime. It applies to the next model that is loaded."
    assert app_settings.backend() == "onnxruntime" and not window.service.is_loading


def test_backend_setting_reloads_on_onnxruntime_and_is_remembered(qtbot, window, app_settings, make_window) -> None:
    action = model_menu_action(window, "&ONNX Runtime")
    assert model_menu_action(window, "&PyTorch").isChecked()  # the tests' setting (the app's default is Auto)
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        action.trigger()
    assert app_settings.backend() == "onnxruntime"
    assert window.service.classifier_backend == "onnxruntime"
    model_menu_action(window, "Running: ONNX Runtime, fp32 (you chose ONNX Runtime)")
    again = make_window(start=False)
    assert model_menu_action(again, "&ONNX Runtime").isChecked()
