"""Model > Backend > Fast Mode through the real menu: refused below the gate, used (with its figure) above it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction

from resnet_desktop.core.inference import backend_rule
from resnet_desktop.core.models.ref import ModelRef
from tests.gui.classify.test_model_export import model_menu_action

FAST = "&Fast Mode (int8, ONNX Runtime)"
TIMEOUT = 300_000


def _fast_action(window) -> QAction:
    return next(a for a in window.model_export.backend_menu.actions() if a.text().startswith(FAST))


def _window_with_photos(qtbot, make_window, app_settings, model: Path, photos: Path | None):
    """A window on ``model`` (Auto, measured ONNX Runtime faster) whose library index knows ``photos``."""
    backend_rule.record("resnet18", 64, backend_rule.threads_default(), torch_ips=10.0, onnxruntime_ips=20.0)
    app_settings.set_backend("auto")
    window = make_window(ModelRef(file=model))
    if photos is not None:
        with qtbot.waitSignal(window.service.jobFinished, timeout=TIMEOUT):
            window.classify([photos])  # fp32: the person's photos are now in the library index
    return window


def test_fast_mode_is_refused_for_a_model_whose_answers_change(
    qtbot, make_window, app_settings, tied_model: Path, digits: dict[str, Path]
) -> None:
    window = _window_with_photos(qtbot, make_window, app_settings, tied_model, digits["gate"])
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT):
        _fast_action(window).trigger()
    assert not _fast_action(window).isChecked() and not app_settings.fast_mode()
    text = window.banner.text.text()
    assert "Fast mode refused: the int8 model would change answers (refused: " in text
    assert "top-1 agreement with fp32 on" in text and text.endswith("Running fp32 instead.")
    assert window.model_info.backend == "onnxruntime"  # fp32: nothing int8 runs
    model_menu_action(window, "Running: ONNX Runtime, fp32 (auto: measured ONNX Runtime 20.0 vs PyTorch 10.0 images/s)")


def test_fast_mode_runs_int8_when_its_answers_hold_and_shows_the_figure(
    qtbot, make_window, app_settings, digits_model: Path, digits: dict[str, Path]
) -> None:
    window = _window_with_photos(qtbot, make_window, app_settings, digits_model, digits["gate"])
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT):
        _fast_action(window).trigger()
    assert _fast_action(window).isChecked() and app_settings.fast_mode()
    assert window.model_info.backend == "onnxruntime int8"
    figure = window.model_info.fast_figure
    assert figure is not None and "top-1 agreement with fp32 on" in figure
    assert _fast_action(window).text() == f"{FAST} — {figure}"
    model_menu_action(window, "Running: ONNX Runtime, Fast Mode int8 (auto: Fast Mode runs on ONNX Runtime)")
    assert f"Fast Mode (int8): {figure} of yours." in window.banner.text.text()


def test_fast_mode_without_enough_photos_cannot_be_verified(
    qtbot, make_window, app_settings, digits_model: Path
) -> None:
    window = _window_with_photos(qtbot, make_window, app_settings, digits_model, None)
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT):
        _fast_action(window).trigger()
    assert not _fast_action(window).isChecked()
    text = window.banner.text.text()
    assert "Fast mode cannot be verified: it needs at least 100 of your photos" in text and "0 were available" in text
