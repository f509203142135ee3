"""The teach window: a new label set from three questions, versions saved, made active and compared,
the set's answers handed to the organize room, and closing while a refit runs."""

from __future__ import annotations

import time
from pathlib import Path

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.teach.window import TeachWindow, split_classes
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.fake_core import FakeTeachCore, make_digit_photos

WAIT_MS = 20_000


def _window(qtbot, tmp_path: Path, dialogs: Dialogs) -> tuple[TeachWindow, FakeTeachCore, Person, dict[str, str]]:
    photos = make_digit_photos(tmp_path / "digits", classes=3, per_class=10)
    core = FakeTeachCore({str(p): f for p, (_, f) in photos.items()}, tmp_path)
    window = TeachWindow(lambda: core, lambda: ModelRef.parse("resnet18", "random"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window, core, Person(qtbot, window, dialogs), {str(p): t for p, (t, _) in photos.items()}


def _idle(qtbot, window: TeachWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.runner.active and not window.controller.learning, timeout=WAIT_MS)


def test_class_names_are_split_on_commas_semicolons_and_lines() -> None:
    assert split_classes(" receipts, kids;whiteboards\n kids ,, ") == ["receipts", "kids", "whiteboards"]


def test_a_new_label_set_from_three_questions(qtbot, tmp_path: Path, dialogs: Dialogs) -> None:
    window, core, person, _truth = _window(qtbot, tmp_path, dialogs)
    _idle(qtbot, window)
    assert window.status.text() == "No label set yet: New Label Set… (Ctrl+N) names your classes."
    dialogs.text("Digits")
    dialogs.text("zero, one, two")
    dialogs.folder(tmp_path / "digits")
    person.trigger("New Label Set…")
    _idle(qtbot, window)
    assert [kind for kind, _ in dialogs.calls] == ["getText", "getText", "getExistingDirectory"]
    assert window.sets.currentText() == "Digits"
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 30, timeout=WAIT_MS)
    assert window.room.classes.row_texts()[1] == "2  one\n      0 labeled"


def test_a_set_without_classes_is_refused(qtbot, tmp_path: Path, dialogs: Dialogs) -> None:
    window, core, person, _truth = _window(qtbot, tmp_path, dialogs)
    dialogs.text("Digits")
    dialogs.text(" , ;")
    person.trigger("New Label Set…")
    assert window.status.text() == "A label set needs at least one class: New Label Set… again to name them."
    _idle(qtbot, window)
    assert "create_set" not in core.calls


def test_versions_are_saved_made_active_compared_and_the_answers_go_to_organize(
    qtbot, tmp_path: Path, dialogs: Dialogs
) -> None:
    window, core, person, truth = _window(qtbot, tmp_path, dialogs)
    window.create_set("Digits", ["zero", "one", "two"], [tmp_path / "digits"])
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 30, timeout=WAIT_MS)
    _idle(qtbot, window)
    person.trigger("Save Version")
    assert window.status.text() == "Nothing learned yet to save: label photos in at least 2 classes first."
    room = window.room
    for key, name in (("1", "zero"), ("2", "one"), ("3", "two")):
        room.grid.select_rows([r for r, p in enumerate(room.grid.grid_model.paths()) if truth[p] == name][:4])
        person.focus(room.grid)
        person.press(key)
        _idle(qtbot, window)
    person.trigger("Save Version")
    _idle(qtbot, window)
    assert window.status.text().startswith("Saved version 1 of Digits (held-out accuracy ")
    person.trigger("Save Version")
    _idle(qtbot, window)
    dialog = window.show_versions()
    assert dialog is not None
    _idle(qtbot, window)
    assert [row.split(" | ")[0] for row in dialog.row_texts()] == ["1", "2"]
    assert dialog.row_texts()[1].endswith("| active")
    dialog.table.selectRow(0)
    person.click(dialog.activate_button)
    _idle(qtbot, window)
    assert window.status.text() == "Version 1 of Digits is the active one."
    assert dialog.row_texts()[0].endswith("| active") and not dialog.row_texts()[1].endswith("| active")
    dialog.table.selectAll()
    person.click(dialog.compare_button)
    _idle(qtbot, window)
    assert dialog.status.text() == "Versions 1 and 2: no held-out labels to compare them on yet."

    handed: list[list[object]] = []
    window.organizeRequested.connect(handed.append)
    person.trigger("Organize by These Classes…")
    assert len(handed) == 1 and len(handed[0]) == 30
    labeled = [p for p in handed[0] if p.top1 is not None and p.top1.probability == 1.0]  # type: ignore[attr-defined]
    assert len(labeled) == 12 and all(truth[str(p.path)] == p.top1.label for p in labeled)  # type: ignore[attr-defined]


def test_closing_while_a_refit_runs_takes_under_two_seconds(qtbot, tmp_path: Path, dialogs: Dialogs) -> None:
    window, core, person, truth = _window(qtbot, tmp_path, dialogs)
    window.create_set("Digits", ["zero", "one", "two"], [tmp_path / "digits"])
    qtbot.waitUntil(lambda: window.room.grid.grid_model.rowCount() == 30, timeout=WAIT_MS)
    core.refit_pause_s = 30.0
    room = window.room
    for key, name in (("1", "zero"), ("2", "one")):
        room.grid.select_rows([r for r, p in enumerate(room.grid.grid_model.paths()) if truth[p] == name][:3])
        person.focus(room.grid)
        person.press(key)
    qtbot.waitUntil(lambda: "refit" in core.calls, timeout=WAIT_MS)
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 2.0
    assert not window.isVisible()
    assert list(core.sets["Digits"].labels.values()).count("one") == 3
