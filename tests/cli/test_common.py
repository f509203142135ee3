"""Shared CLI pieces: --output checks and the weights download line."""

from __future__ import annotations

import io
from pathlib import Path

from resnet_desktop.cli.common import DownloadProgress, output_problem


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_output_problem_never_allows_replacing_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "out.csv"
    existing.write_text("mine")
    assert "already exists" in output_problem(existing, force=False)
    assert output_problem(existing, force=True) is None
    assert "is a folder" in output_problem(tmp_path, force=True)
    assert "does not exist" in output_problem(tmp_path / "missing" / "out.csv", force=False)
    assert ".png" in output_problem(tmp_path / "cam.jpg", force=False, suffix=".png")
    assert output_problem(tmp_path / "cam.png", force=False, suffix=".png") is None
    assert existing.read_text() == "mine"


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
