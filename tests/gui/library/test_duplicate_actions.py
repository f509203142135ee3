"""Find Similar and Near-Duplicates as a person uses them (issue 27, item 6): the message for an error row,
double-click shows the photo, names readable, and acting on a group: keep one and move the others
(undoable), compare two side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog

from resnet_desktop.gui.library.duplicates_dialog import COMPARE, MOVE_OTHERS
from resnet_desktop.gui.library.organize_history import LAST_JOURNAL_KEY
from tests.core.library.photos import make_photos, near_copies
from tests.gui.harness import Person

JOB_TIMEOUT_MS = 120_000


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[Path], list[Path]]:
    folder = tmp_path / "photos"
    originals = make_photos(folder, 4)
    return folder, originals, near_copies(originals[1], folder / "copies")


def _duplicates(person: Person, folder: Path):  # type: ignore[no-untyped-def]
    person.dialogs.folder(folder)
    person.trigger("Find Near-Duplicates…")
    dialog = person.window.library.dialogs[-1]
    # the dialog looks at once with the default threshold; Find is back when that search is done
    person.qtbot.waitUntil(dialog.find_button.isEnabled, timeout=JOB_TIMEOUT_MS)
    dialog.threshold.setValue(0.998)  # separates copies from other photos with these random weights
    person.click(dialog.find_button)
    person.qtbot.waitUntil(lambda: [len(g) for g in dialog.groups or []] == [4], timeout=JOB_TIMEOUT_MS)
    return dialog


def test_find_similar_on_an_error_row_says_why_not(person: Person, tmp_path: Path) -> None:
    folder = tmp_path / "some"
    make_photos(folder, 2)
    (folder / "zzz_broken.jpg").write_bytes(b"not a jpeg")
    person.drop([folder])
    person.wait_idle()
    panel = person.window.results_panel
    assert panel.select_path(folder / "zzz_broken.jpg")
    person.trigger("Find Similar Photos")
    text = person.banner_text()
    assert text.startswith("Find similar photos\nzzz_broken.jpg could not be read (")
    assert text.endswith("so there is nothing to compare it with. Select another photo.")


def test_double_click_in_similar_photos_selects_that_photo_in_the_table(person: Person, library) -> None:
    folder, originals, copies = library
    person.drop([folder])
    person.wait_idle()
    panel = person.window.results_panel
    panel.select_path(originals[1])
    person.trigger("Find Similar Photos")
    dialog = person.window.library.dialogs[-1]
    person.qtbot.waitUntil(lambda: dialog.neighbours is not None, timeout=JOB_TIMEOUT_MS)
    item = dialog.list.item(0)
    dialog.list.itemActivated.emit(item)  # what a double-click or Enter on the item does
    assert panel.current_row() is not None and panel.current_row().path == dialog.neighbours[0].path
    assert dialog.neighbours[0].path in copies


def test_near_duplicate_names_are_readable_and_the_others_move_aside_and_come_back(
    person: Person, library, tmp_path: Path
) -> None:
    folder, originals, copies = library
    person.drop([folder])
    person.wait_idle()
    dialog = _duplicates(person, folder)
    top = dialog.tree.topLevelItem(0)
    assert top.text(0) == "Group 1 (4 photos)" and top.isFirstColumnSpanned()
    names = {top.child(i).text(0) for i in range(top.childCount())}
    assert names == {p.name for p in [originals[1], *copies]}
    width = dialog.tree.columnWidth(0)
    font = dialog.tree.fontMetrics()
    assert all(font.horizontalAdvance(name) + dialog.tree.iconSize().width() < width for name in names)

    keep = next(top.child(i) for i in range(top.childCount()) if top.child(i).text(0) == originals[1].name)
    dialog.tree.setCurrentItem(keep)
    assert person.button(MOVE_OTHERS, dialog).isEnabled() and not person.button(COMPARE, dialog).isEnabled()
    aside = tmp_path / "aside"
    aside.mkdir()
    before = {p: p.read_bytes() for p in copies}
    assert dialog.move_others(aside)
    # the groups are looked up again after the move; what it did and the way back stay above them
    person.qtbot.waitUntil(lambda: "group(s)" in dialog.status.text(), timeout=60_000)
    assert dialog.status.text().startswith(f"Moved 3 photo(s) to {aside}. Edit > Undo Last Organize puts them back.\n")
    assert dialog.status.text().endswith(f"0 group(s), 0 of 4 indexed photos in {folder}.")
    assert originals[1].is_file() and not any(p.exists() for p in copies)
    assert sorted(p.name for p in aside.iterdir()) == sorted(p.name for p in copies)
    journal = QSettings.value(person.window.settings.qsettings, LAST_JOURNAL_KEY)
    assert journal and Path(str(journal)).is_file()
    dialog.close()

    person.window.organize.update()  # what opening the menu does (aboutToShow)
    person.trigger("Undo Last Organize")
    undo = person.window.organize.undo_dialog
    person.qtbot.waitUntil(lambda: undo.outcome is not None, timeout=60_000)
    assert {p: p.read_bytes() for p in copies} == before and not list(aside.iterdir())


def test_compare_two_near_duplicates_side_by_side(person: Person, library, monkeypatch) -> None:
    folder, originals, copies = library
    person.drop([folder])
    person.wait_idle()
    dialog = _duplicates(person, folder)
    top = dialog.tree.topLevelItem(0)
    top.child(0).setSelected(True)
    top.child(1).setSelected(True)
    compare = dialog.compare()
    assert compare is not None and compare.isVisible()
    first, second = top.child(0).data(0, Qt.ItemDataRole.UserRole), top.child(1).data(0, Qt.ItemDataRole.UserRole)
    assert compare.captions[0].text().split("\n")[:2] == [Path(first).name, str(Path(first).parent)]
    assert compare.captions[1].text().split("\n")[0] == Path(second).name
    assert "KB, modified " in compare.captions[0].text()
    person.qtbot.waitUntil(lambda: compare.images[0].pixmap() is not None and not compare.images[0].pixmap().isNull())
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    assert not dialog.move_others(), "two photos selected: which one to keep is not clear"
    dialog.close()
