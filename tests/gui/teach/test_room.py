"""The teach room as a person uses it: keys label the selection, the class list counts and refuses,
badges change after each refit without a click, the review queue goes from photo to photo.

The core's teach front door (issue 23) is not on main yet: these tests stand on ``fake_core`` (the
same use cases, a nearest-centroid head on digits), at the edge where the room calls the core.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from resnet_desktop.gui.common.inline_status import StatusKind
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.teach.badges import PALETTE
from resnet_desktop.gui.teach.room import NO_SELECTION, TeachRoom
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.fake_core import FakeTeachCore, make_digit_photos

WAIT_MS = 20_000


class Room:
    """The room in a window, the fake core behind it, and a person at the keyboard."""

    def __init__(self, qtbot, tmp_path: Path, dialogs: Dialogs) -> None:
        self.photos = make_digit_photos(tmp_path / "digits", classes=3, per_class=12)
        self.truth = {str(p): truth for p, (truth, _) in self.photos.items()}
        self.core = FakeTeachCore({str(p): f for p, (_, f) in self.photos.items()}, tmp_path)
        self.core.create_set("digits", ["zero", "one", "two"], base=None, scope=[])
        self.core.threads.clear()  # the set is made by the test, on this thread; the room must not
        self.thumbnails = ThumbnailLoader()
        self.window = QMainWindow()
        self.room = TeachRoom(lambda: self.core, self.thumbnails)
        self.window.setCentralWidget(self.room)
        self.window.resize(1366, 768)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.qtbot = qtbot
        self.person = Person(qtbot, self.window, dialogs)
        self.grid = self.room.grid
        self.room.open_set("digits")
        qtbot.waitUntil(lambda: self.grid.grid_model.rowCount() == 36, timeout=WAIT_MS)
        self.person.focus(self.grid)

    def rows_of(self, truth: str) -> list[int]:
        return [r for r, p in enumerate(self.grid.grid_model.paths()) if self.truth[p] == truth]

    def badge_text(self, row: int) -> str:
        badge = self.grid.grid_model.badge(row)
        return badge.text if badge is not None else ""

    def status(self) -> str:
        return self.room.status.text()

    def wait_idle(self) -> None:
        # ``active`` (not ``busy``): until every task's last callback has run on this thread
        self.qtbot.waitUntil(
            lambda: not self.room.controller.runner.active and not self.room.controller.learning, timeout=WAIT_MS
        )

    def label(self, rows: list[int], key: str) -> None:
        self.grid.select_rows(rows)
        self.person.focus(self.grid)
        self.person.press(key)
        self.wait_idle()


@pytest.fixture
def teach(qtbot, tmp_path: Path, dialogs: Dialogs) -> Iterator[Room]:
    room = Room(qtbot, tmp_path, dialogs)
    yield room
    assert room.room.shutdown()
    room.thumbnails.shutdown()
    assert threading.get_ident() not in room.core.threads, "the core was called on the GUI thread"


def test_keys_label_the_selection_and_the_class_list_counts(teach: Room) -> None:
    zeros = teach.rows_of("zero")[:3]
    teach.label(zeros, "1")
    assert teach.status() == "Labeled 3 photos as zero. Label photos in one more class and the model starts learning."
    assert [teach.badge_text(r) for r in zeros] == ["✓ zero"] * 3
    assert teach.room.classes.row_texts()[0] == "1  zero\n      3 labeled"
    badge = teach.grid.grid_model.badge(zeros[0])
    assert badge is not None and badge.mine and badge.colour == PALETTE[0]
    assert "refit" not in teach.core.calls  # one class: nothing to learn yet


def test_a_key_with_no_class_and_no_selection_are_refused_saying_why(teach: Room) -> None:
    teach.grid.select_rows([0])
    teach.person.press("5")
    assert teach.status() == "No class on key 5: this set has 3 classes (keys 1-3)."
    assert teach.room.status.kind is StatusKind.ERROR
    teach.grid.clearSelection()
    teach.person.press("2")
    assert teach.status() == NO_SELECTION
    teach.wait_idle()
    assert "label_photos" not in teach.core.calls


def test_predictions_appear_without_a_click_and_backspace_clears(teach: Room) -> None:
    for key, truth in (("1", "zero"), ("2", "one"), ("3", "two")):
        teach.label(teach.rows_of(truth)[:6], key)
    unlabeled = teach.rows_of("two")[8]
    teach.qtbot.waitUntil(lambda: teach.badge_text(unlabeled).startswith("two"), timeout=WAIT_MS)
    assert teach.badge_text(unlabeled).endswith("%")
    assert teach.room.last_latency_s is not None and teach.room.last_latency_s < 10
    texts = teach.room.classes.row_texts()
    assert texts[2].startswith("3  two\n      6 labeled · ")
    assert teach.room.classes.accuracy.text().startswith("Held-out accuracy: ")
    labeled_two = teach.rows_of("two")[0]
    teach.label([labeled_two], "Backspace")
    assert teach.status() == "Cleared the label of 1 photo."
    assert not teach.badge_text(labeled_two).startswith("✓")


def test_typing_letters_picks_a_class_by_name(teach: Room) -> None:
    rows = teach.rows_of("one")[:2]
    teach.grid.select_rows(rows)
    teach.person.focus(teach.grid)
    teach.person.press("O")
    assert teach.room.quick_pick.isVisible() and teach.room.quick_pick.text() == "o"
    teach.person.press("N")
    assert teach.room.quick_pick.choice == "one"
    teach.person.press("Return")
    teach.wait_idle()
    assert teach.status().startswith("Labeled 2 photos as one.")
    assert teach.core.calls.count("label_photos") == 1
    assert not teach.room.quick_pick.isVisible() and teach.grid.hasFocus()


def test_dropping_photos_on_a_class_labels_them(teach: Room) -> None:
    paths = [teach.grid.grid_model.path(r) for r in teach.rows_of("two")[:2]]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    widget = teach.room.classes.list
    target = QPointF(widget.visualItemRect(widget.item(2)).center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(target, *args), QDragMoveEvent(target, *args)):
        QApplication.sendEvent(widget.viewport(), event)
        assert event.isAccepted()
    drop = QDropEvent(target, *args)
    QApplication.sendEvent(widget.viewport(), drop)
    teach.wait_idle()
    assert teach.status().startswith("Labeled 2 photos as two.")


def test_classes_are_created_renamed_recoloured_and_deleted(teach: Room) -> None:
    panel = teach.room.classes
    teach.person.dialogs.text("three")
    teach.person.click(panel.new_button)
    teach.wait_idle()
    assert teach.status() == "Added three."
    assert panel.row_texts()[3].startswith("4  three")
    panel.list.setCurrentRow(3)
    teach.person.dialogs.text("trois")
    teach.person.click(panel.rename_button)
    teach.wait_idle()
    assert panel.row_texts()[3].startswith("4  trois") and teach.status() == "Renamed three to trois."
    teach.person.dialogs.colour("#123456")
    teach.person.click(panel.colour_button)
    teach.wait_idle()
    assert teach.room.book.colour("trois") == "#123456"
    teach.label(teach.rows_of("zero")[:2], "4")
    panel.list.setCurrentRow(3)
    teach.person.dialogs.answer(QMessageBox.StandardButton.Yes)
    teach.person.click(panel.delete_button)
    teach.wait_idle()
    assert "Delete the class 'trois' and its 2 labels?" in teach.person.dialogs.texts[-1]
    assert teach.status() == "Deleted trois and its labels. Label photos in 2 classes and the model starts learning."
    assert len(panel.row_texts()) == 3


def test_the_review_queue_goes_photo_by_photo_and_the_accuracy_is_shown(teach: Room) -> None:
    for key, truth in (("1", "zero"), ("2", "one"), ("3", "two")):
        teach.label(teach.rows_of(truth)[:4], key)
    teach.person.press("Ctrl+R")
    review = teach.room.review
    teach.qtbot.waitUntil(lambda: review.item is not None, timeout=WAIT_MS)
    first = review.item
    assert first is not None
    left = teach.room.queue.left
    assert review.count_text() == f"Review queue: {left} left"
    assert review.caption.text().startswith(f"The model is unsure: {first.predicted} (")
    assert review.keys.text() == f"Enter accepts {first.predicted}; 1-3 correct it. The next one comes up."
    assert teach.grid.selected_paths() == [str(first.path)], "the grid shows the queue with the current photo"
    teach.qtbot.waitUntil(lambda: review.cam.original is not None, timeout=WAIT_MS)
    teach.qtbot.waitUntil(lambda: review.photo.original is not None, timeout=WAIT_MS)
    assert review.cam_caption.text().startswith(f"Grad-CAM of {first.predicted}")

    teach.person.press("Return")  # accept the prediction
    teach.wait_idle()
    assert teach.core.sets["digits"].labels[str(first.path)] == first.predicted
    second = review.item
    assert second is not None and second.path != first.path
    correct = {"zero": "1", "one": "2", "two": "3"}[teach.truth[str(second.path)]]
    teach.person.press(correct)  # correct it with a digit
    teach.wait_idle()
    assert teach.core.sets["digits"].labels[str(second.path)] == teach.truth[str(second.path)]
    assert review.item is None or review.item.path not in (first.path, second.path)
    assert review.trail.text().startswith("Held-out accuracy: ")
    teach.person.press("Ctrl+L")
    assert teach.grid.grid_model.rowCount() == 36


def test_closing_while_a_refit_runs_ends_the_worker_promptly(qtbot, tmp_path: Path, dialogs: Dialogs) -> None:
    import time

    room = Room(qtbot, tmp_path, dialogs)
    room.core.refit_pause_s = 30.0  # the out-of-fold part would take half a minute
    for key, truth in (("1", "zero"), ("2", "one")):
        room.grid.select_rows(room.rows_of(truth)[:5])
        room.person.press(key)
    qtbot.waitUntil(lambda: room.room.controller.learning and "refit" in room.core.calls, timeout=WAIT_MS)
    started = time.monotonic()
    assert room.room.shutdown()
    assert time.monotonic() - started < 2.0
    room.thumbnails.shutdown()
    assert sorted(room.core.sets["digits"].labels.values()).count("one") == 5, "every label was saved"
