"""``resnet-desktop export``: writes a verified file, refuses bad output names and damaged models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.models import export
from tests.core.models.test_export import fine_tuned_file


def test_export_imagenet_architecture_prints_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r18.onnx"
    assert main(["export", "resnet18", "--weights", "random", "--output", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["passed"] is True and figures["top1_equal"] == figures["inputs"] == 7
    assert figures["size_bytes"] == out.stat().st_size
    assert "verified: top-1 equal on 7/7" in captured.err
    assert export.read_onnx_info(out).arch == "resnet18"


def test_export_fine_tuned_model_file_given_as_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fruit.onnx"
    assert main(["export", str(fine_tuned_file(tmp_path)), "--output", str(out)]) == 0
    assert export.read_onnx_info(out).class_names == ["apple", "banana", "cherry"]
    assert "Wrote" in capsys.readouterr().err


def test_export_plain_weights_file_reads_the_architecture_off_it(tmp_path: Path, resnet18_weights: Path) -> None:
    out = tmp_path / "r18.onnx"
    assert main(["export", str(resnet18_weights), "--output", str(out)]) == 0
    assert export.read_onnx_info(out).arch == "resnet18"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--output", "model.txt"], "model.txt: give a file name ending in .onnx"),
        (["--output", "m.onnx", "--calibration", "."], "--calibration is for the int8 precisions only"),
        (["--output", "existing.onnx"], "existing.onnx already exists; use --force to replace it"),
    ],
)
def test_export_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing.onnx").write_bytes(b"keep me")
    assert main(["export", "resnet18", "--weights", "random", *extra]) == 2
    assert f"resnet-desktop export: error: {message}\n" == capsys.readouterr().err
    assert (tmp_path / "existing.onnx").read_bytes() == b"keep me"


def test_export_reduced_precisions_record_it_and_int8_is_refused_unverified(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """fp16 is written and recorded; int8 needs 100 photos not used to calibrate it (the gate's rule,
    tests/cli/test_fast_mode.py shows it accepted and refused on digits): with 3 it is not written."""
    import shutil

    folder = tmp_path / "calibration"
    folder.mkdir()
    for photo in sample_photos[:3]:
        shutil.copy(photo, folder)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    base = ["export", "resnet18", "--weights", "random"]
    fp16, int8 = tmp_path / "half.onnx", tmp_path / "int8.onnx"
    assert main([*base, "--precision", "fp16", "--output", str(fp16)]) == 0
    assert export.read_onnx_info(fp16).precision == "fp16"
    capsys.readouterr()
    assert main([*base, "--precision", "int8-static", "--calibration", str(folder), "--output", str(int8)]) == 2
    err = capsys.readouterr().err
    assert "The int8 model cannot be verified, so it was not written" in err
    assert "needs at least 100 of your photos that were not used to calibrate it (3 available)" in err
    assert not int8.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main([*base, "--precision", "int8-static", "--calibration", str(empty), "--output", str(tmp_path / "x.onnx")])
        == 2
    )
    assert "empty: no images found to calibrate and verify the fast model on" in capsys.readouterr().err
