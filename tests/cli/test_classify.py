"""``resnet-desktop classify``: output formats, per-file errors, exit codes, safe --output."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resnet_desktop.cli import main
from resnet_desktop.cli.common import ClassifyProgressLine as ProgressLine
from resnet_desktop.core.images import discover
from resnet_desktop.core.inference.engine import Progress
from tests.badfiles import make_bad_files
from tests.helpers import REPO_ROOT


@pytest.fixture
def mixed_folder(tmp_path: Path, sample_photos: list[Path]) -> tuple[Path, dict[str, str]]:
    """Real photos plus one file of every bad kind; returns the folder and name -> reason part."""
    folder = tmp_path / "mixed"
    expected = make_bad_files(folder)
    for photo in sample_photos:
        shutil.copy(photo, folder / photo.name)
    return folder, expected


@pytest.fixture
def good_folder(tmp_path: Path, sample_photos: list[Path]) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    for photo in sample_photos[:3]:
        shutil.copy(photo, folder / photo.name)
    return folder


def _model_args(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "4"]


def _check_mixed_json(records: list[dict], folder: Path, expected: dict[str, str]) -> None:
    assert [r["path"] for r in records] == [str(p) for p in discover([folder])]
    errors = {Path(r["path"]).name: r["error"] for r in records if "error" in r}
    assert set(errors) == set(expected)
    for name, reason in errors.items():
        assert expected[name] in reason
    good = [r for r in records if "error" not in r]
    assert len(good) == 5  # the 5 photos; dir.jpg/ is an error row, its contents are not read
    for record in good:
        assert len(record["predictions"]) == 5
        assert set(record["predictions"][0]) == {"label", "index", "probability"}


def test_mixed_folder_json_in_process(
    mixed_folder: tuple[Path, dict[str, str]], resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, expected = mixed_folder
    code = main(["classify", str(folder), *_model_args(resnet18_weights), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    _check_mixed_json(json.loads(out), folder, expected)
    assert "Traceback" not in out + err
    assert f"{len(expected)} file(s) could not be classified" in err
    for name in expected:  # each failure listed once on stderr, with its reason
        assert err.count(f"{folder / name}: ") == 1


def test_mixed_folder_table_via_subprocess(mixed_folder: tuple[Path, dict[str, str]], resnet18_weights: Path) -> None:
    folder, expected = mixed_folder
    done = subprocess.run(
        [sys.executable, "-m", "resnet_desktop", "classify", str(folder), *_model_args(resnet18_weights)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=240,
        env={**os.environ},
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    headers = [line for line in lines if not line.startswith(" ")]
    assert headers == [str(p) for p in discover([folder])]
    for name, reason in expected.items():
        detail = lines[lines.index(str(folder / name)) + 1]
        assert detail.startswith("  error: ") and reason in detail
    ranked = [line for line in done.stdout.splitlines() if line.lstrip().startswith("1. ")]
    assert len(ranked) == 5  # one top-5 block per real photo


def test_all_good_csv_exit_zero(good_folder: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    threads = torch.get_num_threads()
    try:
        code = main(
            [
                "classify",
                str(good_folder),
                *_model_args(resnet18_weights),
                "--format",
                "csv",
                "--topk",
                "3",
                "--threads",
                "1",
            ]
        )
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 * 3
    assert [int(r["rank"]) for r in rows[:3]] == [1, 2, 3]
    assert all(r["error"] == "" and 0 < float(r["probability"]) <= 1 for r in rows)
    assert "Classified 3 of 3 files" in err


def test_missing_weights_is_a_clear_usage_error(
    good_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Offline (conftest) with an empty torch hub cache: the torchvision weights are not there.
    code = main(["classify", str(good_folder), "--model", "resnet18", "--weights", "IMAGENET1K_V1"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == "" and "Traceback" not in err
    assert "--weights" in err  # says how to supply a file

    code = main(["classify", str(good_folder), "--weights", str(tmp_path / "nope.pth")])
    out, err = capsys.readouterr()
    assert code == 2 and "nope.pth" in err and "Traceback" not in err


def test_model_without_weights_uses_that_architectures_default(
    good_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """resnet18 has only IMAGENET1K_V1: the default must be resnet18's own file, not resnet50's V2."""
    from resnet_desktop.core.models import zoo

    code = main(["classify", str(good_folder), "--model", "resnet18"])
    err = capsys.readouterr().err
    assert code == 2 and "no weights named" not in err
    expected_file = zoo.get_weights_info("resnet18", "DEFAULT").url.rsplit("/", 1)[-1]
    assert expected_file in err  # offline: says which file is missing (resnet18-f37072fd.pth)


def test_bad_options_exit_two(good_folder: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", str(good_folder), "--model", "resnet7", "--weights", str(resnet18_weights)]) == 2
    assert "resnet7" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["classify", str(good_folder), "--topk", "0"])
    assert exc.value.code == 2
    if not torch.cuda.is_available():
        code = main(
            [
                "classify",
                str(good_folder),
                "--model",
                "resnet18",
                "--weights",
                str(resnet18_weights),
                "--device",
                "cuda",
            ]
        )
        assert code == 2 and "CUDA" in capsys.readouterr().err


def test_output_file_is_atomic_and_never_overwritten_without_force(
    good_folder: Path, resnet18_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "results.json"
    target.parent.mkdir()
    args = ["classify", str(good_folder), *_model_args(resnet18_weights), "--format", "json", "--output", str(target)]
    assert main(args) == 0
    out, _ = capsys.readouterr()
    assert out == ""
    first = json.loads(target.read_text())
    assert len(first) == 3

    target.write_text("my precious notes")
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text() == "my precious notes"

    assert main([*args, "--force"]) == 0
    assert json.loads(target.read_text()) == first  # same files, same model: same answer
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]  # no temp files left


def test_progress_line_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    update = Progress(done=5, failed=1, total=10, images_per_second=2.5, elapsed_s=2.0)
    ProgressLine(tty)(update)
    ProgressLine(pipe)(update)
    assert "5/10" in tty.getvalue() and "1 failed" in tty.getvalue() and "2.5 images/s" in tty.getvalue()
    assert pipe.getvalue() == ""
