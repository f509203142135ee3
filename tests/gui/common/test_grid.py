"""The photo grid: badges painted in their class's colour, multi-select by mouse and keys, dragging
photos out, thumbnails decoded off the GUI thread and kept on disk (keyed by path + size + mtime,
bounded), and a library of 100,000 rows."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from resnet_desktop.gui.common import thumbnails
from resnet_desktop.gui.common.grid import Badge, PhotoGrid
from resnet_desktop.gui.common.thumb_cache import DiskThumbnailCache, default_folder
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

RED, BLUE = "#d62728", "#1f77b4"


def _photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"photo_{i:02d}.jpg"
        Image.new("RGB", (160, 120), ((i * 40) % 256, 200, 90)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def grid(qtbot, tmp_path: Path):
    loader = ThumbnailLoader(disk=DiskThumbnailCache(tmp_path / "thumbs"))
    view = PhotoGrid(loader)
    qtbot.addWidget(view)
    view.resize(700, 500)
    yield view
    loader.shutdown()


def _cell_pixel(view: PhotoGrid, row: int, dx: int, dy: int) -> QColor:
    rect = view.visualRect(view.grid_model.index(row))
    image = view.viewport().grab().toImage()
    return QColor(image.pixel(rect.left() + dx, rect.top() + dy))


def _pill_point(view: PhotoGrid) -> tuple[int, int]:
    """A point inside a badge pill, left of its text (see ``GridDelegate.paint``)."""
    height = view.fontMetrics().height() + 4
    return 6 + 2 + 5, 6 + view.side - 2 - height // 2


def test_badges_are_painted_in_their_class_colour_and_change_with_set_badges(qtbot, grid, tmp_path: Path) -> None:
    paths = _photos(tmp_path / "p", 4)
    labels = {0: Badge("cats", RED, mine=True, tip="Labeled cats by you")}
    grid.grid_model.set_photos([str(p) for p in paths], labels.get)
    grid.show()
    qtbot.waitExposed(grid)
    x, y = _pill_point(grid)
    qtbot.waitUntil(lambda: _cell_pixel(grid, 0, x, y).name() == RED, timeout=5000)
    assert _cell_pixel(grid, 1, x, y).name() != RED  # no badge on row 1
    assert grid.grid_model.tooltip(0) == f"{paths[0]}\nLabeled cats by you"
    assert grid.grid_model.tooltip(1) == str(paths[1])

    grid.grid_model.set_badges(lambda row: Badge("dogs 91%", BLUE) if row == 1 else Badge("cats", BLUE, mine=True))
    qtbot.waitUntil(lambda: _cell_pixel(grid, 0, x, y).name() == BLUE, timeout=5000)
    # a prediction is an outlined pill on dark glass: the outline has the class colour, the inside is dark
    outline = _cell_pixel(grid, 1, 6 + 2 + 1, y)
    inside = _cell_pixel(grid, 1, x, y)
    assert outline.blue() > 150 and outline.red() < 100, outline.name()
    assert inside.lightness() < 60, inside.name()


def test_thumbnails_are_decoded_off_the_gui_thread_and_painted(qtbot, grid, tmp_path: Path, monkeypatch) -> None:
    threads: list[int] = []
    real = thumbnails.read_scaled
    monkeypatch.setattr(thumbnails, "read_scaled", lambda *a: (threads.append(threading.get_ident()), real(*a))[1])
    paths = _photos(tmp_path / "p", 3)
    grid.grid_model.set_photos([str(p) for p in paths])
    grid.show()
    qtbot.waitUntil(lambda: len(grid.thumbnails.cache) == 3, timeout=10_000)
    assert threads and threading.get_ident() not in threads
    # the photo's own green is painted in the cell's thumbnail square
    qtbot.waitUntil(lambda: _cell_pixel(grid, 0, 6 + grid.side // 2, 6 + grid.side // 2).green() == 200, timeout=5000)


def test_thumbnails_come_back_from_disk_and_an_edited_photo_is_decoded_again(qtbot, tmp_path, monkeypatch) -> None:
    decoded: list[str] = []
    real = thumbnails.read_scaled
    monkeypatch.setattr(thumbnails, "read_scaled", lambda path, side: (decoded.append(path), real(path, side))[1])
    photo = _photos(tmp_path / "p", 1)[0]
    disk = DiskThumbnailCache(tmp_path / "thumbs")

    def load_once() -> QImage:
        # A fresh memory cache: a new session. Each loader is dropped without a parent right after use
        # (before the tasks.py fix, the collector then deleted it in the middle of event delivery: a crash).
        loader = ThumbnailLoader(disk=disk)
        try:
            loader.pixmap(str(photo), 96)
            qtbot.waitUntil(lambda: loader.cache.get((str(photo), 96)) is not None, timeout=10_000)
            pixmap = loader.cache.get((str(photo), 96))
            assert pixmap is not None
            return pixmap.toImage()
        finally:
            loader.shutdown()

    first = load_once()
    assert decoded == [str(photo)]
    assert len(list((tmp_path / "thumbs").rglob("*.thumb"))) == 1
    second = load_once()  # a new session: from disk, not decoded
    assert decoded == [str(photo)]
    assert (second.width(), second.height()) == (first.width(), first.height()) == (96, 72)

    Image.new("RGB", (160, 120), (250, 10, 10)).save(photo)  # edited: new size/mtime
    os.utime(photo, ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns + 10**9))
    third = load_once()
    assert decoded == [str(photo), str(photo)]
    assert QColor(third.pixel(48, 36)).red() > 200


def test_the_disk_cache_lives_in_the_user_cache_folder_and_stays_bounded(qtbot, tmp_path: Path) -> None:
    assert default_folder() == Path(os.environ["XDG_CACHE_HOME"]) / "resnet-desktop" / "thumbnails"
    photos = _photos(tmp_path / "p", 12)
    image = QImage(96, 72, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 120, 200))
    probe = DiskThumbnailCache(tmp_path / "probe")
    probe.put(str(photos[0]), 96, image)
    one = probe.bytes
    cache = DiskThumbnailCache(tmp_path / "thumbs", max_bytes=one * 5)
    for i, photo in enumerate(photos):
        cache.put(str(photo), 96, image)
        file = cache.file_for(str(photo), 96)
        assert file is not None
        os.utime(file, (1_000_000 + i, 1_000_000 + i))  # written in order: photo 0 is the least recent
    assert cache.bytes <= one * 5
    kept = [p for p in photos if cache.get(str(p), 96) is not None]
    assert kept and kept == photos[len(photos) - len(kept) :], "the least recently used went first"


def test_a_cache_folder_that_cannot_be_written_costs_only_speed(qtbot, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    photo = _photos(tmp_path / "p", 1)[0]
    loader = ThumbnailLoader(disk=DiskThumbnailCache(blocked / "thumbs"))
    try:
        loader.pixmap(str(photo), 64)
        qtbot.waitUntil(lambda: loader.cache.get((str(photo), 64)) is not None, timeout=10_000)
        assert not loader.failed(str(photo), 64)
    finally:
        loader.shutdown()


def test_multi_select_with_the_mouse_and_the_keyboard(qtbot, grid, tmp_path: Path) -> None:
    paths = [str(p) for p in _photos(tmp_path / "p", 8)]
    grid.grid_model.set_photos(paths)
    grid.show()
    qtbot.waitExposed(grid)

    def click(row: int, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        centre: QPoint = grid.visualRect(grid.grid_model.index(row)).center()
        QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, modifier, centre)

    click(0)
    click(2, Qt.KeyboardModifier.ControlModifier)
    assert grid.selected_paths() == [paths[0], paths[2]]
    click(4, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_paths() == [paths[0], *paths[2:5]]
    click(6)
    QTest.keyClick(grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_paths() == paths[6:8]
    assert grid.current_path() == paths[7]
    QTest.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert grid.selected_paths() == paths


def test_dragging_photos_out_carries_their_files(qtbot, grid, tmp_path: Path) -> None:
    paths = [str(p) for p in _photos(tmp_path / "p", 3)]
    grid.grid_model.set_photos(paths)
    grid.select_rows([2, 0])
    mime = grid.grid_model.mimeData(grid.selectionModel().selectedIndexes())
    assert [u.toLocalFile() for u in mime.urls()] == [paths[0], paths[2]]


def test_typing_letters_goes_to_the_owner_when_the_grid_is_claimed(qtbot, grid, tmp_path: Path) -> None:
    grid.grid_model.set_photos([str(p) for p in _photos(tmp_path / "p", 3)])
    grid.show()
    typed: list[str] = []
    grid.typed.connect(typed.append)
    QTest.keyClicks(grid, "re")
    assert typed == []  # Qt's own type-to-find
    grid.claim_typing = True
    QTest.keyClicks(grid, "re")
    assert typed == ["r", "e"]


def test_a_hundred_thousand_rows_fill_and_scroll_to_the_end(qtbot, grid) -> None:
    """Fills fast enough for a test and paints every screen on the way down without Python aborting
    (PySide6 6.12 on CPython 3.11 loses a reference to None at each void call: see gui/refcounts.py)."""
    paths = [f"/nowhere/{i:06d}.jpg" for i in range(100_000)]
    grid.grid_model.set_photos(paths, lambda row: Badge(f"c{row % 3}", RED, mine=row % 2 == 0))
    grid.show()
    qtbot.waitExposed(grid)
    bar = grid.verticalScrollBar()
    assert bar.maximum() > 0
    step = bar.maximum() // 40
    for value in range(0, bar.maximum() + step, step):
        bar.setValue(min(value, bar.maximum()))
        grid.viewport().repaint()
    last = grid.indexAt(grid.viewport().rect().bottomLeft() + QPoint(8, -8))
    assert last.isValid() and last.row() > 99_000
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > 1 << 39
