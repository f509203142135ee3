"""File > Open Results (Parquet)…: a cluster job's results folder lands in the window's table."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from resnet_desktop.core.inference.records import ClassScore, Prediction
from tests.ray_cluster import needs_ray

pytestmark = needs_ray  # pyarrow comes with the cluster extra


def _write_results(folder: Path, photos: list[Path]) -> list[Prediction]:
    from resnet_desktop.core.cluster.results import PartWriter, to_table

    rows = [
        Prediction(path=photos[0], scores=(ClassScore("tabby", 281, 0.9), ClassScore("tiger cat", 282, 0.05))),
        Prediction(path=photos[1], error="truncated or incomplete image data"),
        Prediction(path=photos[2], scores=(ClassScore("golden retriever", 207, 0.7),)),
    ]
    writer = PartWriter(folder)
    writer.write(to_table(rows[:2], [0, 1], "resnet18:random:sha256-x"))
    writer.write(to_table(rows[2:], [2], "resnet18:random:sha256-x"))
    return rows


def test_open_results_parquet_fills_the_table(
    qtbot,
    make_window,
    sample_photos: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "results.parquet"
    expected = _write_results(folder, sample_photos)
    window = make_window(start=False)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(folder)))
    file_menu = window.menuBar().actions()[0].menu()
    assert window.parquet_import.action in file_menu.actions()

    window.parquet_import.action.trigger()

    qtbot.waitUntil(lambda: window.results.rowCount() == 3, timeout=30_000)
    assert window.results.rows() == expected
    assert "Opened 3 results from results.parquet (1 could not be classified)" in window.status.message.text()
    assert window.parquet_import.action.isEnabled()
    assert window.organize_action.isEnabled()  # organize can plan from imported rows


def test_a_folder_without_results_shows_a_banner(
    qtbot,
    make_window,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"this is not parquet")
    window = make_window(start=False)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(junk)))

    window.parquet_import.action.trigger()

    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30_000)
    assert "not a readable Parquet file" in window.banner.text.text()
    assert window.results.rowCount() == 0
    assert window.parquet_import.action.isEnabled()
