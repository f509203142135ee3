"""Organize from the window: classify, Tools > Organize…, preview, exclude, apply, stop/resume, undo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from tests.badfiles import make_good_images

JOB_TIMEOUT_MS = 120_000


def _hashes(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def classified(qtbot, window, tmp_path: Path, monkeypatch):
    """The window with a folder of photos classified through File > Open Folder…"""
    folder = tmp_path / "photos"
    photos = make_good_images(folder / "a", n=4) + make_good_images(folder / "b", n=4)
    dest = tmp_path / "sorted"

    def pick_folder(_parent, title: str, _start: str = "") -> str:
        return str(dest) if title == "Organize Into" else str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(pick_folder))
    assert not window.organize_action.isEnabled() and not window.undo_organize_action.isEnabled()
    window.open_folder_action.trigger()
    qtbot.waitUntil(
        lambda: window.results.rowCount() == len(photos) and not window.service.busy, timeout=JOB_TIMEOUT_MS
    )
    return window, folder, photos, dest


def _open_dialog(qtbot, window, *, threshold: float = 0.0, topk: int = 1, shortcut: bool = False):
    assert window.organize_action.isEnabled()
    if shortcut:
        window.activateWindow()
        window.results_panel.table.setFocus()
        QTest.keyClick(
            window.results_panel.table,
            Qt.Key.Key_G,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    else:
        window.organize_action.trigger()
    dialog = window.organize.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.mouseClick(dialog.options.browse_button, Qt.MouseButton.LeftButton)
    dialog.options.threshold_spin.setValue(threshold)
    dialog.options.topk_spin.setValue(topk)
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.options.topk == topk, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=10_000)
    return dialog


def test_organize_preview_exclude_apply_and_undo(qtbot, classified) -> None:
    window, folder, photos, dest = classified
    before = _hashes(photos)
    dialog = _open_dialog(qtbot, window, topk=2)  # every photo into its top two classes: two folders at least
    plan = dialog.plan
    assert plan is not None and not dest.exists()  # the preview touches nothing
    folders = dialog.tree.folder_items()
    assert len(folders) >= 2 and sum(item.childCount() for item in folders) == 2 * len(photos)
    assert {item.data(0, Qt.ItemDataRole.UserRole + 1) for item in folders} == set(plan.counts())
    first = folders[0]
    first.setExpanded(True)  # thumbnails are decoded for an opened folder
    qtbot.waitUntil(lambda: not first.child(0).icon(0).isNull(), timeout=10_000)
    left_out = first.data(0, Qt.ItemDataRole.UserRole + 1)
    excluded_count = first.childCount()
    first.setCheckState(0, Qt.CheckState.Unchecked)
    assert f"Copy {2 * len(photos) - excluded_count} photo" in dialog.summary.text()

    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and "Done:" in dialog.summary.text(), timeout=JOB_TIMEOUT_MS)
    copies = [p for p in dest.rglob("*") if p.is_file()]
    assert len(copies) == 2 * len(photos) - excluded_count
    assert not (dest / left_out).exists()
    assert set(_hashes(copies).values()) <= set(before.values())
    assert window.undo_organize_action.isEnabled()
    dialog.close()

    window.undo_organize_action.trigger()
    undo = window.organize.undo_dialog
    assert undo is not None
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=JOB_TIMEOUT_MS)
    assert "Undid" in undo.summary.text() and undo.outcome is not None and not undo.outcome.problems
    assert not dest.exists()
    assert _hashes(photos) == before
    qtbot.mouseClick(undo.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.organize.undo_dialog is None, timeout=5_000)
    assert not window.undo_organize_action.isEnabled()  # nothing left to undo


def test_move_stop_and_resume(qtbot, classified) -> None:
    window, folder, photos, dest = classified
    before = _hashes(photos)
    dialog = _open_dialog(qtbot, window)
    dialog.options.mode_combo.setCurrentIndex(dialog.options.mode_combo.findData("move"))
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.options.mode.value == "move", timeout=10_000)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=10_000)

    stopped = []

    def stop_on_first_step(done: int) -> None:
        if not stopped and done >= 1:  # the bar moved: one operation is done, the rest are not
            stopped.append(True)
            qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)

    dialog.progress.valueChanged.connect(stop_on_first_step)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: not dialog.busy and dialog.apply_button.isEnabled() or "Done:" in dialog.summary.text(),
        timeout=JOB_TIMEOUT_MS,
    )
    everywhere = [p for p in list(folder.rglob("*")) + list(dest.rglob("*")) if p.is_file()]
    assert sorted(_hashes(everywhere).values()) == sorted(before.values())  # each photo exactly once
    assert stopped  # Stop was clicked while it ran
    if dialog.apply_button.text() == "&Resume":
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.busy and "Done:" in dialog.summary.text(), timeout=JOB_TIMEOUT_MS)
    assert not [p for p in folder.rglob("*") if p.is_file()]
    assert sorted(_hashes([p for p in dest.rglob("*") if p.is_file()]).values()) == sorted(before.values())
    dialog.close()
    window.undo_organize_action.trigger()
    undo = window.organize.undo_dialog
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=JOB_TIMEOUT_MS)
    assert _hashes(photos) == before


def test_undo_lists_what_it_refused_and_is_remembered_across_restarts(
    qtbot, classified, make_window, resnet18_weights
) -> None:
    from resnet_desktop.core.models.ref import ModelRef

    window, folder, photos, dest = classified
    dialog = _open_dialog(qtbot, window, shortcut=True)  # Ctrl+Shift+G on the table
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and "Done:" in dialog.summary.text(), timeout=JOB_TIMEOUT_MS)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)  # Esc closes it when nothing runs
    qtbot.waitUntil(lambda: window.organize.dialog is None, timeout=5_000)
    edited = next(p for p in dest.rglob("*") if p.is_file())
    edited.write_bytes(b"retouched after organizing")
    window.close()

    again = make_window(ModelRef.parse("resnet18", str(resnet18_weights)), start=False)
    assert again.undo_organize_action.isEnabled()  # the journal is remembered
    again.undo_organize_action.trigger()
    undo = again.organize.undo_dialog
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=JOB_TIMEOUT_MS)
    assert undo.refused.isVisible() and undo.refused.count() == 1
    assert "changed since it was copied" in undo.refused.item(0).text()
    assert edited.read_bytes() == b"retouched after organizing"
    assert [p for p in dest.rglob("*") if p.is_file()] == [edited]
    assert again.undo_organize_action.isEnabled() is False  # disabled while its dialog is open
    qtbot.mouseClick(undo.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.organize.undo_dialog is None, timeout=5_000)
    assert again.undo_organize_action.isEnabled()  # the refused file can be undone again later
