"""Main window pieces: toolbar catalog, model files, device errors, recent folders, about, caches."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox

from resnet_desktop.core.errors import CancelledError, DeviceError, OutputError
from resnet_desktop.core.models.ref import ModelRef
from tests.gui.harness import drop, select

TIMEOUT_MS = 120_000


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.service.busy, timeout=TIMEOUT_MS)


def combo_data(combo) -> list:
    return [combo.itemData(i) for i in range(combo.count()) if combo.itemText(i)]


def test_toolbar_lists_core_architectures_weights_and_devices(qtbot, window) -> None:
    from resnet_desktop.core.devices import available_devices
    from resnet_desktop.core.models import zoo
    from resnet_desktop.gui.classify.toolbar import OPEN_FILE

    qtbot.waitUntil(lambda: window.toolbar.catalog is not None, timeout=TIMEOUT_MS)
    toolbar = window.toolbar
    assert combo_data(toolbar.arch_combo) == list(zoo.ARCHITECTURES)
    assert toolbar.arch_combo.currentData() == "resnet18"
    weights = combo_data(toolbar.weights_combo)
    names = [w.name for w in zoo.list_weights("resnet18")]
    assert weights[: len(names)] == names and zoo.RANDOM_WEIGHTS in weights and weights[-1] == OPEN_FILE
    assert toolbar.weights_combo.currentData() == window.model_info.ref.weights_or_file  # the loaded file
    assert combo_data(toolbar.device_combo) == ["auto", *(d.id for d in available_devices())]
    assert toolbar.device() == "cpu"

    # Picking another architecture selects its default weights and asks for a reload.
    with qtbot.waitSignal(toolbar.modelChosen) as chosen:
        toolbar.arch_combo.setCurrentIndex(toolbar.arch_combo.findData("resnet34"))
        toolbar.arch_combo.activated.emit(toolbar.arch_combo.currentIndex())
    default34 = next(w.name for w in zoo.list_weights("resnet34") if w.is_default)
    assert chosen.args[0] == ModelRef.parse("resnet34", default34)


def fruit_model_file(folder: Path) -> Path:
    """One of our fine-tuned model files (3 classes), as the wizard would save it."""
    from resnet_desktop.core.models import modelfile, zoo

    model = zoo.build_model("resnet18", 3)
    meta = modelfile.ModelFileMeta(
        arch="resnet18",
        class_names=["apple", "banana", "cherry"],
        preprocessing=zoo.get_weights_info("resnet18", "IMAGENET1K_V1").preprocessing.to_dict(),
    )
    return modelfile.save_model_file(folder / "fruit.safetensors", model, meta)


def test_open_fine_tuned_model_file_from_toolbar(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    from resnet_desktop.gui.classify.toolbar import OPEN_FILE
    from tests.badfiles import make_good_images

    path = fruit_model_file(tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    combo = window.toolbar.weights_combo
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT_MS) as ready:
        select(combo, OPEN_FILE)
    assert ready.args[0].loaded.categories == ["apple", "banana", "cherry"]
    assert combo.currentData() == str(path), "the file is now listed and selected in the picker"
    drop(window, make_good_images(tmp_path / "imgs", n=2))
    wait_idle(qtbot, window)
    rows = window.results.rows()
    assert len(rows) == 2 and all(len(r.scores) == 3 for r in rows)  # top-5 capped by 3 classes
    assert {s.label for r in rows for s in r.scores} == {"apple", "banana", "cherry"}


def test_finetune_wizard_switches_the_window_to_its_model(qtbot, window, tmp_path: Path) -> None:
    pytest.importorskip("resnet_desktop.gui.finetune.wizard")
    window.finetune_action.trigger()
    wizard = window.tools.wizard
    assert wizard is not None and wizard.isVisible()
    window.finetune_action.trigger()
    assert window.tools.wizard is wizard, "one wizard at a time"
    path = fruit_model_file(tmp_path)
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT_MS) as ready:
        wizard.modelReady.emit(str(path))
    assert ready.args[0].loaded.categories == ["apple", "banana", "cherry"]
    assert window.settings.model_ref().weights_or_file == str(path)
    wizard.close()


def test_missing_device_offers_automatic(qtbot, make_window, resnet18_weights: Path) -> None:
    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)), start=False, device="cuda:7")
    with qtbot.waitSignal(window.service.modelFailed, timeout=TIMEOUT_MS) as failed:
        window.start()
    assert isinstance(failed.args[0], DeviceError)
    assert window.banner.isVisible() and window.banner.button_texts() == ["Use automatic device"]
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT_MS):
        window.banner.click("Use automatic device")
    assert window.toolbar.device() == "auto" and window.settings.device() == "auto"


def test_drop_before_model_is_ready_waits_for_it(qtbot, make_window, resnet18_weights: Path, tmp_path: Path) -> None:
    from tests.badfiles import make_good_images

    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)), start=False)
    files = make_good_images(tmp_path / "early", n=2)
    drop(window, files)  # before torch is even imported
    assert window.results.rowCount() == 0 and window.service.busy
    window.start()
    wait_idle(qtbot, window)
    assert [r.path for r in window.results.rows()] == files


def test_switching_model_mid_job_cancels_it(qtbot, window, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        Image.new("RGB", (20, 20), (i, i, i)).save(folder / f"{i:02d}.png")
    drop(window, [folder])
    qtbot.waitUntil(lambda: window.results.rowCount() > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT_MS):
        select(window.toolbar.weights_combo, "random")
    assert window.results.rowCount() < 80, "the old job stopped"
    assert not window.service.busy
    assert "Re-run" in window.banner.button_texts()


def test_recent_folders_menu(qtbot, window, dialogs, tmp_path: Path) -> None:
    from tests.badfiles import make_good_images

    folders = []
    for name in ("one", "two"):
        make_good_images(tmp_path / name, n=1)
        folders.append(tmp_path / name)
        drop(window, [tmp_path / name])
    wait_idle(qtbot, window)
    actions = [a for a in window.inputs.recent_menu.actions() if a.text() and not a.isSeparator()]
    assert [a.text() for a in actions[:2]] == [str(folders[1]), str(folders[0])]
    dialogs.answer(QMessageBox.StandardButton.Yes)
    window.clear_action.trigger()
    assert window.results.rowCount() == 0
    actions[1].trigger()
    wait_idle(qtbot, window)
    assert [r.path.parent for r in window.results.rows()] == [folders[0]]


def test_about_names_versions_and_device(qtbot, window) -> None:
    import torch

    from resnet_desktop import __version__
    from resnet_desktop.gui.common.dialogs import about_text

    catalog = window.service.catalog
    text = about_text({k: catalog.versions[k] for k in ("torch", "torchvision")}, window.model_info.device_name)
    assert __version__ in text and torch.__version__ in text and "CPU" in text


def test_download_progress_in_status_bar(qtbot, window) -> None:
    window.service.loadProgress.emit(25 * 1024 * 1024, 100 * 1024 * 1024)
    assert window.status.message.text() == "Downloading weights: 25.0 of 100.0 MB"
    assert window.status.progress.isVisible() and window.status.progress.value() == 250


def test_progress_text_and_eta() -> None:
    from resnet_desktop.gui.common.status import format_eta, progress_text

    assert progress_text(50, 200, 10.0) == "50 / 200 · 10.0 images/s · ETA 15 s"
    assert progress_text(0, 10, 0.0, queued=2) == "0 / 10 · +2 queued"
    assert format_eta(3725) == "1 h 02 min"


def test_pixmap_cache_is_bounded(qapp) -> None:
    from resnet_desktop.gui.common.thumbnails import PixmapLRU

    cache = PixmapLRU(max_bytes=10 * 10 * 4 * 3)  # room for three 10x10 pixmaps
    for i in range(5):
        pixmap = QPixmap(10, 10)
        cache.put((f"p{i}", 10), pixmap)
        if i == 2:
            assert cache.get(("p0", 10)) is not None  # touch p0: it becomes most recent
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert cache.get(("p0", 10)) is not None, "recently used entries survive"
    assert cache.get(("p1", 10)) is None and cache.get(("p2", 10)) is None, "least recently used go first"


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_never_leaves_partial_file(tmp_path: Path, suffix: str, monkeypatch) -> None:
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.gui.classify import export as export_module

    target = tmp_path / f"out{suffix}"
    target.write_text("previous export\n", encoding="utf-8")

    def broken_replace(*_a: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("resnet_desktop.core.atomic.os.replace", broken_replace)
    with pytest.raises(OutputError, match="the disk is full"):
        export_module.export(target, [Prediction(path=Path("a.jpg"), error="bad")])
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_standard_shortcuts(qtbot, make_window) -> None:
    from PySide6.QtGui import QKeySequence

    window = make_window(None, start=False)
    shortcuts = {
        window.open_images_action: QKeySequence(QKeySequence.StandardKey.Open),
        window.open_folder_action: QKeySequence("Ctrl+Shift+O"),
        window.paste_action: QKeySequence(QKeySequence.StandardKey.Paste),
        window.export_action: QKeySequence("Ctrl+E"),
        window.cancel_action: QKeySequence("Esc"),
        window.results_panel.copy_action: QKeySequence(QKeySequence.StandardKey.Copy),
    }
    for action, keys in shortcuts.items():
        assert action.shortcut() == keys, action.text()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "Model", "View", "Tools", "Help"]


def test_show_in_folder_opens_the_files_folder(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    from tests.badfiles import make_good_images

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    files = make_good_images(tmp_path / "shown", n=1)
    drop(window, files)
    wait_idle(qtbot, window)
    window.results_panel.select_row(0)
    window.results_panel.show_in_folder_action.trigger()
    assert opened == [str(files[0].parent)]


def test_drags_without_local_files_are_refused(qtbot, make_window) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    window = make_window(None, start=False)
    for fill in (lambda m: m.setText("just text"), lambda m: m.setUrls([QUrl("https://example.org/cat.jpg")])):
        mime = QMimeData()
        fill(mime)
        event = QDragEnterEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(window, event)
        assert not event.isAccepted()
        assert not window.drop_overlay.isVisible()


def test_esc_cancels_a_model_load_then_retry_loads_it(qtbot, make_window, resnet18_weights: Path) -> None:
    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)), start=False)
    with qtbot.waitSignal(window.service.modelFailed, timeout=TIMEOUT_MS) as failed:
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        window.start()
        qtbot.keyClick(window, Qt.Key.Key_Escape)  # while torch is still being imported: the load never starts
    assert isinstance(failed.args[0], CancelledError)
    assert window.model_info is None and not window.service.is_loading
    assert window.banner.isVisible() and "Retry" in window.banner.button_texts()
    with qtbot.waitSignal(window.modelReady, timeout=TIMEOUT_MS):
        window.banner.click("Retry")
    assert window.model_info is not None and not window.cancel_action.isEnabled()


def test_thumbnails_are_decoded_off_the_gui_thread(qtbot, tmp_path: Path, monkeypatch) -> None:
    import threading

    from PIL import Image
    from PySide6.QtCore import Qt

    from resnet_desktop.core.inference.records import ClassScore, Prediction
    from resnet_desktop.gui.classify.results_model import COL_THUMB, ResultsModel
    from resnet_desktop.gui.common import thumbnails

    threads: list[int] = []
    real = thumbnails.read_scaled
    monkeypatch.setattr(thumbnails, "read_scaled", lambda *a: (threads.append(threading.get_ident()), real(*a))[1])
    photo = tmp_path / "wide.jpg"
    Image.new("RGB", (640, 320), (10, 200, 30)).save(photo)
    fake_heic = tmp_path / "phone.heic"
    fake_heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))  # the core may read it; Qt cannot
    loader = thumbnails.ThumbnailLoader()
    model = ResultsModel(loader)
    score = (ClassScore("x", 0, 1.0),)
    model.append(
        [Prediction(photo, score), Prediction(fake_heic, score), Prediction(tmp_path / "bad.jpg", error="corrupt")]
    )
    decoration = Qt.ItemDataRole.DecorationRole
    for row in range(3):
        model.data(model.index(row, COL_THUMB), decoration)
    qtbot.waitUntil(
        lambda: loader.cache.get((str(photo), thumbnails.THUMB_SIZE)) is not None and loader.failed(str(fake_heic)),
        timeout=10_000,
    )
    pixmap = model.data(model.index(0, COL_THUMB), decoration)
    assert isinstance(pixmap, QPixmap) and (pixmap.width(), pixmap.height()) == (48, 24)
    assert model.data(model.index(1, COL_THUMB), decoration) is not None  # a generic icon, not a blank
    assert model.data(model.index(2, COL_THUMB), decoration) is not None  # the warning icon
    assert len(threads) == 2, "error rows are never handed to Qt's decoders"
    assert threading.get_ident() not in threads
    loader.shutdown()


def test_export_asks_again_when_an_added_suffix_hits_an_existing_file(qtbot, monkeypatch, tmp_path: Path) -> None:
    """The save dialog confirmed 'results'; 'results.csv' exists and was never confirmed."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

    from resnet_desktop.gui.common.dialogs import ask_export_path

    parent = QWidget()
    qtbot.addWidget(parent)
    existing = tmp_path / "results.csv"
    existing.write_text("the user's own file")
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(tmp_path / "results"), "CSV (*.csv)"))
    )
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton):
        return staticmethod(lambda _parent, _title, text, *a, **k: asked.append(text) or reply)

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    assert ask_export_path(parent) is None
    assert asked and "results.csv" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert ask_export_path(parent) == existing
    # No question when the name is new.
    asked.clear()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(tmp_path / "new"), "JSON (*.json)"))
    )
    assert ask_export_path(parent) == tmp_path / "new.json" and not asked
    assert existing.read_text() == "the user's own file"
