"""``classify --precision fast`` and ``export --precision int8-*`` through the quality gate, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_desktop.cli import main


def test_classify_fast_refuses_a_model_whose_answers_change(
    tied_model: Path, digits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    args = ["classify", str(digits["test"]), "--model", str(tied_model), "--precision", "fast"]
    code = main([*args, "--calibration", str(digits["gate"]), "--format", "json", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "Fast mode refused: the int8 model would change answers (refused: " in err
    assert "top-1 agreement with fp32 on" in err and "needs >= 98% and no class losing more than 2%" in err
    assert "Traceback" not in err


def test_classify_fast_runs_int8_when_it_agrees_and_keeps_its_results_apart(
    digits_model: Path, digits: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = ["--model", str(digits_model), "--topk", "1", "--format", "json"]
    assert main(["classify", str(digits["test"]), *model]) == 0  # fp32 first: its rows go to the index
    fp32 = json.loads(capsys.readouterr().out)
    code = main(["classify", str(digits["test"]), *model, "--precision", "fast", "--calibration", str(digits["gate"])])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "(onnxruntime, fast)" in captured.err
    assert "Note: Fast Mode (int8): " in captured.err and "% top-1 agreement with fp32 on" in captured.err
    assert f"From the library index: 0; newly classified: {len(fp32)}." in captured.err  # never fp32's rows
    fast = json.loads(captured.out)
    same = sum(a["predictions"][0]["index"] == b["predictions"][0]["index"] for a, b in zip(fp32, fast, strict=True))
    assert same / len(fp32) >= 0.98


def test_classify_fast_on_pytorch_is_a_usage_error(digits_model: Path, digits: dict[str, Path], capsys) -> None:
    code = main(
        ["classify", str(digits["test"]), "--model", str(digits_model), "--precision", "fast", "--backend", "torch"]
    )
    assert code == 2
    assert "fast mode is the int8 model, which only ONNX Runtime runs" in capsys.readouterr().err


def test_export_int8_refuses_a_model_whose_answers_change(
    tied_model: Path, digits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = tmp_path / "tied-int8.onnx"
    common = ["--precision", "int8-static", "--calibration", str(digits["gate"])]
    assert main(["export", "--model", str(tied_model), *common, "--output", str(refused)]) == 2
    err = capsys.readouterr().err
    assert "The int8 model would change answers, so it was not written: refused: " in err
    assert not refused.exists()


def test_export_int8_is_written_when_the_gate_passes(
    digits_model: Path, digits: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--precision", "int8-static", "--calibration", str(digits["gate"])]
    written = tmp_path / "digits-int8.onnx"
    assert main(["export", "--model", str(digits_model), *common, "--output", str(written), "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert written.exists() and figures["gate"]["verdict"] == "passed"
    assert figures["gate"]["agreeing"] / figures["gate"]["photos"] >= 0.98
    assert "verified: passed: " in captured.err


def test_export_int8_without_photos_cannot_be_verified(digits_model: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.onnx"
    assert main(["export", "--model", str(digits_model), "--precision", "int8-dynamic", "--output", str(target)]) == 2
    assert "The int8 model cannot be verified, so it was not written" in capsys.readouterr().err
    assert not target.exists()
    assert main(["export", "--model", str(digits_model), "--calibration", "x", "--output", str(target)]) == 2
    assert "--calibration is for the int8 precisions only" in capsys.readouterr().err
