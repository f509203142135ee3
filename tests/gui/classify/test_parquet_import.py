"""File > Open Results (Parquet)…: a cluster job's results folder lands in the window's table."""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.inference.records import ClassScore, Prediction
from tests.gui.harness import Person, plain
from tests.ray_cluster import needs_ray

pytestmark = needs_ray  # pyarrow comes with the cluster extra

OPEN = "Open Results (Parquet)…"


def _write_results(folder: Path, photos: list[Path]) -> list[Prediction]:
    from resnet_desktop.core.cluster.results import PartWriter, to_table

    rows = [
        Prediction(path=photos[0], scores=(ClassScore("tabby", 281, 0.9), ClassScore("tiger cat", 282, 0.05))),
        Prediction(path=photos[1], error="truncated or incomplete image data"),
        Prediction(path=photos[2], scores=(ClassScore("golden retriever", 207, 0.7),)),
    ]
    writer = PartWriter(folder)  # as a cluster job writes them: parts, the later input first
    writer.write(to_table(rows[2:], [2], "resnet18:random:sha256-x"))
    writer.write(to_table(rows[:2], [0, 1], "resnet18:random:sha256-x"))
    return rows


def test_open_results_parquet_fills_the_table(
    qtbot, make_window, dialogs, sample_photos: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "results.parquet"
    expected = _write_results(folder, sample_photos)
    person = Person(qtbot, make_window(start=False), dialogs)
    window = person.window
    file_menu = window.menuBar().actions()[0].menu()
    assert plain(OPEN) in [plain(a.text()) for a in file_menu.actions()]

    dialogs.folder(folder)
    person.trigger(OPEN)

    qtbot.waitUntil(lambda: window.results.rowCount() == 3, timeout=30_000)
    assert dialogs.calls == [("getExistingDirectory", "Open Results (Parquet)")]
    assert window.results.rows() == expected  # in input order
    assert "Opened 3 results from results.parquet (1 could not be classified)" in person.status_text()
    assert person.action(OPEN).isEnabled() and not person.problems()
    assert person.action("Organize into Folders…").isEnabled()  # organize can plan from imported rows


def test_a_file_that_is_not_results_shows_a_banner(qtbot, make_window, dialogs, tmp_path: Path) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"this is not parquet")
    person = Person(qtbot, make_window(start=False), dialogs)

    dialogs.folder(junk)
    person.trigger(OPEN)

    qtbot.waitUntil(lambda: person.banner_text() != "", timeout=30_000)
    assert "The results could not be opened" in person.banner_text()
    assert "not a readable Parquet file" in person.banner_text()
    assert person.window.results.rowCount() == 0 and person.action(OPEN).isEnabled()


def test_cancelling_the_folder_dialog_changes_nothing(qtbot, make_window, dialogs) -> None:
    person = Person(qtbot, make_window(start=False), dialogs)
    before = person.status_text()
    person.trigger(OPEN)  # no answer queued: the dialog is cancelled
    assert dialogs.calls == [("getExistingDirectory", "Open Results (Parquet)")]
    assert person.window.results.rowCount() == 0 and person.status_text() == before
