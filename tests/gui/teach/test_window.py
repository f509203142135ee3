"""The teach window on the real core: a new label set from three questions (its folder embedded in the
background), refusals said in the status line, versions saved, made active and compared, the set's
answers handed to the organize room, and closing while photos are being embedded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from resnet_desktop.gui.common.inline_status import StatusKind
from resnet_desktop.gui.teach.window import TeachWindow, split_classes
from tests.core.teach.conftest import Teaching
from tests.digits import make_digits_tree
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.conftest import CLASSES, scope_of, truth_of

WAIT_MS = 30_000


def _window(qtbot, t: Teaching, dialogs: Dialogs) -> tuple[TeachWindow, Person]:
    window = TeachWindow(lambda: ModelRef(file=t.world.model))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    return window, Person(qtbot, window, dialogs)


def _idle(qtbot, window: TeachWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.runner.active and not window.controller.learning, timeout=WAIT_MS)


def _rows_of(window: TeachWindow, truth: dict[str, str], name: str) -> list[int]:
    return [r for r, p in enumerate(window.room.grid.grid_model.paths()) if truth.get(p) == name]


def test_class_names_are_split_on_commas_semicolons_and_lines() -> None:
    assert split_classes(" receipts, kids;whiteboards\n kids ,, ") == ["receipts", "kids", "whiteboards"]


def test_a_new_label_set_from_three_questions(qtbot, teaching: Teaching, dialogs: Dialogs) -> None:
    window, person = _window(qtbot, teaching, dialogs)
    _idle(qtbot, window)
    assert window.status.text() == "No label set yet: New Label Set… (Ctrl+N) names your classes."
    dialogs.text("Digits")
    dialogs.text("zero, one, two")
    dialogs.folder(teaching.world.train)
    person.trigger("New Label Set…")
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 100, timeout=WAIT_MS)
    _idle(qtbot, window)
    assert window.status.text() == (
        "Created Digits with 3 classes: 0 photos embedded now, 100 already known. "
        "Label photos in 2 classes and the model starts learning."
    )
    assert [kind for kind, _ in dialogs.calls] == ["getText", "getText", "getExistingDirectory"]
    qtbot.waitUntil(lambda: window.sets.currentText() == "Digits", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 100, timeout=WAIT_MS)
    _idle(qtbot, window)
    assert window.room.classes.row_texts()[1] == "2  one\n      0 labeled"
    info = api.set_info(teaching.store, "Digits")
    assert info.class_names == list(CLASSES) and info.taught and info.scope == (teaching.world.train,)


def test_a_set_without_classes_is_refused(qtbot, teaching: Teaching, dialogs: Dialogs) -> None:
    window, person = _window(qtbot, teaching, dialogs)
    dialogs.text("Digits")
    dialogs.text(" , ;")
    person.trigger("New Label Set…")
    assert window.status.text() == "A label set needs at least one class: New Label Set… again to name them."
    _idle(qtbot, window)
    assert api.list_sets(teaching.store) == []


def test_a_set_name_taken_already_is_refused(qtbot, teaching: Teaching, dialogs: Dialogs) -> None:
    api.create_set(teaching.store, "Digits", classes=["a", "b"])
    window, person = _window(qtbot, teaching, dialogs)
    _idle(qtbot, window)
    window.create_set("Digits", ["zero", "one"], [teaching.world.train])
    _idle(qtbot, window)
    assert window.status.text() == "There is already a label set called 'Digits'"
    assert window.status.kind is StatusKind.ERROR
    assert api.set_info(teaching.store, "Digits").class_names == ["a", "b"]


def test_teaching_without_the_library_index_is_refused_saying_why(
    qtbot, teaching: Teaching, dialogs: Dialogs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RESNET_DESKTOP_USER_STORE", str(tmp_path / "user.sqlite3"))
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", "off")
    window, person = _window(qtbot, teaching, dialogs)
    _idle(qtbot, window)
    window.create_set("Digits", ["zero", "one"], [teaching.world.train])
    _idle(qtbot, window)
    assert window.status.text() == (
        "Teaching needs the library index (it holds the photos' embeddings), which is switched off "
        "(RESNET_DESKTOP_INDEX=off)"
    )
    assert window.status.kind is StatusKind.ERROR


def test_versions_are_saved_made_active_compared_and_the_answers_go_to_organize(
    qtbot, teaching: Teaching, dialogs: Dialogs
) -> None:
    window, person = _window(qtbot, teaching, dialogs)
    truth = truth_of(teaching)
    window.create_set("Digits", list(CLASSES), scope_of(teaching))
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 48, timeout=WAIT_MS)
    _idle(qtbot, window)
    person.trigger("Save Version")
    assert window.status.text() == "Nothing learned yet to save: label photos in at least 2 classes first."
    person.trigger("Organize by These Classes…")
    assert window.status.text() == "Nothing to organize yet: label photos in at least 2 classes first."
    room = window.room
    for key, name in (("1", "zero"), ("2", "one"), ("3", "two")):
        room.grid.select_rows(_rows_of(window, truth, name)[:4])
        person.focus(room.grid)
        person.press(key)
        _idle(qtbot, window)
    person.press("Ctrl+R")  # the review: the Grad-CAM of the current head, before any version is saved
    qtbot.waitUntil(lambda: room.review.item is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: room.review.cam.original is not None, timeout=WAIT_MS)
    item = room.review.item
    assert item is not None
    assert room.review.cam_caption.text() == (
        f"Grad-CAM of {item.predicted} by the current model: warm = what raised its score"
    )
    assert api.list_versions(teaching.store, "Digits") == []
    person.trigger("Save Version")
    _idle(qtbot, window)
    assert window.status.text().startswith("Saved version 1 of Digits (held-out accuracy ")
    assert window.status.text().endswith("); it is the active one.")
    assert room.review.item == item and room.review.cam.original is not None  # saving changes nothing shown
    person.press("Ctrl+L")
    room.grid.select_rows(_rows_of(window, truth, "two")[4:6])
    person.focus(room.grid)
    person.press("3")
    _idle(qtbot, window)
    person.trigger("Save Version")
    _idle(qtbot, window)
    assert window.status.text().startswith("Saved version 2 of Digits")
    dialog = window.show_versions()
    assert dialog is not None
    _idle(qtbot, window)
    rows = dialog.row_texts()
    assert [row.split(" | ")[0] for row in rows] == ["1", "2"]
    assert rows[0].split(" | ")[2] == "12" and rows[1].split(" | ")[2] == "14"  # labels in each snapshot
    assert rows[1].endswith("| active")
    dialog.table.selectRow(0)
    person.click(dialog.activate_button)
    _idle(qtbot, window)
    assert window.status.text() == "Version 1 of Digits is the active one."
    assert dialog.row_texts()[0].endswith("| active") and not dialog.row_texts()[1].endswith("| active")
    assert api.set_info(teaching.store, "Digits").active_version == 1
    dialog.table.selectAll()
    person.click(dialog.compare_button)
    _idle(qtbot, window)
    comparison = dialog.status.text()
    assert comparison.startswith("On ") and " held-out labels: version 1 " in comparison, comparison

    handed: list[list[object]] = []
    window.organizeRequested.connect(handed.append)
    person.trigger("Organize by These Classes…")
    assert len(handed) == 1 and len(handed[0]) == 48
    answers = {str(p.path): p.top1 for p in handed[0]}  # type: ignore[attr-defined]
    labeled = {p: top for p, top in answers.items() if top.probability == 1.0}
    assert len(labeled) == 14 and all(truth[p] == top.label for p, top in labeled.items())
    predicted = {p: top for p, top in answers.items() if p not in labeled}
    right = sum(truth[p] == top.label for p, top in predicted.items())
    assert right >= 0.8 * len(predicted), f"{right} of {len(predicted)} predicted right"


def test_closing_while_photos_are_embedded_takes_under_two_seconds(
    qtbot, teaching: Teaching, dialogs: Dialogs, tmp_path: Path
) -> None:
    fresh = make_digits_tree(tmp_path / "fresh", per_class=40, classes=10, offset=30)  # none in the index
    window, person = _window(qtbot, teaching, dialogs)
    _idle(qtbot, window)
    window.create_set("Fresh", ["zero", "one"], [tmp_path / "fresh"])
    qtbot.waitUntil(lambda: window.status.text().startswith("Embedding photos: "), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.status.text().startswith("Embedding photos: 0 /"), timeout=WAIT_MS)
    assert window.status.text().endswith(f" / {len(fresh)}…")
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 2.0
    assert not window.isVisible()
    assert api.set_info(teaching.store, "Fresh").class_names == ["zero", "one"], "the set was saved before"


def test_a_set_made_on_the_command_line_is_embedded_with_the_windows_model(
    qtbot, teaching: Teaching, dialogs: Dialogs
) -> None:
    api.create_set(teaching.store, "Imported", classes=list(CLASSES), scope=scope_of(teaching))  # no base model
    assert not api.set_info(teaching.store, "Imported").taught
    window, _person = _window(qtbot, teaching, dialogs)
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 48, timeout=WAIT_MS)
    _idle(qtbot, window)
    assert window.status.text() == (
        "Imported: 48 photos, 0 labeled. Label photos in 2 classes and the model starts learning."
    )
    info = api.set_info(teaching.store, "Imported")
    assert info.taught and info.base_model is not None and str(teaching.world.model) in info.base_model
