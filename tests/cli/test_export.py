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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--output", "model.txt"], "model.txt: give a file name ending in .onnx"),
        (["--output", "m.onnx", "--calibration", "."], "--calibration is for --precision int8-static only"),
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
