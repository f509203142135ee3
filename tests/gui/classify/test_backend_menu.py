"""Model > Backend through the real menu: never a contradiction, always what runs and why, and a model
whose ONNX Runtime graph is cached runs without torch until something needs torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.core.inference import backend_rule
from resnet_desktop.core.inference.classifier import open_classifier
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.main_window import MainWindow
from tests.gui.classify.test_model_export import model_menu_action

FAST = "&Fast Mode (int8, ONNX Runtime)"


def test_choosing_pytorch_turns_fast_mode_off_and_says_why(make_window, app_settings) -> None:
    app_settings.set_backend("onnxruntime")
    app_settings.set_fast_mode(True)
    window = make_window(start=False)
    assert model_menu_action(window, FAST).isChecked()
    model_menu_action(window, "&PyTorch").trigger()
    assert model_menu_action(window, "&PyTorch").isChecked() and not model_menu_action(window, FAST).isChecked()
    assert (app_settings.backend(), app_settings.fast_mode()) == ("torch", False)
    assert window.status.message.text() == (
        "Backend: PyTorch. It applies to the next model that is loaded. "
        "Fast Mode is off: the int8 model runs only on ONNX Runtime."
    )


def test_fast_mode_with_pytorch_chosen_moves_the_backend_to_auto(make_window, app_settings) -> None:
    window = make_window(start=False)
    assert model_menu_action(window, "&PyTorch").isChecked()
    model_menu_action(window, FAST).trigger()
    assert model_menu_action(window, "&Auto (fastest measured on this machine)").isChecked()
    assert model_menu_action(window, FAST).isChecked()
    assert (app_settings.backend(), app_settings.fast_mode()) == ("auto", True)
    assert window.service.backend == "auto" and window.service.precision == "fast"
    assert window.status.message.text().endswith("The backend is now Auto: Fast Mode runs on ONNX Runtime.")


def test_a_remembered_contradiction_is_made_consistent(make_window, app_settings) -> None:
    app_settings.set_fast_mode(True)  # PyTorch + Fast Mode, as older versions could remember
    window = make_window(start=False)
    assert model_menu_action(window, "&PyTorch").isChecked() and not model_menu_action(window, FAST).isChecked()
    assert (window.service.backend, window.service.precision) == ("torch", "fp32")


@pytest.mark.parametrize(("torch_ips", "runs"), [(10.0, "ONNX Runtime"), (30.0, "PyTorch")])
def test_auto_runs_what_was_measured_faster_and_the_menu_says_so(
    qtbot, make_window, app_settings, resnet18_weights: Path, sample_photos: list[Path], torch_ips: float, runs: str
) -> None:
    ref = ModelRef.parse("resnet18", str(resnet18_weights))
    open_classifier(ref, backend="onnxruntime", device="cpu")  # a start before this one cached the graph
    backend_rule.record("resnet18", 224, backend_rule.threads_default(), torch_ips=torch_ips, onnxruntime_ips=20.0)
    app_settings.set_backend("auto")
    window = make_window(ref)
    measured = f"ONNX Runtime 20.0 vs PyTorch {torch_ips:.1f} images/s"
    running = model_menu_action(window, f"Running: {runs}, fp32 (auto: measured {measured})")
    assert not running.isEnabled()  # information, not a choice
    assert window.service.classifier_backend == ("onnxruntime" if runs == "ONNX Runtime" else "torch")
    assert (window.model_info.loaded is None) == (runs == "ONNX Runtime")  # torch-free: no torch model held
    with qtbot.waitSignal(window.service.jobFinished, timeout=120_000):
        window.classify(sample_photos[:2])
    assert window.results.rowCount() == 2
    qtbot.waitUntil(lambda: window.model_export.backend_menu.title() == f"&Backend ({runs})", timeout=10_000)


def torch_free_window_with_one_row(qtbot, make_window, app_settings, weights: Path, photos: list[Path]) -> MainWindow:
    """A window on ONNX Runtime from a cached graph (no torch model held), one photo classified and selected."""
    ref = ModelRef.parse("resnet18", str(weights))
    open_classifier(ref, backend="onnxruntime", device="cpu")  # a start before this one cached the graph
    app_settings.set_backend("onnxruntime")
    window = make_window(ref)
    assert window.model_info.loaded is None
    with qtbot.waitSignal(window.service.jobFinished, timeout=120_000):
        window.classify(photos[:1])
    window.results_panel.select_row(0)
    return window


def test_feature_maps_load_the_torch_model_only_when_they_are_shown(
    qtbot, make_window, app_settings, resnet18_weights: Path, sample_photos: list[Path]
) -> None:
    window = torch_free_window_with_one_row(qtbot, make_window, app_settings, resnet18_weights, sample_photos)
    assert window.model_info.loaded is None  # the Features tab is not shown: nothing needs torch yet
    with qtbot.waitSignal(window.service.torchModelReady, timeout=120_000):
        window.side_tabs.setCurrentIndex(1)  # Features
        assert window.status.message.text() == f"Loading {window.model_info.source} for this view…"
    assert window.model_info.loaded is not None
    # What the person reads once it is loaded (the "Loading …" line used to stay).
    source = window.model_info.source
    assert window.status.message.text() == f"Loaded {source} with PyTorch for feature maps, Grad-CAM and export."
    qtbot.waitUntil(lambda: window.feature_panel._tree.is_empty() is False, timeout=120_000)


def test_when_the_pytorch_copy_cannot_load_only_feature_maps_are_unavailable(
    qtbot, make_window, app_settings, resnet18_weights: Path, sample_photos: list[Path], tmp_path: Path
) -> None:
    weights = tmp_path / "mine.pth"
    weights.write_bytes(resnet18_weights.read_bytes())
    window = torch_free_window_with_one_row(qtbot, make_window, app_settings, weights, sample_photos)
    weights.unlink()  # the person moved the file after the app had started from its cached graph
    with qtbot.waitSignal(window.service.torchModelFailed, timeout=120_000):
        window.side_tabs.setCurrentIndex(1)  # Features
    source = window.model_info.source
    assert window.banner.title.text() == "Feature maps are unavailable"
    assert window.banner.text.text().startswith(f"They need {source} loaded with PyTorch, which failed: ")
    assert "mine.pth" in window.banner.text.text()
    assert window.banner.text.text().endswith(f"Classifying goes on with {source} as before.")
    assert window.status.message.text() == (
        f"Feature maps, Grad-CAM and export are unavailable; still classifying with {source}."
    )
    assert window.feature_panel.grid_info.text().startswith("Feature maps are unavailable: ")
    assert window.model_info.source == source and window.service.classifier_backend == "onnxruntime"
    # The model that runs is untouched: the next photo is classified as before.
    with qtbot.waitSignal(window.service.jobFinished, timeout=120_000):
        window.classify(sample_photos[1:2])
    assert window.results.rowCount() == 2
    # Retry once the file is back: the banner goes, feature maps come.
    weights.write_bytes(resnet18_weights.read_bytes())
    with qtbot.waitSignal(window.service.torchModelReady, timeout=120_000):
        window.banner.click("Retry")
    assert not window.banner.isVisible() or window.banner.title.text() != "Feature maps are unavailable"
    qtbot.waitUntil(lambda: window.feature_panel._tree.is_empty() is False, timeout=120_000)
