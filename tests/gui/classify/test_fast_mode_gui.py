"""Model > Backend > Fast Mode through the real menu: refused below the gate, used (with its figure) above it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from resnet_desktop.core.inference import backend_rule
from resnet_desktop.core.models.ref import ModelRef
from tests.gui.classify.test_model_export import model_menu_action

FAST = "&Fast Mode (int8, ONNX Runtime)"
TIMEOUT = 300_000


@pytest.fixture(scope="module")
def clear_digits(digits_model: Path, digits: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gate photos whose fp32 answer is clear (top-1 ahead of the second by 0.5). Unlabeled index
    photos are grouped by the fp32 answer and a class may lose at most 2% of them, so with this
    random-feature backbone one borderline photo of a rarely predicted digit flipping on one CPU's int8
    kernels refuses the model there; on clear photos its int8 answers hold on every CPU."""
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import load_model

    folder = tmp_path_factory.mktemp("clear-digits")
    engine = Engine(load_model(weights=str(digits_model)), "cpu")
    kept = 0
    for prediction in engine.classify(sorted(digits["gate"].rglob("*.png")), topk=2):
        first, second = prediction.scores
        if first.probability - second.probability >= 0.5:
            shutil.copy(prediction.path, folder / f"{prediction.path.parent.name}-{prediction.path.name}")
            kept += 1
    assert kept >= 300, kept  # calibration and more than the gate's 100 verification photos
    return folder


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
    qtbot, make_window, app_settings, digits_model: Path, clear_digits: Path
) -> None:
    window = _window_with_photos(qtbot, make_window, app_settings, digits_model, clear_digits)
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT):
        _fast_action(window).trigger()
    assert _fast_action(window).isChecked() and app_settings.fast_mode(), window.banner.text.text()
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
