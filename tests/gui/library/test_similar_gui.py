"""The library index from the window: classify, quit, reopen from the index, similar photos,
near-duplicates, the Index dialog, a damaged index, and the GUI and the CLI on one index at once."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from resnet_desktop.core.library.index import LibraryIndex, default_index_path
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.classify.results_model import COL_NAME
from tests.core.library.photos import make_photos, near_copies
from tests.helpers import REPO_ROOT

JOB_TIMEOUT_MS = 120_000


def _open_folder(qtbot, window, folder: Path, monkeypatch, expected: int) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    window.results.clear()
    window.open_folder_action.trigger()
    qtbot.waitUntil(lambda: window.results.rowCount() == expected and not window.service.busy, timeout=JOB_TIMEOUT_MS)


def _tooltip(window, row: int) -> str:
    return str(window.results.data(window.results.index(row, COL_NAME), Qt.ItemDataRole.ToolTipRole))


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[Path], list[Path]]:
    folder = tmp_path / "photos"
    originals = make_photos(folder, 5)
    return folder, originals, near_copies(originals[2], folder / "copies")


def test_classify_quit_restart_reopen_select_and_show_similar(
    qtbot, make_window, resnet18_weights: Path, library, monkeypatch
) -> None:
    folder, originals, copies = library
    spec = ModelRef.parse("resnet18", str(resnet18_weights))
    first = make_window(spec)
    _open_folder(qtbot, first, folder, monkeypatch, 8)
    assert all(_tooltip(first, r).endswith("Newly classified") for r in range(8))
    table = sorted((str(p.path), p.scores) for p in first.results.rows())
    _open_folder(qtbot, first, folder, monkeypatch, 8)  # again: nothing is computed twice
    assert all(_tooltip(first, r).endswith("From the library index") for r in range(8))
    first.close()
    # The closed window's garbage is collected here, on the GUI thread: a collection that a worker
    # thread happens to start must not be the one that finalises its Qt objects (seen once as a segfault).
    gc.collect()

    second = make_window(spec)  # a restart: a new window, the same index on disk
    assert second.results.rowCount() == 0
    second.library.reopen_action.trigger()
    qtbot.waitUntil(lambda: second.results.rowCount() == 8, timeout=JOB_TIMEOUT_MS)
    assert sorted((str(p.path), p.scores) for p in second.results.rows()) == table
    assert second.library.last_reopened is not None and second.library.last_reopened.inputs == [folder]
    assert _tooltip(second, 0).endswith("From the library index")
    exported = folder.parent / "reopened.json"  # export works from a reopened table
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(exported), "JSON (*.json)")))
    second.export_action.trigger()
    records = json.loads(exported.read_text())
    assert sorted(r["path"] for r in records) == [path for path, _scores in table]

    target = next(r for r in range(8) if second.results.row_at(r).path == originals[2])
    proxy_row = second.results_panel.proxy.mapFromSource(second.results.index(target, COL_NAME)).row()
    second.results_panel.select_row(proxy_row)
    assert second.results_panel.current_row().path == originals[2]
    second.library.similar_action.trigger()
    dialog = second.library.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.neighbours is not None, timeout=JOB_TIMEOUT_MS)
    assert {n.path for n in dialog.neighbours[:3]} == set(copies)  # its copies first
    assert originals[2] not in [n.path for n in dialog.neighbours]
    assert dialog.list.count() == 7
    first_item = dialog.list.item(0).text()
    assert first_item.startswith(f"{dialog.neighbours[0].score:.3f}") and dialog.neighbours[0].path.name in first_item
    qtbot.waitUntil(lambda: not dialog.list.item(0).icon().isNull(), timeout=10_000)  # the thumbnail arrives
    dialog.close()


def test_near_duplicates_and_index_hygiene(qtbot, window, library, monkeypatch, tmp_path: Path) -> None:
    folder, originals, copies = library
    _open_folder(qtbot, window, folder, monkeypatch, 8)
    window.library.duplicates_action.trigger()  # the folder comes from the (patched) folder dialog
    dialog = window.library.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.groups is not None, timeout=JOB_TIMEOUT_MS)
    assert [len(g) for g in dialog.groups] == [8]  # random weights put every photo above 0.95 of another
    dialog.threshold.setValue(0.998)  # the threshold that separates copies with these random weights
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [len(g) for g in dialog.groups or []] == [4], timeout=JOB_TIMEOUT_MS)
    assert [sorted(p for p, _s in g) for g in dialog.groups] == [sorted([originals[2], *copies])]
    assert dialog.tree.topLevelItem(0).text(0) == "Group 1 (4 photos)"
    dialog.close()

    window.library.index_action.trigger()
    index_dialog = window.library.dialogs[-1]
    qtbot.waitUntil(lambda: index_dialog.info is not None, timeout=JOB_TIMEOUT_MS)
    assert str(default_index_path()) in index_dialog.text.text() and "MB" in index_dialog.text.text()
    assert index_dialog.info.results == 8
    qtbot.mouseClick(index_dialog.forget_button, Qt.MouseButton.LeftButton)  # folder dialog patched: photos/
    qtbot.waitUntil(lambda: index_dialog.info.results == 0, timeout=JOB_TIMEOUT_MS)
    assert index_dialog.info.files == 0
    _open_folder(qtbot, window, folder, monkeypatch, 8)
    assert _tooltip(window, 0).endswith("Newly classified")  # forgotten means classified again
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(index_dialog.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: index_dialog.info.files == 0 and index_dialog.info.models == 0, timeout=JOB_TIMEOUT_MS)
    index_dialog.close()


def test_a_damaged_index_is_reported_and_the_window_still_classifies(qtbot, window, library, monkeypatch) -> None:
    folder, _originals, _copies = library
    index_file = default_index_path()
    assert index_file is not None
    index_file.parent.mkdir(parents=True, exist_ok=True)
    index_file.write_bytes(b"garbage, not SQLite " * 100)
    _open_folder(qtbot, window, folder, monkeypatch, 8)
    assert all(row.ok for row in window.results.rows())
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert "moved aside" in window.banner.text.text()
    assert any(".corrupt-" in p.name for p in index_file.parent.iterdir())


def test_the_window_and_the_cli_use_one_index_at_the_same_time(
    qtbot, window, resnet18_weights: Path, library, monkeypatch, tmp_path: Path
) -> None:
    folder, _originals, _copies = library
    other = tmp_path / "other"
    make_photos(other, 6, start=50)
    cli = subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", "classify", str(other), "--model", "resnet18", "--weights",
         str(resnet18_weights), "--device", "cpu", "--batch-size", "1", "--threads", "1"],
        cwd=REPO_ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _open_folder(qtbot, window, folder, monkeypatch, 8)
        _out, err = cli.communicate(timeout=240)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert "warning" not in err
    index_file = default_index_path()
    assert index_file is not None
    with LibraryIndex(index_file) as index:
        assert index.integrity() == "ok"
        assert (index.info().files, index.info().results) == (14, 14)


def test_near_duplicates_of_a_folder_never_classified_indexes_it_first(qtbot, window, library, monkeypatch) -> None:
    """One near-duplicate job for the CLI and the app: new files are classified into the index, then grouped
    (the dialog used to say "classify the folder first")."""
    folder, _originals, copies = library
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    window.library.duplicates_action.trigger()
    dialog = window.library.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.groups is not None, timeout=JOB_TIMEOUT_MS)
    assert [len(g) for g in dialog.groups] == [len(copies) + 5]
    assert dialog.status.text() == f"1 group(s), 8 of 8 indexed photos in {folder}."
    dialog.close()
