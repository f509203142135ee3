"""The whole journey from the main window, on the real core: Tools > Teach Your Own Classes, a set with
3 classes, 10 photos labeled with the keys in the grid, predictions appearing without a click, the
review queue opening on the least certain photo, a correction by key changing the badges, Organize by
These Classes in the main window's organize room, and Undo; the text the person reads at each step."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.teach.window import TeachWindow
from tests.core.teach.conftest import Teaching
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.conftest import CLASSES

WAIT_MS = 60_000


def test_teach_label_review_correct_organize_and_undo(
    qtbot, make_window, teaching: Teaching, dialogs: Dialogs, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"  # the person's folder: the train digits 0-2, copies (known by content)
    truth: dict[str, str] = {}
    for path, name in teaching.world.train_labels.items():
        if name in CLASSES:
            copy = photos / path.name
            photos.mkdir(exist_ok=True)
            shutil.copy(path, copy)
            truth[str(copy)] = name
    main = make_window(ModelRef(file=teaching.world.model))
    person = Person(qtbot, main, dialogs)

    person.trigger("Teach Your Own Classes…")
    teach = main.tools.teach
    assert isinstance(teach, TeachWindow) and teach.isVisible()
    room = teach.room
    grid = room.grid

    def idle() -> None:
        qtbot.waitUntil(lambda: not teach.controller.runner.active and not teach.controller.learning, timeout=WAIT_MS)

    def badge(path: str) -> str:
        row = grid.grid_model.row_of(path)
        found = grid.grid_model.badge(row) if row is not None else None
        return found.text if found is not None else ""

    idle()
    dialogs.text("Digits")
    dialogs.text("zero, one, two")
    dialogs.folder(photos)
    teach_person = Person(qtbot, teach, dialogs)
    teach_person.trigger("New Label Set…")
    qtbot.waitUntil(lambda: grid.grid_model.rowCount() == 30, timeout=WAIT_MS)
    idle()
    assert teach.status.text() == (
        "Created Digits with 3 classes: 0 photos embedded now, 30 already known. "
        "Label photos in 2 classes and the model starts learning."
    )

    # 10 photos labeled with the keys: 4 zeros, 3 ones, 3 twos
    for key, name, n in (("1", "zero", 4), ("2", "one", 3), ("3", "two", 3)):
        rows = [r for r, p in enumerate(grid.grid_model.paths()) if truth[p] == name][:n]
        grid.select_rows(rows)
        teach_person.focus(grid)
        teach_person.press(key)
        qtbot.waitUntil(lambda: not teach.controller.runner.active, timeout=WAIT_MS)
        assert teach.status.text().startswith(f"Labeled {n} photos as {name}.")
    # predictions appear without pressing anything
    unlabeled = [p for p in grid.grid_model.paths() if not badge(p).startswith("✓")]
    assert len(unlabeled) == 20
    qtbot.waitUntil(lambda: all(badge(p).endswith("%") for p in unlabeled), timeout=WAIT_MS)
    idle()
    assert room.classes.row_texts()[0].startswith("1  zero\n      4 labeled · ")
    assert room.classes.accuracy.text().startswith("Held-out accuracy: ")

    # the review queue opens on the least certain photo
    scores = room.scores
    assert scores is not None
    teach_person.press("Ctrl+R")
    qtbot.waitUntil(lambda: room.review.item is not None, timeout=WAIT_MS)
    first = room.review.item
    assert first is not None
    margins = {scores.paths[i]: float(scores.margin[i]) for i in range(len(scores)) if scores.labeled[i] < 0}
    assert str(first.path) == min(margins, key=margins.__getitem__)
    assert room.review.caption.text() == f"The model is unsure: {first.predicted} ({first.confidence:.0%})."
    assert room.review.count_text().startswith("Review queue: ") and room.review.count_text().endswith(" left")

    # a correction by key refits and changes the badges
    idle()
    before = {p: badge(p) for p in unlabeled if p != str(first.path)}
    right = truth[str(first.path)]
    teach_person.press(str(CLASSES.index(right) + 1))
    qtbot.waitUntil(lambda: room.scores is not scores, timeout=WAIT_MS)
    idle()
    assert teach.status.text() == f"Labeled 1 photo as {right}."
    teach_person.press("Ctrl+L")
    assert badge(str(first.path)) == f"✓ {right}"
    after = {p: badge(p) for p in before}
    assert after != before, "the refit on the correction changed the predictions' badges"

    # Organize by These Classes: the main window's organize room, with the set's answers
    dest = tmp_path / "sorted"
    teach_person.trigger("Organize by These Classes…")
    dialog = main.organize.dialog
    assert dialog is not None and dialog.isVisible()
    dialogs.folder(dest)
    qtbot.mouseClick(dialog.options.browse_button, Qt.MouseButton.LeftButton)
    dialog.options.threshold_spin.setValue(0.0)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT_MS)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and "Done:" in dialog.summary.text(), timeout=WAIT_MS)
    sorted_into = {p.parent.name for p in dest.rglob("*") if p.is_file()}
    assert sorted_into <= set(CLASSES) and len(sorted_into) == 3
    copies = {p.name: p.parent.name for p in dest.rglob("*") if p.is_file()}
    assert len(copies) == 30
    labeled = {Path(p).name: c for p, c in room.labels.items()}
    assert all(copies[name] == c for name, c in labeled.items()), "a labeled photo goes where its label says"
    dialog.close()

    main.undo_organize_action.trigger()
    undo = main.organize.undo_dialog
    assert undo is not None
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=WAIT_MS)
    assert "Undid" in undo.summary.text()
    assert not dest.exists()
    assert len(list(photos.iterdir())) == 30
    qtbot.mouseClick(undo.close_button, Qt.MouseButton.LeftButton)
    teach.close()
    qtbot.waitUntil(lambda: main.tools.teach is None, timeout=5_000)
