"""``resnet-desktop finetune``: refuses bad folders and existing outputs, trains, reports, saves."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.finetune.synthetic import make_labeled_folder


def test_bad_layout_exits_2_with_the_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=[3, 1])
    out = tmp_path / "m.safetensors"
    code = main(["finetune", str(root), "--output", str(out), "--model", "resnet18", "--weights", "random"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot be used for training" in err and "Class 'squares'" in err and "has 1 image" in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_existing_output_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=3)
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"precious")
    code = main(["finetune", str(root), "-o", str(out), "--model", "resnet18", "--weights", "random"])
    assert code == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"


def test_finetune_trains_reports_and_saves_a_loadable_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from resnet_desktop.core.models.zoo import load_model

    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=5, seed=2)
    out = tmp_path / "models" / "mine.safetensors"
    # A missing output folder is refused before any training, as in every command.
    assert main(["finetune", str(root), "-o", str(out), "--model", "resnet18", "--weights", "random"]) == 2
    assert "does not exist" in capsys.readouterr().err
    out.parent.mkdir()
    code = main(
        [
            "finetune",
            str(root),
            "-o",
            str(out),
            "--model",
            "resnet18",
            "--weights",
            "random",
            "--epochs",
            "3",
            "--augment",
            "1",
            "--balance",
            "--seed",
            "1",
            "--device",
            "cpu",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Validation accuracy:" in captured.out and "precision" in captured.out
    assert "[features]" in captured.err and "epoch 1/3" in captured.err
    loaded = load_model(weights=out)
    assert loaded.categories == ["circles", "squares"]
    assert loaded.meta["metrics"]["settings"]["balance"] is True
