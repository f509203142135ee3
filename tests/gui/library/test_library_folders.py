"""The Library side list with real background indexing (``library watch`` in its own process): adding
a folder indexes it, the list agrees with ``library status --format json``, the status bar shows the
progress, pause/resume, browsing a folder in the table (date taken, tags), and closing while it
indexes ends it at once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QDate, QProcess, Qt
from PySide6.QtWidgets import QDialogButtonBox

from resnet_desktop.cli import main
from resnet_desktop.core.library.api import FolderModels, FolderRules, add_folder, scan_folders
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.work import drive
from resnet_desktop.gui.classify.results_model import COL_TAKEN
from resnet_desktop.gui.library.folders_panel import status_line
from resnet_desktop.gui.library.indexer import watch_command
from resnet_desktop.gui.library.rules_dialog import RulesDialog
from tests.core.library.photos import make_photos, structured_photo

#: A new process imports torch first: a minute on a loaded 2-core machine.
CHILD_TIMEOUT_MS = 300_000


def _cli_status(capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, object]:
    assert main(["library", "status", str(folder), "--format", "json"]) == 0
    [status] = json.loads(capsys.readouterr().out)
    return status  # type: ignore[no-any-return]


def test_the_background_indexer_runs_at_low_priority_with_one_model_thread() -> None:
    command = watch_command()
    assert (
        command[-8:]
        == ["library", "watch", "--format", "json", "--control", "--priority", "low", "--device", "auto"][-8:]
    )
    assert "--threads" not in command  # library watch's default: one model thread


def test_a_library_folder_is_indexed_in_the_background_and_the_list_agrees_with_the_cli(
    qtbot, person, window, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "holiday"
    make_photos(folder, 6, size=(64, 48))
    (folder / "IMG_9.CR2").write_bytes(b"raw")
    library = window.library_folders
    library.indexer.command = watch_command("normal", "cpu")  # a shared, loaded test machine: no nice here
    seen_in_status_bar: list[str] = []
    library.indexer.progressed.connect(lambda *_: seen_in_status_bar.append(library.status_label.text()))

    person.dialogs.folder(folder)
    person.click(library.panel.add_button)
    qtbot.waitUntil(lambda: library.indexer.running, timeout=30_000)
    qtbot.waitUntil(lambda: "6 indexed" in library.panel.item_text(folder), timeout=CHILD_TIMEOUT_MS)
    assert any(text.startswith("Library: holiday indexing") for text in seen_in_status_bar), seen_in_status_bar

    cli = _cli_status(capsys, folder)
    shown = library.panel.statuses[folder]
    assert (
        {k: cli[k] for k in ("files", "indexed", "pending", "errors", "skipped")}
        == {
            "files": shown.files,
            "indexed": shown.indexed,
            "pending": shown.pending,
            "errors": shown.errors,
            "skipped": shown.skipped_total,
        }
        == {"files": 6, "indexed": 6, "pending": 0, "errors": 0, "skipped": 1}
    )
    text = library.panel.item_text(folder)
    assert text.startswith("holiday\n") and status_line(shown) in text
    assert cli["model"] == str(window.model_info.ref.text())  # the app's active model

    person.click(library.panel.pause_button)
    qtbot.waitUntil(lambda: library.indexer.state == "paused", timeout=60_000)
    assert library.status_label.text() == "Library indexing paused" and library.panel.pause_button.text() == "Resume"
    make_photos(folder, 2, start=30, size=(64, 48))
    qtbot.wait(3000)  # paused: the new photos wait
    assert _cli_status(capsys, folder)["pending"] == 2
    person.click(library.panel.pause_button)
    qtbot.waitUntil(lambda: "8 indexed" in library.panel.item_text(folder), timeout=120_000)

    item = library.panel.list.item(1)
    library.panel.list.itemActivated.emit(item)  # double-click: the folder in the table
    qtbot.waitUntil(lambda: window.results.rowCount() == 8, timeout=30_000)
    assert window.results_panel.browse_bar.isVisible()
    assert window.results_panel.browse_bar.where.text() == "Library: holiday"
    assert not window.results_panel.table.isColumnHidden(COL_TAKEN)
    library.panel.list.itemActivated.emit(library.panel.list.item(0))  # "Whole Library"
    qtbot.waitUntil(
        lambda: window.results_panel.browse_bar.where.text() == "Library: the whole library", timeout=30_000
    )

    started = time.monotonic()
    process = library.indexer._process
    window.close()
    assert time.monotonic() - started < 2.0
    assert process is not None and process.state() == QProcess.ProcessState.NotRunning


def _dated(path: Path, date: str, seed: int) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date
    structured_photo(seed, (64, 48)).save(path, exif=exif, quality=90)


def test_browsing_a_library_folder_in_the_table_filters_by_date_taken_and_tag(
    qtbot, person, window, tmp_path: Path, resnet18_weights: Path
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    _dated(folder / "a.jpg", "2021:05:01 10:00:00", 1)
    _dated(folder / "b.jpg", "2022:06:01 10:00:00", 2)
    _dated(folder / "c.jpg", "2023:07:01 10:00:00", 3)
    add_folder(folder, ModelRef("resnet18", file=resnet18_weights))
    drive(scan_folders(FolderModels("cpu", threads=1)))
    (folder / "b.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        "<rdf:li>family</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    library = window.library_folders
    library.refresh()
    qtbot.waitUntil(lambda: "3 indexed" in library.panel.item_text(folder), timeout=30_000)
    library.panel.select(None)
    person.trigger("Show in Table")  # the whole library
    qtbot.waitUntil(lambda: window.results.rowCount() == 3, timeout=30_000)
    panel = window.results_panel
    assert panel.browse_bar.where.text() == "Library: the whole library"
    names = [row.path.name for row in panel.proxy.visible_rows()]
    assert names == ["c.jpg", "b.jpg", "a.jpg"]  # newest photo first
    assert panel.proxy.index(0, COL_TAKEN).data() == "2023-07-01 10:00"

    bar = panel.browse_bar
    bar.taken_from.setDate(QDate(2022, 1, 1))
    assert [row.path.name for row in panel.proxy.visible_rows()] == ["c.jpg", "b.jpg"]
    bar.taken_to.setDate(QDate(2022, 12, 31))
    assert [row.path.name for row in panel.proxy.visible_rows()] == ["b.jpg"]
    assert panel.count_label.text() == "1 of 3"
    bar.reset()
    person.select(bar.tag, "family")
    assert [row.path.name for row in panel.proxy.visible_rows()] == ["b.jpg"]
    person.click(bar.done_button)
    assert panel.proxy.rowCount() == 3 and not bar.isVisible() and panel.table.isColumnHidden(COL_TAKEN)


def test_an_organize_rule_without_a_folder_is_refused_in_the_dialog(qtbot, tmp_path: Path) -> None:
    dialog = RulesDialog(tmp_path, FolderRules())
    qtbot.addWidget(dialog)
    dialog.organize.setCurrentIndex(2)  # move
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() is False or dialog.result() != dialog.DialogCode.Accepted
    assert dialog.status.text() == "an organize rule needs a folder to organize into (--organize-into)"
    dialog.into.setText(str(tmp_path / "sorted"))
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.rules.organize_into == tmp_path / "sorted"


def test_reopen_last_session_brings_back_every_drop_of_the_app_run(qtbot, person, window, tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    make_photos(first, 3, size=(64, 48))
    make_photos(second, 2, start=10, size=(64, 48))
    person.drop([first])
    person.wait_idle()
    person.drop([second])
    person.wait_idle()
    assert window.results.rowCount() == 5
    window.clear_results(ask=False)
    person.trigger("Reopen Last Session")
    qtbot.waitUntil(lambda: window.results.rowCount() == 5, timeout=30_000)
    assert "Reopened 5 results" in person.status_text()
    assert window.results.rowCount() == 5 and Qt  # every drop, not only the last one
