"""Issue 27 item 14: Help lists the keyboard shortcuts (read from the actions, so it cannot drift) and
opens the README's sections; Edit > Undo Organize… lists past organizes newest first, and Ctrl+Z
undoes the last one not yet undone (a second organize no longer makes the first one undoable only by
hand).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog

from resnet_desktop.gui.common.help import GuideWindow, ShortcutsDialog
from resnet_desktop.gui.library.organize_history import UndoHistoryDialog
from tests.badfiles import make_good_images
from tests.gui.harness import Person, plain
from tests.helpers import REPO_ROOT

JOB_TIMEOUT_MS = 120_000


def shown(kind: type) -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def test_keyboard_shortcuts_are_read_from_the_actions(person: Person) -> None:
    person.trigger("Keyboard Shortcuts")
    dialog = shown(ShortcutsDialog)[-1]
    rows = dialog.rows()
    assert ("File", "Export Results", "Ctrl+E") in rows
    assert ("Edit", "Undo Last Organize", "Ctrl+Z") in rows
    assert ("Tools", "Organize into Folders", "Ctrl+Shift+G") in rows
    expected = {
        (plain(a.text()), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
        for a in person.actions()
        if not a.shortcut().isEmpty()
    }
    assert {(action, keys) for _menu, action, keys in rows} == expected, "every shortcut of the menus, no other"
    dialog.close()

    extra = QAction("Brand New Thing", person.window)  # a shortcut added later shows up by itself
    extra.setShortcut(QKeySequence("Ctrl+Alt+B"))
    person.window.menuBar().actions()[-2].menu().addAction(extra)
    person.trigger("Keyboard Shortcuts")
    assert any(row[1:] == ("Brand New Thing", "Ctrl+Alt+B") for row in shown(ShortcutsDialog)[-1].rows())


def test_user_guide_lists_the_readme_sections_and_opens_at_one(person: Person, qtbot) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    person.press("F1")
    window = shown(GuideWindow)[-1]
    listed = window.sections
    assert [listed.item(i).text() for i in range(listed.count())] == sections
    title = "Sort photos into folders (with undo)"
    item = listed.findItems(title, Qt.MatchFlag.MatchExactly)[0]
    qtbot.mouseClick(listed.viewport(), Qt.MouseButton.LeftButton, pos=listed.visualItemRect(item).center())
    assert window.current_heading() == title
    assert "Organize into Folders" in window.browser.toPlainText()


def organize_into(qtbot, window, dest: Path, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(dest)))
    window.organize_action.trigger()
    dialog = window.organize.dialog
    qtbot.mouseClick(dialog.options.browse_button, Qt.MouseButton.LeftButton)
    dialog.options.threshold_spin.setValue(0.0)
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.apply_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and "Done:" in dialog.summary.text(), timeout=JOB_TIMEOUT_MS)
    dialog.close()
    qtbot.waitUntil(lambda: window.organize.dialog is None, timeout=5_000)


def wait_undone(qtbot, window) -> None:
    undo = window.organize.undo_dialog
    assert undo is not None
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=JOB_TIMEOUT_MS)
    assert "Undid" in undo.summary.text()
    qtbot.mouseClick(undo.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.organize.undo_dialog is None, timeout=5_000)


def test_undo_history_newest_first_and_ctrl_z_undoes_the_last(
    person: Person, qtbot, tmp_path: Path, monkeypatch
) -> None:
    window = person.window
    person.drop(make_good_images(tmp_path / "photos", n=3))
    person.wait_idle()
    first, second = tmp_path / "first", tmp_path / "second"
    organize_into(qtbot, window, first, monkeypatch)
    organize_into(qtbot, window, second, monkeypatch)
    assert first.exists() and second.exists()

    person.trigger("Undo Organize…")
    history = shown(UndoHistoryDialog)[-1]
    lines = history.entries()
    assert len(lines) == 2 and str(second) in lines[0] and str(first) in lines[1], lines
    assert all("3 photos copied into" in line for line in lines)
    history.close()

    person.focus(window.results_panel.table)
    person.press("Ctrl+Z")  # the last organize: "second"
    wait_undone(qtbot, window)
    assert not second.exists() and first.exists()

    person.trigger("Undo Organize…")
    lines = shown(UndoHistoryDialog)[-1].entries()
    assert lines[0].endswith("(undone)") and not lines[1].endswith("(undone)")
    shown(UndoHistoryDialog)[-1].close()

    person.focus(window.results_panel.table)
    person.press("Ctrl+Z")  # now the one before it
    wait_undone(qtbot, window)
    assert not first.exists()
    assert not window.undo_organize_action.isEnabled(), "nothing left to undo"
