"""Disk faults, undecodable and control-character names: one clear message, nothing lost or injected."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from resnet_desktop.cli import main
from resnet_desktop.core import atomic
from resnet_desktop.core.errors import OutputError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names and devices")


def _model_args(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "2"]


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder we cannot create files in, even as root (then /sys, where creating is refused)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder
    (folder / "probe").unlink()
    try:
        open("/sys/resnet-desktop-probe", "w").close()
    except OSError:
        return Path("/sys")
    pytest.skip("no folder here refuses new files")


def test_disk_full_during_output_is_one_message_and_exit_2(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    photo = tmp_path / "a.png"
    Image.new("RGB", (40, 40), "red").save(photo)
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", "/dev/full"])
    err = capsys.readouterr().err
    assert code == 2
    assert "resnet-desktop classify: error: Cannot write /dev/full: the disk is full" in err
    assert "Traceback" not in err


def test_disk_full_while_writing_a_temp_file_leaves_no_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OutputError, match="the disk is full"):
        atomic.write_text(tmp_path / "report.txt", "x" * 100_000)
    with pytest.raises(OutputError, match="the disk is full"), atomic.AtomicFile(tmp_path / "b.bin") as out:
        out.stream.write(b"y")
        raise OSError(28, "No space left on device")  # a write failing half-way
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_folder_is_refused_before_the_model_loads(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _unwritable_folder(tmp_path)
    photo = tmp_path / "a.png"
    Image.new("RGB", (40, 40), "red").save(photo)
    code = main(["classify", str(photo), *_model_args(resnet18_weights), "--output", str(folder / "out.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Cannot write" in err and "Model:" not in err  # refused before any long work
    # fine-tune: refused before the folder is even scanned (this folder does not exist)
    code = main(["finetune", str(tmp_path / "no-such-data"), "-o", str(folder / "m.safetensors")])
    assert code == 2
    assert "Cannot write" in capsys.readouterr().err


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    folder = tmp_path / "odd"
    folder.mkdir()
    for raw in (b"caf\xe9-latin1.png", b"ok.png"):
        Image.new("RGB", (40, 40), "blue").save(os.path.join(os.fsencode(folder), raw))
    return folder


def test_non_utf8_names_are_written_with_surrogate_escapes(
    odd_names: Path, resnet18_weights: Path, tmp_path: Path
) -> None:
    for fmt in ("csv", "table", "json"):
        out = tmp_path / f"results.{fmt}"
        args = ["classify", str(odd_names), *_model_args(resnet18_weights), "--format", fmt, "--output", str(out)]
        assert main(args) == 0
        data = out.read_bytes()
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"))))
            assert os.fsencode(rows[1][0]).endswith(b"caf\xe9-latin1.png")  # the name's own bytes
        elif fmt == "json":
            paths = [r["path"] for r in json.loads(data)]
            assert any(os.fsencode(p).endswith(b"caf\xe9-latin1.png") for p in paths)
        else:
            assert b"caf\\xe9-latin1.png" in data  # shown escaped in the table


def test_control_characters_in_names_and_labels_are_escaped(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "evil"
    folder.mkdir()
    Image.new("RGB", (40, 40), "blue").save(folder / "x\x1b]0;owned\x07.png")
    (folder / "broken\r\nfake row.png").write_bytes(b"not an image")
    code = main(["classify", str(folder), *_model_args(resnet18_weights)])
    out, err = capsys.readouterr()
    assert code == 1
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "x\\x1b]0;owned\\x07.png" in out
    assert "broken\\x0d\\x0afake row.png" in err


def test_a_closed_pipe_ends_classify_quietly(tmp_path: Path, resnet18_weights: Path) -> None:
    """``classify ... | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    import subprocess

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        Image.new("RGB", (32, 32), (i * 4, 0, 0)).save(folder / f"{i:02}.png")
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", "classify", str(folder), *_model_args(resnet18_weights)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # what `head -1` does
    err = child.stderr.read().decode()
    code = child.wait(timeout=120)
    assert first.strip().endswith(b"00.png")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 0
