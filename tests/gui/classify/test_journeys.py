"""What a new user did, done again through the menus, keys and buttons (``tests.gui.harness``).

Each test here was a defect a person hit: it drives the real QAction / shortcut / button.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.classify.results_model import COL_CONFIDENCE, COL_NAME
from tests.gui.harness import Person, excepthook_spy


def photos(folder: Path, n: int, first: int = 0) -> Path:
    """``n`` plain-colour photos; ``first`` starts another run of colours (the library index knows a
    photo by its content, so folders made with the same ``first`` share their photos)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        colour = ((i * 53) % 256, (i * 29) % 256, (i * 71) % 256)
        Image.new("RGB", (48, 36), colour).save(folder / f"ph{i - first:02d}.jpg")
    return folder


# -- export -------------------------------------------------------------------------------------


def test_export_from_the_menu_writes_the_file(person: Person, tmp_path: Path) -> None:
    person.drop([photos(tmp_path / "in", 4)])
    person.wait_idle()
    target = tmp_path / "out.json"
    person.dialogs.save(target, "JSON (*.json)")
    person.trigger("Export Results")
    assert ("getSaveFileName", "Export Results") in person.dialogs.calls
    rows = json.loads(target.read_text())
    assert len(rows) == 4 and all(r["predictions"] for r in rows)
    assert (target.stat().st_mode & 0o777) != 0o600, "exports get normal permissions (umask), not 0600"


@pytest.mark.parametrize("focus", ["table", "filter", "min_confidence"])
def test_ctrl_e_exports_wherever_the_focus_is(person: Person, tmp_path: Path, focus: str) -> None:
    person.drop([photos(tmp_path / "in", 3)])
    person.wait_idle()
    panel = person.window.results_panel
    widget = {"table": panel.table, "filter": panel.filter_edit, "min_confidence": panel.min_confidence}[focus]
    person.focus(widget)
    target = tmp_path / "keys.csv"
    person.dialogs.save(target, "CSV (*.csv)")
    person.press("Ctrl+E")
    assert target.is_file(), f"Ctrl+E with the {focus} focused must export"
    lines = target.read_text().strip().splitlines()
    # the CLI's schema: one line per photo and rank (3 photos x top-5) under its header
    assert lines[0] == "path,rank,label,index,probability,error" and len(lines) == 1 + 3 * 5


# -- files dropped before there is a model ------------------------------------------------------


def test_files_queued_without_a_model_are_classified_once_one_is_chosen(
    qtbot, make_window, dialogs, resnet18_weights: Path, tmp_path: Path
) -> None:
    window = make_window(ModelRef.parse("resnet18", "DEFAULT"), start=False)
    person = Person(qtbot, window, dialogs)
    with excepthook_spy(person):
        with qtbot.waitSignal(window.service.modelFailed, timeout=60_000):
            window.start()
        person.drop([photos(tmp_path / "early", 3)])
        assert "choose a model" in person.status_text()
        dialogs.open_file(resnet18_weights)
        person.trigger("Open Model File")
        person.wait_model()
        person.wait_idle()
        assert len(window.results.rows()) == 3 and all(r.ok for r in window.results.rows())
    assert not person.problems()


# -- a model file that cannot be used --------------------------------------------------------------


def bad_model_files(folder: Path) -> dict[str, Path]:
    import torch
    import torchvision

    folder.mkdir()
    text = folder / "notes.pth"
    text.write_text("these are my notes, not a model\n")
    pickled = folder / "whole-model.pth"
    torch.save(torchvision.models.resnet18(weights=None, num_classes=3), pickled)
    mobilenet = folder / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), mobilenet)
    return {"text": text, "pickled": pickled, "mobilenet": mobilenet}


#: What the banner says about each kind of bad file (plainly, naming the fix).
SAYS = {
    "text": "not a model file",
    "pickled": "whole pickled model",
    "mobilenet": "another architecture (MobileNet?)",
}


def test_a_bad_model_file_keeps_the_working_model(person: Person, tmp_path: Path) -> None:
    window = person.window
    working = window.model_info.source
    for kind, path in bad_model_files(tmp_path / "bad").items():
        person.dialogs.open_file(path)
        person.trigger("Open Model File")
        person.qtbot.waitUntil(lambda: not window.service.is_loading, timeout=60_000)
        person.qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
        title = window.banner.title.text()
        assert path.name in title and "not available" not in title, (kind, title)
        assert window.model_info is not None and window.model_info.source == working, kind
        assert "still in use" in window.banner.text.text(), kind
        assert SAYS[kind] in window.banner.text.text(), (kind, window.banner.text.text())
        offered = [window.toolbar.weights_combo.itemData(i) for i in range(window.toolbar.weights_combo.count())]
        assert str(path) not in offered, f"{kind}: a file that failed is not added to the weights list"
        assert window.settings.model_ref().weights_or_file != str(path), f"{kind}: a failed file is not remembered"
    # ... and it still classifies.
    person.drop([photos(tmp_path / "after", 2)])
    person.wait_idle()
    assert [r.ok for r in window.results.rows()] == [True, True]


# -- the table ---------------------------------------------------------------------------------


def test_opening_a_folder_twice_does_not_duplicate_rows(person: Person, tmp_path: Path) -> None:
    folder = photos(tmp_path / "twice", 5)
    computed: list[Path] = []
    person.window.service.predictions.connect(lambda _job, chunk: computed.extend(p.path for p in chunk))
    person.dialogs.folder(folder)
    person.trigger("Open Folder")
    person.wait_idle()
    photos(folder, 7)  # two new photos appear in the folder
    person.dialogs.folder(folder)
    person.trigger("Open Folder")
    person.wait_idle()
    paths = [r.path for r in person.window.results.rows()]
    assert len(paths) == len(set(paths)) == 7
    assert len(computed) == 7, "the 5 known files were not classified again"


def test_table_keys_and_menu(person: Person, tmp_path: Path) -> None:
    window = person.window
    panel = window.results_panel
    person.drop([photos(tmp_path / "keys", 6)])
    person.wait_idle()
    # Ctrl+F puts the cursor in the filter.
    person.focus(panel.table)
    person.press("Ctrl+F")
    assert panel.filter_edit.hasFocus()
    # The filter matches any of the top-k labels, not only the first, and says when nothing matches.
    row = window.results.rows()[0]
    third = row.scores[2].label
    person.qtbot.keyClicks(panel.filter_edit, third)
    shown = [panel.proxy.index(r, COL_NAME).data() for r in range(panel.proxy.rowCount())]
    assert row.path.name in shown
    panel.filter_edit.clear()
    person.qtbot.keyClicks(panel.filter_edit, "zzzz-no-such-label")
    assert panel.proxy.rowCount() == 0 and "No matches" in panel.count_label.text()
    panel.filter_edit.clear()
    # The first click on Confidence sorts the most confident first.
    header = panel.table.horizontalHeader()
    x = header.sectionViewportPosition(COL_CONFIDENCE) + 5
    person.qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    values = [panel.proxy.index(r, COL_CONFIDENCE).data(Qt.ItemDataRole.UserRole + 3) for r in range(6)]
    assert values == sorted(values, reverse=True)
    # Copy Rows (Ctrl+C on the table) has a header line.
    panel.select_row(0)
    person.focus(panel.table)
    person.press("Ctrl+C")
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == ["path", "label", "confidence"] and len(lines) == 2
    # Delete removes the selected rows from the table (never the files).
    removed = panel.current_row()
    person.press("Delete")
    assert window.results.rowCount() == 5 and removed.path.exists()
    assert panel.count_label.text() == "5 files"
    assert panel.current_row() is not None and panel.current_row().path != removed.path
    assert window.preview.row is panel.current_row(), "the preview follows the row now selected"
    # Clear Results asks first; "No" keeps the rows, "Yes" clears them.
    person.trigger("Clear Results")
    assert window.results.rowCount() == 5 and person.dialogs.kinds()[-1] == "question"
    person.dialogs.answer(QMessageBox.StandardButton.Yes)
    person.trigger("Clear Results")
    assert window.results.rowCount() == 0
    QGuiApplication.clipboard().clear()


# -- wording -----------------------------------------------------------------------------------


def test_status_wording_counts_and_plurals(person: Person, tmp_path: Path) -> None:
    window = person.window
    one = photos(tmp_path / "one", 1)
    person.drop([one])
    person.wait_idle()
    assert person.status_text().startswith("Classified 1 file in "), person.status_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(4):
        (bad / f"broken{i}.jpg").write_bytes(b"not a jpeg")
    photos(bad, 8, first=1)
    person.drop([bad])
    person.wait_idle()
    assert "Classified 8 files in" in person.status_text() and "4 could not be read" in person.status_text()
    # A queue of several jobs is summed up when the last one ends.
    a, b = photos(tmp_path / "qa", 3, first=9), photos(tmp_path / "qb", 2, first=12)
    person.drop([a])
    person.drop([b])
    person.wait_idle()
    assert "Classified 5 files in 2 jobs" in person.status_text(), person.status_text()
    # Files the library index knew are not "classified in 0.0 s": nothing was computed for them.
    person.dialogs.answer(QMessageBox.StandardButton.Yes)
    person.trigger("Clear Results")
    person.drop([one])
    person.wait_idle()
    assert person.status_text() == "1 file shown from the library index (classified before with this model).", (
        person.status_text()
    )
    person.dialogs.answer(QMessageBox.StandardButton.Yes)
    person.trigger("Clear Results")
    person.drop([one, photos(tmp_path / "new", 2, first=14)])
    person.wait_idle()
    status = person.status_text()
    assert status.startswith("Classified 2 files in ") and status.endswith("; 1 more from the library index."), status
    # The preview's hint follows the Top-k setting.
    window.toolbar.topk_spin.setValue(3)
    window.preview.show_row(None)
    assert "top-3" in window.preview.message.text()


def test_rerun_keeps_error_rows(person: Person, tmp_path: Path, resnet18_weights: Path) -> None:
    window = person.window
    folder = photos(tmp_path / "rerun", 3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    person.drop([folder])
    person.wait_idle()
    before = {r.path: r.ok for r in window.results.rows()}
    # Choosing a model offers to re-run the table with it.
    person.dialogs.open_file(resnet18_weights)
    person.trigger("Open Model File")
    person.qtbot.waitUntil(lambda: "Re-run" in window.banner.button_texts(), timeout=60_000)
    person.click(person.button("Re-run", window.banner))
    person.wait_idle()
    after = {r.path: r.ok for r in window.results.rows()}
    assert after == before and list(after.values()).count(False) == 1


def test_file_names_are_shown_as_plain_text(person: Person, tmp_path: Path) -> None:
    """A file named like markup is shown as its name, never rendered (or turned into a link)."""
    from PySide6.QtWidgets import QLabel

    folder = tmp_path / "markup"
    folder.mkdir()
    name = "<b>bold <a href='x'>link.png"  # no "/" in a file name, so unclosed tags
    Image.new("RGB", (40, 30), (10, 200, 30)).save(folder / name)
    (folder / "<i>broken.jpg").write_bytes(b"not an image")
    person.drop([folder])
    person.wait_idle()
    window = person.window
    for row in range(window.results_panel.proxy.rowCount()):
        window.results_panel.select_row(row)
        for label in window.findChildren(QLabel):
            if "<b>" in label.text() or "<i>" in label.text():
                assert label.textFormat() == Qt.TextFormat.PlainText, f"{label.objectName() or label}: {label.text()}"


def test_selecting_an_unreadable_file_clears_the_features_tab(person: Person, tmp_path: Path) -> None:
    window = person.window
    folder = photos(tmp_path / "mixed", 1)
    (folder / "zz-broken.jpg").write_bytes(b"\xff\xd8 not really")
    person.drop([folder])
    person.wait_idle()
    window.side_tabs.setCurrentIndex(1)  # Features
    panel = window.results_panel
    names = [panel.proxy.index(r, COL_NAME).data() for r in range(panel.proxy.rowCount())]
    panel.select_row(names.index("ph00.jpg"))
    person.qtbot.waitUntil(lambda: "channels of" in window.feature_panel.grid_info.text(), timeout=60_000)
    panel.select_row(names.index("zz-broken.jpg"))
    text = window.feature_panel.grid_info.text()
    assert "zz-broken.jpg" in text and "could not be read" in text
    person.qtbot.waitUntil(lambda: window.feature_panel.grid_canvas._image is None, timeout=10_000)


# -- banners that stayed after they stopped being true (issue 27, item 3) ----------------------------


def test_the_previous_model_banner_goes_when_its_rows_go(person: Person, tmp_path: Path) -> None:
    from resnet_desktop.core.models.ref import ModelRef

    person.drop([photos(tmp_path / "in", 3)])
    person.wait_idle()
    person.window.set_model(ModelRef.parse("resnet18", "random"))
    person.wait_model()
    assert person.banner_text() == ("Model changed\nThe 3 images in the table were classified with the previous model.")
    person.dialogs.answer(QMessageBox.StandardButton.Yes)
    person.trigger("Clear Results")
    assert person.banner_text() == "", "no row of the previous model is left: the banner is not true any more"
    person.drop([photos(tmp_path / "more", 2)])
    person.wait_idle()
    assert person.banner_text() == ""


def test_the_previous_model_banner_goes_when_every_row_is_classified_again(person: Person, tmp_path: Path) -> None:
    from resnet_desktop.core.models.ref import ModelRef

    folder = photos(tmp_path / "in", 3)
    person.drop([folder])
    person.wait_idle()
    person.window.set_model(ModelRef.parse("resnet18", "random"))
    person.wait_model()
    assert "classified with the previous model" in person.banner_text()
    person.drop([folder])  # the same photos again, with the new model: every row is now the new model's
    person.wait_idle()
    assert person.window.results.rowCount() == 3
    assert person.banner_text() == ""


def test_the_cancelled_banner_does_not_outlive_the_next_run(person: Person, tmp_path: Path) -> None:
    big = photos(tmp_path / "big", 120)
    person.drop([big])
    person.qtbot.waitUntil(lambda: person.window.results.rowCount() >= 4, timeout=120_000)
    person.press("Esc")
    person.wait_idle()
    assert person.banner_text().startswith("Classification cancelled\n")
    person.drop([photos(tmp_path / "other", 2, first=120)])  # the person moved on to other photos
    person.wait_idle()
    assert person.banner_text() == ""
    assert person.status_text().startswith("Classified 2 files")
