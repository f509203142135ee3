"""The wizard's last page: "Export to ONNX…" writes the saved classifier as a verified ONNX file."""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.models import export, modelfile, quantize
from resnet_desktop.gui.common.model_export import ONNX_FILTER
from tests.gui.finetune.conftest import TRAIN_TIMEOUT_MS, click, press_next, to_trained


def _saved(qtbot, wizard, folder: Path) -> Path:
    to_trained(qtbot, wizard)
    press_next(qtbot, wizard)  # results
    press_next(qtbot, wizard)  # save
    page = wizard.save_page
    assert not page.export_button.isEnabled()  # nothing saved yet: nothing to export
    page.location.setText(str(folder))
    click(qtbot, page.save_button)
    qtbot.waitUntil(lambda: page.saved_path is not None, timeout=30_000)
    return page.saved_path


def test_export_after_saving_writes_an_onnx_with_the_class_names(
    qtbot, make_wizard, labeled: Path, tmp_path: Path, dialogs
) -> None:
    wizard = make_wizard(labeled)
    saved = _saved(qtbot, wizard, tmp_path / "models")
    page = wizard.save_page
    target = tmp_path / "exports" / "pets"  # no suffix typed: the chosen filter's is added
    target.parent.mkdir()
    dialogs.save(target, ONNX_FILTER)

    click(qtbot, page.export_button)
    assert not page.export_button.isEnabled()  # one export at a time
    qtbot.waitUntil(lambda: page.export_button.isEnabled(), timeout=TRAIN_TIMEOUT_MS)

    written = target.with_suffix(".onnx")
    info = export.read_onnx_info(written)
    assert info.class_names == modelfile.read_meta(saved).class_names == sorted(d.name for d in labeled.iterdir())
    assert info.arch == "resnet18"
    assert f"Wrote {written}" in page.status.text() and "Verified: top-1 equal" in page.status.text()
    assert dialogs.kinds() == ["getSaveFileName"]


def test_export_refused_by_verification_says_why_and_writes_nothing(
    qtbot, make_wizard, labeled: Path, tmp_path: Path, dialogs, monkeypatch
) -> None:
    wizard = make_wizard(labeled)
    _saved(qtbot, wizard, tmp_path / "models")
    page = wizard.save_page
    monkeypatch.setattr(quantize, "FP32_BOUND", 0.0)
    dialogs.save(tmp_path / "strict.onnx", ONNX_FILTER)

    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: page.export_button.isEnabled(), timeout=TRAIN_TIMEOUT_MS)

    assert not (tmp_path / "strict.onnx").exists()
    assert "Not exported" in page.status.text() and "does not match PyTorch" in page.status.text()
    assert page.saved_path is not None and page.saved_path.exists()  # the saved model is untouched


def test_cancelled_save_dialog_exports_nothing(qtbot, make_wizard, labeled: Path, tmp_path: Path, dialogs) -> None:
    wizard = make_wizard(labeled)
    _saved(qtbot, wizard, tmp_path / "models")
    page = wizard.save_page
    before = page.status.text()

    click(qtbot, page.export_button)

    assert page.export_button.isEnabled() and page.status.text() == before
    assert not list(tmp_path.rglob("*.onnx"))
