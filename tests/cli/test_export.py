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


def test_export_reduced_precisions_record_it_and_calibrate_on_a_folder(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    folder = tmp_path / "calibration"
    folder.mkdir()
    for photo in sample_photos[:3]:
        shutil.copy(photo, folder)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")  # skipped, the rest still calibrate
    base = ["export", "resnet18", "--weights", "random"]
    fp16, int8 = tmp_path / "half.onnx", tmp_path / "int8.onnx"
    assert main([*base, "--precision", "fp16", "--output", str(fp16)]) == 0
    assert main([*base, "--precision", "int8-static", "--calibration", str(folder), "--output", str(int8)]) == 0
    assert "needs mean top-5 overlap >= 4/5" in capsys.readouterr().err
    assert export.read_onnx_info(fp16).precision == "fp16"
    assert export.read_onnx_info(int8).precision == "int8-static"
    assert int8.stat().st_size < fp16.stat().st_size

    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main([*base, "--precision", "int8-static", "--calibration", str(empty), "--output", str(tmp_path / "x.onnx")])
        == 2
    )
    assert "no images found to calibrate the int8 model with" in capsys.readouterr().err
