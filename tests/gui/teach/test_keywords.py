"""Write Keywords… from the teach window, on the real core, through the main window's organize room: a
set's labels and predictions go into the photos' XMP sidecars (a sidecar the person had keeps its
own keywords), the threshold leaves the unsure ones alone and says so, and Edit > Undo Last Organize
takes exactly those keywords out again."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from resnet_desktop.core.library.xmp import add_keywords, read_keywords
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.teach.window import TeachWindow
from tests.core.teach.conftest import Teaching
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.conftest import CLASSES

WAIT_MS = 60_000


def _keywords(photo: Path) -> tuple[str, ...]:
    sidecar = Path(f"{photo}.xmp")
    return read_keywords(sidecar.read_bytes(), sidecar).subject if sidecar.is_file() else ()


def test_write_keywords_for_the_sets_answers_and_undo(
    qtbot, make_window, teaching: Teaching, dialogs: Dialogs, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"  # copies of the train digits 0-2 (known to the index by content)
    photos.mkdir()
    truth: dict[str, str] = {}
    for path, name in teaching.world.train_labels.items():
        if name in CLASSES:
            shutil.copy(path, photos / path.name)
            truth[str(photos / path.name)] = name
    mine = sorted(truth)[0]  # a sidecar the person had before: its keyword stays through write and undo
    data, _ = add_keywords(None, ["holiday"], [], Path(f"{mine}.xmp"))
    Path(f"{mine}.xmp").write_bytes(data)

    main = make_window(ModelRef(file=teaching.world.model))
    Person(qtbot, main, dialogs).trigger("Teach Your Own Classes…")
    teach = main.tools.teach
    assert isinstance(teach, TeachWindow)
    person = Person(qtbot, teach, dialogs)
    grid = teach.room.grid

    def idle() -> None:
        qtbot.waitUntil(lambda: not teach.controller.runner.active and not teach.controller.learning, timeout=WAIT_MS)

    idle()
    teach.create_set("Digits", list(CLASSES), [photos])
    qtbot.waitUntil(lambda: grid.grid_model.rowCount() == 30, timeout=WAIT_MS)
    idle()
    person.trigger("Write Keywords…")
    assert teach.status.text() == "No keywords to write yet: label photos in at least 2 classes first."
    assert main.organize.keywords_dialog is None

    for key, name in (("1", "zero"), ("2", "one"), ("3", "two")):
        grid.select_rows([r for r, p in enumerate(grid.grid_model.paths()) if truth[p] == name][:3])
        person.focus(grid)
        person.press(key)
        idle()
    qtbot.waitUntil(lambda: teach.room.scores is not None, timeout=WAIT_MS)
    idle()
    answers = {str(row.path): row.top1 for row in teach.answers()}
    assert len(answers) == 30
    labeled = {p: top.label for p, top in answers.items() if top.probability == 1.0}  # type: ignore[union-attr]
    assert len(labeled) == 9 and all(truth[p] == c for p, c in labeled.items())

    person.trigger("Write Keywords…")
    dialog = main.organize.keywords_dialog
    assert dialog is not None and dialog.isVisible()
    # at 100% only the person's labels are sure enough: the predictions are left alone, and it says why
    dialog.threshold_spin.setValue(1.0)
    counts = ", ".join(f"{c} 3" for c in sorted(CLASSES))
    summary = dialog.summary.text()
    assert summary.startswith(f"Keywords for 9 photos ({counts}) go into their XMP sidecars. 21 photos left alone ("), (
        summary
    )
    assert summary.endswith(" sure, below the threshold 100%).")
    dialog.threshold_spin.setValue(0.0)
    per_class = {c: sum(top.label == c for top in answers.values()) for c in CLASSES}  # type: ignore[union-attr]
    expected = ", ".join(f"{c} {n}" for c, n in sorted(per_class.items(), key=lambda kv: (-kv[1], kv[0])) if n)
    assert dialog.summary.text() == f"Keywords for 30 photos ({expected}) go into their XMP sidecars."
    assert dialog.write_button.isEnabled()
    qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.outcome is not None, timeout=WAIT_MS)
    assert dialog.summary.text() == (
        "Wrote keywords for 30 photos into 30 XMP sidecars, 0 failed.\n"
        "Edit > Undo Last Organize (Ctrl+Z) in the main window takes them out again."
    )
    for path, top in answers.items():
        expected_keywords = (("holiday",) if path == mine else ()) + (top.label,)  # type: ignore[union-attr]
        assert _keywords(Path(path)) == expected_keywords, path
    assert not dialog.write_button.isEnabled()  # written once: a second press would add nothing new
    journal = dialog.journal
    assert journal is not None and journal.parent.name == "keyword-journals"
    assert not list(tmp_path.glob(".resnet-desktop-journal-*")) and not list(photos.glob(".resnet-desktop-journal-*"))
    dialog.close()

    assert main.undo_organize_action.isEnabled()
    main.undo_organize_action.trigger()
    undo = main.organize.undo_dialog
    assert undo is not None
    qtbot.waitUntil(lambda: undo.close_button.isEnabled(), timeout=WAIT_MS)
    assert "Undid" in undo.summary.text()
    assert _keywords(Path(mine)) == ("holiday",), "the person's own keyword stays, ours is gone"
    assert sorted(p.name for p in photos.glob("*.xmp")) == [f"{Path(mine).name}.xmp"], "the sidecars we made are gone"
    undo.close()
    history = main.organize.open_history()
    assert history.entries()[0].endswith(f"keywords written to 30 XMP sidecars in {photos} (undone)")
    history.close()
    teach.close()
    qtbot.waitUntil(lambda: main.tools.teach is None, timeout=5_000)
