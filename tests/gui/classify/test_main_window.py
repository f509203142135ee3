"""Main window end to end (offscreen, generated weights): drop/open/paste -> rows, threads, cancel, export."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QThread, QTimer, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

from resnet_desktop.core.inference.records import LONG_CSV_HEADER, Prediction, to_dict
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.classify.results_model import COL_CONFIDENCE
from tests.gui.harness import select

JOB_TIMEOUT_MS = 120_000


def mime_for(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(window, paths: list[Path]) -> None:
    """A real drag-enter + drop on the window, as a file manager would send them."""
    mime = mime_for(paths)
    centre = window.rect().center()
    enter = QDragEnterEvent(
        QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert window.drop_overlay.isVisible(), "hovering files must highlight the window"
    event = QDropEvent(
        QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, event)
    assert event.isAccepted()
    assert not window.drop_overlay.isVisible()


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.service.busy, timeout=JOB_TIMEOUT_MS)


def expected_predictions(window, inputs: list[Path]) -> dict[Path, object]:
    """What the core's engine answers for the same inputs (the GUI must show exactly this)."""
    from resnet_desktop.core.images import discover
    from resnet_desktop.core.inference.engine import Engine

    engine = Engine(window.model_info.loaded, "cpu")
    return {p.path: p for p in engine.classify(list(discover(inputs)), topk=5)}


def assert_rows_match(rows: list[Prediction], expected: dict) -> None:
    assert sorted(r.path for r in rows) == sorted(expected), "one row per file"
    for row in rows:
        want = expected[row.path]
        assert row.error == want.error, row.path
        assert [s.index for s in row.scores] == [s.index for s in want.scores], row.path
        assert [s.label for s in row.scores] == [s.label for s in want.scores], row.path
        assert [s.probability for s in row.scores] == pytest.approx([s.probability for s in want.scores], abs=1e-5)


def test_drop_folder_with_good_and_bad_files(qtbot, window, mixed_folder) -> None:
    folder, reasons = mixed_folder
    drop(window, [folder])
    wait_idle(qtbot, window)
    rows = window.results.rows()
    assert_rows_match(rows, expected_predictions(window, [folder]))
    by_name = {r.path.name: r for r in rows}
    for name, reason in reasons.items():
        assert by_name[name].error and reason in by_name[name].error, name
        shown = window.results_panel.proxy
        texts = [shown.index(r, 2).data() for r in range(shown.rowCount())]
        assert any(by_name[name].error in (t or "") for t in texts), "error rows show their reason"
    good = [r for r in rows if r.ok]
    assert len(good) >= 6 and all(len(r.scores) == 5 for r in good)
    assert str(folder) in window.settings.recent_folders()
    # The first row is selected and previewed large with its top-5 bars.
    assert window.preview.row is not None
    assert len(window.preview.bars.scores()) == len(window.preview.row.scores)


def test_open_images_and_open_folder(qtbot, window, monkeypatch, tmp_path: Path) -> None:
    from tests.badfiles import make_good_images

    files = make_good_images(tmp_path / "a", n=3)
    folder = tmp_path / "b"
    make_good_images(folder, n=2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(f) for f in files], "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    window.open_images_action.trigger()
    window.open_folder_action.trigger()  # queued behind the first job
    wait_idle(qtbot, window)
    expected = expected_predictions(window, [*files, folder])
    assert_rows_match(window.results.rows(), expected)
    assert any(r.error and r.path.name == "broken.jpg" for r in window.results.rows())
    assert window.settings.recent_folders()[0] == str(folder)


def test_paste_image_from_clipboard(qtbot, window, tmp_path: Path) -> None:
    image = QImage(96, 64, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 40, 30))
    QGuiApplication.clipboard().setImage(image)
    window.paste_action.trigger()
    wait_idle(qtbot, window)
    rows = window.results.rows()
    assert len(rows) == 1 and rows[0].ok
    pasted = rows[0].path
    from resnet_desktop.gui.classify.inputs import paste_folder

    assert pasted.parent == paste_folder() and pasted.suffix == ".png"
    assert QImage(str(pasted)).pixelColor(5, 5) == QColor(200, 40, 30)
    assert_rows_match(rows, expected_predictions(window, [pasted]))


def test_try_samples_agrees_with_reference_pipeline(qtbot, window) -> None:
    from resnet_desktop.core.inference.engine import reference_predict

    window.samples_action.trigger()
    wait_idle(qtbot, window)
    rows = window.results.rows()
    assert len(rows) >= 3
    for row in rows:
        ref = reference_predict(window.model_info.loaded, row.path, topk=5)
        assert row.ok and row.top1.index == ref.top1.index, row.path
        assert len({s.index for s in row.scores} & {s.index for s in ref.scores}) >= 4


def tiny_jpegs(folder: Path, n: int) -> Path:
    """``n`` tiny JPEGs (decoding cost is negligible; the model cost is what the GUI must hide)."""
    from PIL import Image

    folder.mkdir()
    for i in range(n):
        Image.new("RGB", (32, 24), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(folder / f"img{i:03d}.jpg")
    return folder


@pytest.fixture
def many_images(tmp_path: Path) -> Path:
    return tiny_jpegs(tmp_path / "many", 200)


@pytest.fixture
def some_images(tmp_path: Path) -> Path:
    return tiny_jpegs(tmp_path / "some", 40)


def test_model_runs_off_gui_thread_and_event_loop_stays_responsive(qtbot, window, many_images: Path) -> None:
    gui_thread = threading.get_ident()
    forward_threads: set[int] = set()
    hook = window.service.engine_model.register_forward_pre_hook(
        lambda _m, _i: forward_threads.add(threading.get_ident())
    )
    progress_threads: set[bool] = set()
    totals: list[int] = []
    window.service.jobTotal.connect(lambda _job, n: totals.append(n))
    bar_texts: list[str] = []
    window.service.jobProgress.connect(lambda *_: bar_texts.append(window.status.progress.format()))
    window.service.jobProgress.connect(
        lambda *_: progress_threads.add(QThread.currentThread() is QApplication.instance().thread())
    )
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    try:
        timer.start()
        drop(window, [many_images])
        wait_idle(qtbot, window)
    finally:
        timer.stop()
        hook.remove()
    assert window.results.rowCount() == 200
    assert forward_threads and gui_thread not in forward_threads, "the model must never run on the GUI thread"
    assert progress_threads == {True}, "signals reach the GUI on its own thread"
    assert totals == [200], "the file count arrives while classifying"
    assert any(t.startswith("200 / 200 · ") and "images/s" in t for t in bar_texts), bar_texts[-3:]
    assert any("ETA" in t for t in bar_texts)
    assert window.status.message.text().startswith("Classified 200 files")
    max_gap_ms = max(gaps) * 1000
    print(f"\nevent loop: {len(gaps)} ticks while classifying 200 images, max gap {max_gap_ms:.0f} ms")
    assert max_gap_ms < 1000, "the event loop stalled"


def test_cancel_keeps_finished_rows_and_stops_quickly(qtbot, window, many_images: Path) -> None:
    drop(window, [many_images])
    qtbot.waitUntil(lambda: window.results.rowCount() >= 8, timeout=JOB_TIMEOUT_MS)
    pressed = time.perf_counter()
    with qtbot.waitSignal(window.service.jobFinished, timeout=10_000) as finished:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    latency = time.perf_counter() - pressed
    print(f"\ncancel latency {latency * 1000:.0f} ms")
    assert finished.args[1] is True, "the job reports it was cancelled"
    kept = window.results.rowCount()
    assert 8 <= kept < 200
    assert all(r.ok and len(r.scores) == 5 for r in window.results.rows())
    qtbot.wait(300)
    assert window.results.rowCount() == kept, "nothing arrives after the cancel"
    assert "Cancelled" in window.status.message.text()
    # "Classify Remaining" in the banner finishes the run: the kept rows are not classified again.
    computed: list[Path] = []
    window.service.predictions.connect(lambda _job, chunk: computed.extend(p.path for p in chunk))
    button = next(b for b in window.banner.findChildren(QPushButton) if b.text() == "Classify Remaining")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    paths = [r.path for r in window.results.rows()]
    assert len(paths) == len(set(paths)) == 200, "one row per file, the rest classified"
    assert len(computed) == 200 - kept, "only the files not done before were classified"


def test_new_drops_queue_behind_running_job(qtbot, window, some_images: Path, tmp_path: Path) -> None:
    from tests.badfiles import make_good_images

    extra = make_good_images(tmp_path / "extra", n=2)
    drop(window, [some_images])
    qtbot.waitUntil(lambda: window.results.rowCount() > 0, timeout=JOB_TIMEOUT_MS)
    drop(window, extra)
    assert len(window.service.queue) == 1
    wait_idle(qtbot, window)
    paths = [r.path for r in window.results.rows()]
    assert len(paths) == 42 and paths[-2:] == extra, "the second drop runs after the first, in order"


def export_via_menu(window, dialogs, path: Path) -> Path:
    """File > Export Results…, answering the save dialog with ``path``."""
    dialogs.save(path, "JSON (*.json)" if path.suffix == ".json" else "CSV (*.csv)")
    window.export_action.trigger()
    return path


def test_export_round_trip(qtbot, window, dialogs, mixed_folder, tmp_path: Path) -> None:
    folder, _ = mixed_folder
    drop(window, [folder])
    wait_idle(qtbot, window)
    proxy = window.results_panel.proxy
    window.results_panel.table.sortByColumn(COL_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    shown = proxy.visible_rows()
    assert len(shown) == window.results.rowCount()

    json_path = export_via_menu(window, dialogs, tmp_path / "out.json")
    assert json.loads(json_path.read_text(encoding="utf-8")) == [to_dict(r) for r in shown]
    csv_path = export_via_menu(window, dialogs, tmp_path / "out.csv")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    # One CSV schema everywhere: the CLI's (one row per file and rank), in the table's order.
    assert lines[0] == list(LONG_CSV_HEADER) == ["path", "rank", "label", "index", "probability", "error"]
    expected: list[list[str]] = []
    for r in shown:
        if r.error:
            expected.append([str(r.path), "", "", "", "", r.error])
        for rank, score in enumerate(r.scores, start=1):
            expected.append([str(r.path), str(rank), score.label, str(score.index), f"{score.probability:.6f}", ""])
    assert lines[1:] == expected

    # Filtered export writes what the table shows.
    window.results_panel.min_confidence.setValue(0.5)  # > 0 hides error rows
    filtered = proxy.visible_rows()
    assert filtered and all(r.ok for r in filtered)
    export_via_menu(window, dialogs, json_path)
    assert [d["path"] for d in json.loads(json_path.read_text(encoding="utf-8"))] == [str(r.path) for r in filtered]
    assert not list(tmp_path.glob(".out.*")), "no temp files left behind"


def test_sort_and_filter(qtbot, window, some_images: Path) -> None:
    drop(window, [some_images])
    wait_idle(qtbot, window)
    panel = window.results_panel
    panel.table.sortByColumn(COL_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    confidences = [r.top1.probability for r in panel.proxy.visible_rows()]
    assert confidences == sorted(confidences, reverse=True)
    threshold = confidences[len(confidences) // 2]
    panel.min_confidence.setValue(threshold * 100)
    assert all(r.top1.probability >= round(threshold * 100) / 100 for r in panel.proxy.visible_rows())
    panel.min_confidence.setValue(0)
    label = confidences and panel.proxy.visible_rows()[0].top1.label
    panel.filter_edit.setText(label.upper())
    visible = panel.proxy.visible_rows()
    assert visible and all(
        any(label.lower() in s.label.lower() for s in r.scores) or label.lower() in r.path.name.lower() for r in visible
    )
    panel.select_row(0)
    assert panel.copy_selected().splitlines()[1].startswith(str(visible[0].path))


def test_missing_weights_shows_banner_then_choose_file(qtbot, make_window, resnet18_weights: Path, monkeypatch) -> None:
    window = make_window(None, start=False)  # the default model: offline, not cached
    with qtbot.waitSignal(window.service.modelFailed, timeout=120_000):
        window.start()
    assert window.banner.isVisible()
    assert window.banner.button_texts() == ["Choose weights file…", "Retry"]
    assert "not available" in window.banner.text.text()
    assert window.isEnabled() and window.samples_action.isEnabled(), "non-modal: the app stays usable"
    # The default architecture is resnet50; the file holds resnet18 weights, which the window detects.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(resnet18_weights), "")))
    with qtbot.waitSignal(window.modelReady, timeout=120_000) as ready:
        window.banner.click("Choose weights file…")
    assert ready.args[0].loaded.arch == "resnet18"
    assert not window.banner.isVisible()
    assert window.settings.model_ref().weights_or_file == str(resnet18_weights)


def test_switching_model_offers_rerun(qtbot, window, tmp_path: Path) -> None:
    from tests.badfiles import make_good_images

    files = make_good_images(tmp_path / "few", n=3)
    drop(window, files)
    wait_idle(qtbot, window)
    before = {r.path: r.top1.index for r in window.results.rows()}
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        select(window.toolbar.weights_combo, "random")
    assert window.banner.isVisible() and "Re-run" in window.banner.button_texts()
    window.banner.click("Re-run")
    wait_idle(qtbot, window)
    assert sorted(r.path for r in window.results.rows()) == sorted(before)
    assert_rows_match(window.results.rows(), expected_predictions(window, files))


def test_settings_remembered(qtbot, make_window, app_settings, resnet18_weights: Path) -> None:
    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)))
    window.resize(700, 500)
    window.splitter.setSizes([600, 300])
    window.toolbar.topk_spin.setValue(3)
    window.close()
    assert app_settings.geometry() is not None and app_settings.splitter_state() is not None
    assert app_settings.topk() == 3
    second = make_window(None, start=False)
    assert second.toolbar.topk() == 3
    assert second.size().width() == 700
