"""The README's screenshots of the Library folders and the Teach window (``tools/screenshots.py`` runs them).

Library: two folders are indexed beforehand (``library scan``'s path: one with seeded random resnet18,
one with resnet34, photos with EXIF dates), the whole library is shown in the table (Model and Taken
columns), then a third folder of 200 photos is added through the Library list and the window is
grabbed while the background ``library watch`` process is indexing it (status bar and list).

Teach: scikit-learn's digits drawn as photos (``tests/digits.py``) in one folder, shuffled, and a
seeded random ResNet that embeds them fast: random weights still separate digits, so the predictions
on the grid's badges mean something. The set is made, labeled and taught through the window.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from screenshots import REPO_ROOT, WINDOW_SIZE, new_window, settle, wait_until

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

#: Photos of the folder being indexed while the window is grabbed (a batch is 8: many batches to go).
INDEXING_PHOTOS = 200
#: The teach set's classes (digits), photos per class, and labels given per class.
TEACH_CLASSES = ("zero", "one", "two", "three")
PER_CLASS = 15
LABELED_PER_CLASS = 5


def dated_photos(folder: Path, count: int, *, start: int, year: int) -> None:
    """Generated photos (``tests/core/library/photos.py``) with an EXIF date taken, a few days apart."""
    from PIL import Image

    from tests.core.library.photos import structured_photo

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        exif = Image.Exif()
        day = 1 + (i * 3) % 28
        exif.get_ifd(0x8769)[0x9003] = f"{year}:{1 + i % 12:02d}:{day:02d} {9 + i % 10:02d}:{i % 60:02d}:00"
        structured_photo(start + i, (320, 240)).save(folder / f"IMG_{start + i:04d}.jpg", exif=exif, quality=88)


def library_screens(window_ref: object, workdir: Path) -> Iterator[tuple[object, str]]:
    """The main window with the Library list (numbers per folder) while a folder is being indexed.

    The library has a data folder of its own: the windows of the other screens must not show its list
    nor start indexing it."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(workdir / "library-data")  # the background process inherits it
    try:
        yield from _library_screens(window_ref, workdir)
    finally:
        if before is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = before


def _library_screens(window_ref: object, workdir: Path) -> Iterator[tuple[object, str]]:
    from PySide6.QtCore import Qt

    from resnet_desktop.core.library.api import FolderModels, add_folder, scan_folders
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.work import drive
    from resnet_desktop.gui.classify.results_model import (
        COL_CONFIDENCE,
        COL_FOLDER,
        COL_LABEL,
        COL_MODEL,
        COL_NAME,
        COL_TAKEN,
    )
    from tests.core.library.photos import make_photos

    library = workdir / "Library"
    family, scans, holiday = library / "Family", library / "Scans", library / "Holiday 2024"
    dated_photos(family, 18, start=0, year=2023)
    (family / "IMG_0100.CR2").write_bytes(b"raw")  # counted as skipped, by type
    dated_photos(scans, 6, start=40, year=2019)
    make_photos(holiday, INDEXING_PHOTOS, start=100, size=(320, 240))
    add_folder(family, ModelRef.parse("resnet18", "random"))
    add_folder(scans, ModelRef.parse("resnet34", "random"))
    drive(scan_folders(FolderModels("cpu", threads=2)))

    window = new_window(workdir, "library", window_ref)
    window.start()
    wait_until(lambda: window.model_info is not None)
    dock = window.library_folders
    wait_until(lambda: dock.dock.isVisible() and len(dock.panel.statuses) == 2)
    dock.browse(None)  # "Whole Library" in the table: newest photo first, Model and Taken columns
    wait_until(lambda: window.results.rowCount() == 24)
    window.results_panel.select_row(0)
    # what a person drags on a 1366-wide screen to see the Library's numbers and the Taken column
    window.resizeDocks([dock.dock], [310], Qt.Orientation.Horizontal)
    header = window.results_panel.table.horizontalHeader()
    widths = {COL_NAME: 100, COL_LABEL: 165, COL_CONFIDENCE: 100, COL_MODEL: 150, COL_FOLDER: 70, COL_TAKEN: 130}
    for column, width in widths.items():
        header.resizeSection(column, width)
    window.splitter.setSizes([820, 236])
    dock.add(holiday)  # the Library list's Add…, the window's model
    wait_until(lambda: holiday in dock.panel.statuses, timeout_s=60)
    # mid-indexing: some batches committed, most to go (the child process imports torch first)
    wait_until(lambda: 16 <= dock.status_progress.value() < INDEXING_PHOTOS - 40, timeout_s=600)
    wait_until(lambda: dock.panel.statuses[holiday].indexed >= 8, timeout_s=120)
    dock.panel.select(holiday)
    settle(0.5)
    yield window, "library-folders.png"
    window.close()


def digit_photos(folder: Path) -> dict[Path, str]:
    """``PER_CLASS`` digits of each class as 96x96 photos in one folder, in a shuffled (seeded) order."""
    import numpy as np

    from tests.digits import NAMES, digits, draw

    images, labels = digits()
    chosen = [
        (int(i), NAMES[d])
        for d, name in enumerate(NAMES)
        if name in TEACH_CLASSES
        for i in np.flatnonzero(labels == d)[:PER_CLASS]
    ]
    random.Random(7).shuffle(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    for number, (i, name) in enumerate(chosen):
        path = folder / f"scan_{number + 1:03d}.png"
        draw(images[i], 96, seed=i).save(path)  # type: ignore[attr-defined]
        written[path] = name
    return written


def teach_screens(workdir: Path) -> Iterator[tuple[object, str]]:
    """Tools > Teach Your Own Classes…: the grid with labels and predicted badges, then the review queue."""
    from resnet_desktop.core.models.ref import ModelRef
    from tests.digits import digits_model

    truth = digit_photos(workdir / "Scanned digits")
    base = digits_model(workdir / "digits-base.safetensors", size=128)  # layer4 4x4: a Grad-CAM with a shape
    window = new_window(workdir, "teach", ModelRef(file=base))
    window.start()
    wait_until(lambda: window.model_info is not None)
    teach = window.open_teach()  # Tools > Teach Your Own Classes… (Ctrl+T)
    teach.resize(*WINDOW_SIZE)
    room = teach.room

    def idle() -> bool:
        return not teach.controller.runner.active and not teach.controller.learning

    teach.create_set("Digits", list(TEACH_CLASSES), [workdir / "Scanned digits"])
    wait_until(lambda: room.info is not None and room.grid.grid_model.rowCount() == len(truth) and idle())
    # every other photo of each class, from the top of the grid, gets a label; the model predicts the rest
    shown = [Path(p) for p in room.grid.grid_model.paths()]
    for name in TEACH_CLASSES:
        room.label_paths([p for p in shown if truth[p] == name][: 2 * LABELED_PER_CLASS : 2], name)
        wait_until(idle)
    wait_until(lambda: room.scores is not None and room.report is not None and idle())
    unlabeled = [r for r, p in enumerate(shown) if str(p) not in room.labels]
    room.grid.select_rows(unlabeled[:2])
    settle(1.0)  # thumbnails
    yield teach, "teach-grid.png"

    teach.save_version()  # the review shows a Grad-CAM once a version is saved
    wait_until(lambda: room.info is not None and room.info.active_version == 1 and idle())
    room.set_reviewing(True)  # Review Queue (Ctrl+R)
    wait_until(lambda: room.review.item is not None and room.review.cam.original is not None and idle())
    settle(1.0)
    yield teach, "teach-review.png"
    teach.close()
    window.close()
    shutil.rmtree(workdir / "Scanned digits", ignore_errors=True)
