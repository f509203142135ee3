"""Output paths that would destroy input or a device node: refused or written through, never renamed over."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from resnet_desktop.cli import main


def _model_args(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "2"]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path)
    return path


def test_output_that_is_the_input_photo_is_refused_even_with_force(
    photo: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = photo.read_bytes()
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", str(photo), "--force"])
    assert code == 2
    assert photo.read_bytes() == before
    assert "is one of the inputs" in capsys.readouterr().err


def test_output_reaching_the_input_through_a_symlink_or_hard_link_is_refused(
    photo: Path, resnet18_weights: Path, tmp_path: Path
) -> None:
    before = photo.read_bytes()
    alias = tmp_path / "alias.json"
    alias.symlink_to(photo)
    hard = tmp_path / "hard.json"
    os.link(photo, hard)
    for output in (alias, hard):
        code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", str(output), "--force"])
        assert code == 2
    assert photo.read_bytes() == before
    assert alias.is_symlink()


def test_output_inside_a_walked_input_folder_is_refused(
    photo: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photo.parent
    out = folder / "sub" / "results.json"
    out.parent.mkdir()
    code = main(["classify", str(folder), *_model_args(resnet18_weights), "--output", str(out)])
    assert code == 2
    assert not out.exists()
    assert "inside the input folder" in capsys.readouterr().err


def test_explain_refuses_to_write_over_its_photo(photo: Path, resnet18_weights: Path) -> None:
    before = photo.read_bytes()
    code = main(["explain", str(photo), *_model_args(resnet18_weights)[:4], "--output", str(photo), "--force"])
    assert code == 2
    assert photo.read_bytes() == before


def test_evaluate_and_finetune_refuse_outputs_inside_their_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for name in ("cat", "dog"):
        (data / name).mkdir(parents=True)
        Image.new("RGB", (32, 32), "red").save(data / name / "a.png")
    assert main(["evaluate", str(data), "--output", str(data / "report.txt")]) == 2
    assert not (data / "report.txt").exists()
    assert "inside the input folder" in capsys.readouterr().err
    assert main(["finetune", str(data), "-o", str(data / "cat" / "m.safetensors")]) == 2
    assert sorted(p.name for p in (data / "cat").iterdir()) == ["a.png"]
    assert "inside the input folder" in capsys.readouterr().err


def test_dev_null_output_stays_a_device(photo: Path, resnet18_weights: Path) -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", "/dev/null", "--force"])
    assert code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes are POSIX")
def test_fifo_output_is_written_through_without_force(photo: Path, resnet18_weights: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", str(fifo), "--format", "json"])
    reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])[0]["path"] == str(photo)


def test_symlink_output_writes_its_target_and_keeps_the_link(
    photo: Path, resnet18_weights: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", str(link), "--force"])
    assert code == 0
    assert link.is_symlink()
    assert target.read_text().startswith(str(photo))


def test_finetune_checks_the_model_before_scanning_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    out = tmp_path / "m.safetensors"
    assert main(["finetune", str(missing), "-o", str(out), "--model", "resnet9000"]) == 2
    assert "unknown model 'resnet9000'; choose one of resnet18" in capsys.readouterr().err
    assert main(["finetune", str(missing), "-o", str(out), "--weights", str(tmp_path / "gone.pth")]) == 2
    assert "gone.pth: file not found" in capsys.readouterr().err
