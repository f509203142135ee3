"""Shared CLI pieces: --output checks, the one error format and the weights download line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.cli.common import DownloadProgress, check_output
from resnet_desktop.core.errors import OutputError


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_check_output_never_allows_replacing_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "out.csv"
    existing.write_text("mine")
    with pytest.raises(OutputError, match="already exists; use --force"):
        check_output(existing, force=False)
    assert check_output(existing, force=True) == existing
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, force=True)
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "missing" / "out.csv", force=False)
    with pytest.raises(OutputError, match=r"\.png"):
        check_output(tmp_path / "cam.jpg", force=False, suffix=".png")
    assert check_output(tmp_path / "cam.png", force=False, suffix=".png") == tmp_path / "cam.png"
    assert existing.read_text() == "mine"


@pytest.mark.parametrize("command", ["classify", "explain", "finetune"])
def test_every_command_reports_errors_in_one_format(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "out.png"
    existing.write_bytes(b"mine")
    args = {
        "classify": ["classify", str(tmp_path), "--output", str(existing)],
        "explain": ["explain", str(tmp_path / "x.jpg"), "--output", str(existing)],
        "finetune": ["finetune", str(tmp_path), "--output", str(tmp_path / "out.safetensors"), "--epochs", "0"],
    }[command]
    if command == "finetune":
        (tmp_path / "out.safetensors").write_bytes(b"mine")
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"resnet-desktop {command}: error: ") and err.count("\n") == 1, err
    assert existing.read_bytes() == b"mine"


def test_download_progress_draws_on_a_terminal_and_clears() -> None:
    terminal = _Terminal()
    progress = DownloadProgress(terminal)
    progress(0, 100 * 2**20)
    progress(50 * 2**20, 100 * 2**20)
    assert "50.0/100.0 MB" in terminal.getvalue()
    progress.finish()
    assert terminal.getvalue().endswith("\r\033[K")


def test_download_progress_is_silent_when_piped() -> None:
    piped = io.StringIO()
    progress = DownloadProgress(piped)
    progress(1, 2)
    progress.finish()
    assert piped.getvalue() == ""
