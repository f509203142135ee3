"""The teach room as a person uses it, on the real core (``core.teach.api``) and digits drawn as
photos: keys label the selection, the class list counts and refuses, the head learns from the stored
embeddings and the badges change after each refit without a click, the review queue goes from photo
to photo (least sure first), Enter accepts and a digit corrects.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from resnet_desktop.core.teach import api
from resnet_desktop.gui.common.inline_status import StatusKind
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.teach.badges import PALETTE
from resnet_desktop.gui.teach.room import NO_SELECTION, TeachRoom
from tests.core.teach.conftest import Teaching
from tests.gui.harness import Dialogs, Person
from tests.gui.teach.conftest import CLASSES, make_set, truth_of

WAIT_MS = 20_000


class Room:
    """The room in a window, the real core behind it, and a person at the keyboard."""

    def __init__(self, qtbot, t: Teaching, dialogs: Dialogs) -> None:
        self.t = t
        make_set(t)
        self.truth = truth_of(t)
        self.thumbnails = ThumbnailLoader()
        self.window = QMainWindow()
        self.room = TeachRoom(self.thumbnails)
        self.window.setCentralWidget(self.room)
        self.window.resize(1366, 768)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.qtbot = qtbot
        self.person = Person(qtbot, self.window, dialogs)
        self.grid = self.room.grid
        self.room.open_set("digits")
        qtbot.waitUntil(lambda: self.grid.grid_model.rowCount() == 48, timeout=WAIT_MS)
        self.person.focus(self.grid)

    def stored_labels(self) -> dict[str, str]:
        """The labels in the person's store, read as the CLI reads them."""
        return {str(label.path): label.class_name for label in api.labels_of(self.t.store, "digits")}

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
def teach(qtbot, teaching: Teaching, dialogs: Dialogs) -> Iterator[Room]:
    room = Room(qtbot, teaching, dialogs)
    yield room
    assert room.room.shutdown()
    room.thumbnails.shutdown()


def test_opening_a_set_never_taught_embeds_its_scope_and_says_what_is_next(teach: Room) -> None:
    assert teach.status() == "digits: 48 photos, 0 labeled. Label photos in 2 classes and the model starts learning."
    info = api.set_info(teach.t.store, "digits")
    assert info.taught, "opening bound the set to its base model's backbone"
    assert teach.room.classes.row_texts() == [
        "1  zero\n      0 labeled",
        "2  one\n      0 labeled",
        "3  two\n      0 labeled",
    ]


def test_keys_label_the_selection_and_the_class_list_counts(teach: Room) -> None:
    zeros = teach.rows_of("zero")[:3]
    teach.label(zeros, "1")
    assert teach.status() == "Labeled 3 photos as zero. Label photos in one more class and the model starts learning."
    assert [teach.badge_text(r) for r in zeros] == ["✓ zero"] * 3
    assert teach.room.classes.row_texts()[0] == "1  zero\n      3 labeled"
    badge = teach.grid.grid_model.badge(zeros[0])
    assert badge is not None and badge.mine and badge.colour == PALETTE[0]
    assert teach.stored_labels() == {teach.grid.grid_model.path(r): "zero" for r in zeros}
    assert teach.room.scores is None  # one class: nothing to learn yet
    teach.label(zeros[:1], "1")
    assert teach.status().startswith("Labeled 0 photos as zero. 1 photo had that label already.")


def test_a_key_with_no_class_and_no_selection_are_refused_saying_why(teach: Room) -> None:
    teach.grid.select_rows([0])
    teach.person.press("5")
    assert teach.status() == "No class on key 5: this set has 3 classes (keys 1-3)."
    assert teach.room.status.kind is StatusKind.ERROR
    teach.grid.clearSelection()
    teach.person.press("2")
    assert teach.status() == NO_SELECTION
    teach.wait_idle()
    assert teach.stored_labels() == {}


def test_the_head_learns_the_digits_and_predictions_appear_without_a_click(teach: Room) -> None:
    for key, truth in (("1", "zero"), ("2", "one"), ("3", "two")):
        teach.label(teach.rows_of(truth)[:4], key)
    teach.qtbot.waitUntil(lambda: teach.room.scores is not None and teach.room.report is not None, timeout=WAIT_MS)
    teach.wait_idle()
    unlabeled = [r for r in range(48) if not teach.badge_text(r).startswith("✓")]
    assert len(unlabeled) == 36
    right = sum(
        teach.badge_text(r).split(" ")[0].rstrip("?") == teach.truth[teach.grid.grid_model.path(r)] for r in unlabeled
    )
    assert right >= 0.8 * len(unlabeled), f"{right} of {len(unlabeled)} unlabeled digits predicted right"
    assert all(teach.badge_text(r).endswith("%") for r in unlabeled)
    assert teach.room.last_latency_s is not None
    texts = teach.room.classes.row_texts()
    counts = teach.room.book.predicted_counts()
    assert texts[2] == f"3  two\n      4 labeled · {counts['two']} predicted"
    assert sum(counts.values()) == 36  # the unlabeled photos
    assert teach.room.classes.accuracy.text().startswith("Held-out accuracy: ")
    labeled_two = teach.rows_of("two")[0]
    teach.label([labeled_two], "Backspace")
    assert teach.status() == "Cleared the label of 1 photo."
    assert not teach.badge_text(labeled_two).startswith("✓")
    teach.qtbot.waitUntil(lambda: teach.badge_text(labeled_two).endswith("%"), timeout=WAIT_MS)
    assert teach.grid.grid_model.path(labeled_two) not in teach.stored_labels()


def test_one_label_in_each_of_two_classes_is_enough_to_learn(teach: Room) -> None:
    teach.label(teach.rows_of("zero")[:1], "1")
    assert teach.room.scores is None
    teach.label(teach.rows_of("one")[:1], "2")
    teach.qtbot.waitUntil(lambda: teach.room.scores is not None, timeout=WAIT_MS)
    teach.wait_idle()
    assert set(teach.room.scores.classes) == {"zero", "one"}  # type: ignore[union-attr]
    assert (
        teach.room.classes.accuracy.text()
        == "Held-out accuracy: not measured yet (learned from 2 photos; none held out)."
    )


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
    assert sorted(teach.stored_labels().values()) == ["one", "one"]
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
    assert teach.stored_labels() == dict.fromkeys(paths, "two")


def test_classes_are_created_renamed_recoloured_and_deleted(teach: Room) -> None:
    panel = teach.room.classes
    teach.person.dialogs.text("three")
    teach.person.click(panel.new_button)
    teach.wait_idle()
    assert teach.status() == "Added three."
    assert panel.row_texts()[3].startswith("4  three")
    teach.person.dialogs.text("one")
    teach.person.click(panel.new_button)
    teach.wait_idle()
    assert teach.status() == "The label set already has a class called 'one'"
    assert teach.room.status.kind is StatusKind.ERROR
    panel.list.setCurrentRow(3)
    teach.person.dialogs.text("trois")
    teach.person.click(panel.rename_button)
    teach.wait_idle()
    assert panel.row_texts()[3].startswith("4  trois")
    assert teach.status() == "Renamed three to trois. Label photos in 2 classes and the model starts learning."
    teach.person.dialogs.colour("#123456")
    teach.person.click(panel.colour_button)
    teach.wait_idle()
    assert teach.room.book.colour("trois") == "#123456"
    assert [c.colour for c in api.set_info(teach.t.store, "digits").classes][3] == "#123456"
    teach.label(teach.rows_of("zero")[:2], "4")
    panel.list.setCurrentRow(3)
    teach.person.dialogs.answer(QMessageBox.StandardButton.Yes)
    teach.person.click(panel.delete_button)
    teach.wait_idle()
    assert "Delete the class 'trois' and its 2 labels?" in teach.person.dialogs.texts[-1]
    assert teach.status() == "Deleted trois and its labels. Label photos in 2 classes and the model starts learning."
    assert len(panel.row_texts()) == 3
    assert teach.stored_labels() == {}


def test_renaming_a_class_the_head_knows_relearns_under_the_new_name(teach: Room) -> None:
    for key, truth in (("1", "zero"), ("2", "one")):
        teach.label(teach.rows_of(truth)[:3], key)
    teach.qtbot.waitUntil(lambda: teach.room.scores is not None, timeout=WAIT_MS)
    teach.room.classes.list.setCurrentRow(0)
    teach.person.dialogs.text("nought")
    teach.person.click(teach.room.classes.rename_button)
    teach.qtbot.waitUntil(lambda: "nought" in (teach.room.scores.classes if teach.room.scores else ()), timeout=WAIT_MS)
    teach.wait_idle()
    zero = teach.rows_of("zero")[0]
    assert teach.badge_text(zero) == "✓ nought"
    assert teach.status() == "Renamed zero to nought."


def test_review_before_anything_is_learned_says_what_to_do(teach: Room) -> None:
    teach.person.press("Ctrl+R")
    teach.wait_idle()
    assert teach.status() == "Nothing to review yet: label photos in at least 2 classes first."
    assert teach.room.review.count_text() == "Review queue: nothing left"


def test_the_review_queue_goes_least_sure_first_enter_accepts_a_digit_corrects(teach: Room) -> None:
    for key, truth in (("1", "zero"), ("2", "one"), ("3", "two")):
        teach.label(teach.rows_of(truth)[:4], key)
    teach.qtbot.waitUntil(lambda: teach.room.report is not None, timeout=WAIT_MS)
    teach.wait_idle()
    scores = teach.room.scores
    assert scores is not None
    teach.person.press("Ctrl+R")
    review = teach.room.review
    teach.qtbot.waitUntil(lambda: review.item is not None, timeout=WAIT_MS)
    first = review.item
    assert first is not None
    unlabeled = [i for i in range(len(scores)) if scores.labeled[i] < 0]
    least_sure = min(unlabeled, key=lambda i: float(scores.margin[i]))
    assert str(first.path) == scores.paths[least_sure], "the least sure photo comes first"
    assert first.reason == "uncertain"
    left = teach.room.queue.left
    assert review.count_text() == f"Review queue: {left} left"
    reasons = [item.reason for item in teach.room.queue.items]
    assert reasons == ["uncertain"] * 36 + ["disagrees"] * (left - 36), "every unlabeled photo, then possible mistakes"
    assert left - 36 == teach.room.report.disagreements  # type: ignore[union-attr]
    assert review.caption.text() == f"The model is unsure: {first.predicted} ({first.confidence:.0%})."
    assert review.keys.text() == f"Enter accepts {first.predicted}; 1-3 correct it. The next one comes up."
    assert teach.grid.selected_paths() == [str(first.path)], "the grid shows the queue with the current photo"
    assert teach.grid.grid_model.rowCount() == left
    teach.qtbot.waitUntil(lambda: review.photo.original is not None, timeout=WAIT_MS)
    # the Grad-CAM of the predicted class by the current head: no version saved, none needed
    teach.qtbot.waitUntil(lambda: review.cam.original is not None, timeout=WAIT_MS)
    assert review.cam_caption.kind is StatusKind.INFO
    assert review.cam_caption.text() == (
        f"Grad-CAM of {first.predicted} by the current model: warm = what raised its score"
    )
    assert not review.cam.original.isNull() and review.cam.pixmap() is not None  # type: ignore[union-attr]
    assert api.list_versions(teach.t.store, "digits") == []

    teach.person.press("Return")  # accept the prediction
    assert review.count_text() == f"Review queue: {left - 1} left"  # at once, before the write and the refit
    second = review.item
    assert second is not None and second.path != first.path
    teach.wait_idle()
    assert teach.stored_labels()[str(first.path)] == first.predicted
    assert teach.status() == f"Labeled 1 photo as {first.predicted}."
    assert review.item == second, "the photo on screen stays while the queue is fetched again"
    teach.qtbot.waitUntil(lambda: review.cam.original is not None, timeout=WAIT_MS)  # by the head after the answer
    assert review.cam_caption.text().startswith(f"Grad-CAM of {second.predicted} by the current model")
    truth = teach.truth[str(second.path)]
    teach.person.press(str(CLASSES.index(truth) + 1))  # correct it with a digit
    teach.wait_idle()
    assert teach.stored_labels()[str(second.path)] == truth
    assert review.item is None or review.item.path not in (first.path, second.path)
    assert review.trail.text().startswith("Held-out accuracy: ")
    teach.person.press("Ctrl+L")
    assert teach.grid.grid_model.rowCount() == 48
    assert teach.badge_text(teach.grid.grid_model.row_of(str(second.path)) or 0) == f"✓ {truth}"


def test_closing_right_after_labeling_keeps_every_label(qtbot, teaching: Teaching, dialogs: Dialogs) -> None:
    import time

    room = Room(qtbot, teaching, dialogs)
    for key, truth in (("1", "zero"), ("2", "one")):
        room.grid.select_rows(room.rows_of(truth)[:5])
        room.person.press(key)
    started = time.monotonic()
    assert room.room.shutdown()
    assert time.monotonic() - started < 2.0
    room.thumbnails.shutdown()
    assert sorted(room.stored_labels().values()) == ["one"] * 5 + ["zero"] * 5, "every label was saved"
