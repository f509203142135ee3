"""The teach room: the grid of the set's photos, the class list, and the review queue.

A person selects photos and presses 1-9/0 (or types a class's first letters, or drags them onto a
class): the labels are written on the room's worker and shown at once as filled badges; a refit
follows in the background and the predictions' badges change by themselves. In review mode the grid
shows the queue (least sure first, then possible mistakes) and the review panel the current photo
with the Grad-CAM of its predicted class by the current head (no saved version needed): Enter
accepts the prediction, a digit corrects it, the next one comes up.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach.api import FitReport, LabelChange, LabelSetInfo, ReviewItem, Scores
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.common.grid import PhotoGrid
from resnet_desktop.gui.common.inline_status import InlineStatus, StatusKind
from resnet_desktop.gui.common.text import plural
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.teach.badges import BadgeBook
from resnet_desktop.gui.teach.class_list import HOTKEYS, ClassListPanel, hotkey
from resnet_desktop.gui.teach.controller import ScoresReady, TeachController
from resnet_desktop.gui.teach.desk import TeachDesk
from resnet_desktop.gui.teach.queue import ReviewQueue
from resnet_desktop.gui.teach.quick_pick import QuickPick
from resnet_desktop.gui.teach.review import ReviewPanel, key_range

REVIEW_BATCH = 50
NO_SELECTION = "Select photos first: click one, Ctrl+click or Shift+click for more, Ctrl+A for all."


def labeled_text(change: LabelChange, paths: int, class_name: str | None) -> str:
    if class_name is None:
        text = f"Cleared the label of {plural(change.cleared, 'photo')}."
    else:
        text = f"Labeled {plural(change.labeled, 'photo')} as {class_name}."
        if change.unchanged:
            text += f" {plural(change.unchanged, 'photo')} had that label already."
    if change.skipped:
        first, why = change.skipped[0]
        text += f" {plural(len(change.skipped), 'photo')} could not be labeled ({first.name}: {why})."
    return text


class TeachRoom(QWidget):
    """One label set at a time (``open_set``); everything slow runs on ``controller``'s worker."""

    #: The badges changed after a refit (seconds from the change that caused it to new badges).
    badgesUpdated = Signal(float)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = InlineStatus("Choose or create a label set.")
        self.controller = TeachController(self.status, self)
        self.thumbnails = thumbnails
        self.info: LabelSetInfo | None = None
        self.labels: dict[str, str] = {}
        self.scores: Scores | None = None
        self.report: FitReport | None = None
        self.book = BadgeBook(())
        self.shown = self.book  # the book of what the grid shows (all photos, or the review queue)
        self.queue = ReviewQueue()
        self.reviewing = False
        self.last_latency_s: float | None = None
        #: The model a set without one of its own is embedded with (the teach window's: the main window's).
        self.base_model: Callable[[], ModelRef | None] = lambda: None

        self.grid = PhotoGrid(thumbnails)
        self.grid.claim_typing = True
        self.grid.typed.connect(self._start_quick_pick)
        self.classes = ClassListPanel()
        self.quick_pick = QuickPick()
        self.quick_pick.picked.connect(lambda name: self.label_selection(name))
        self.quick_pick.closed.connect(lambda: self.grid.setFocus(Qt.FocusReason.OtherFocusReason))
        self.review = ReviewPanel(thumbnails)
        self.review.hide()
        self.all_button = QPushButton("All Photos")
        self.review_button = QPushButton("Review Queue")
        for button in (self.all_button, self.review_button):
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.all_button.setChecked(True)
        self.all_button.clicked.connect(lambda: self.set_reviewing(False))
        self.review_button.clicked.connect(lambda: self.set_reviewing(True))
        self._build_layout()
        self._build_actions()
        self._connect_classes()

    # -- construction --------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        modes = QHBoxLayout()
        modes.addWidget(self.all_button)
        modes.addWidget(self.review_button)
        modes.addStretch(1)
        self.side = side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.review)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.quick_pick)
        right_layout.addWidget(self.classes, 1)
        side.addWidget(right)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 4)  # nothing flush against the window edge
        layout.addLayout(modes)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)

    def _room_action(self, text: str, keys: Sequence[str], slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _key_slot(self, key: str) -> Callable[[], None]:
        return lambda: self.label_with_key(key)

    def _build_actions(self) -> None:
        self.key_actions = [self._room_action(f"Label as Class {key}", [key], self._key_slot(key)) for key in HOTKEYS]
        self.clear_action = self._room_action("Clear Label", ["Backspace"], lambda: self.label_selection(None))
        self.accept_action = self._room_action("Accept Prediction", ["Return", "Enter"], self.accept_prediction)
        self.review_action = self._room_action("Review Queue", ["Ctrl+R"], lambda: self.set_reviewing(True))
        self.all_action = self._room_action("All Photos", ["Ctrl+L"], lambda: self.set_reviewing(False))

    def _connect_classes(self) -> None:
        c = self.classes
        c.labelRequested.connect(lambda paths, name: self.label_paths([Path(p) for p in paths], name))
        c.addRequested.connect(
            lambda name: self._change_classes(lambda d, s: api.add_class(d.store, s, name), f"Added {name}.")
        )
        c.renameRequested.connect(self._rename_class)
        c.recolourRequested.connect(
            lambda name, colour: self._change_classes(lambda d, s: api.recolour_class(d.store, s, name, colour), "")
        )
        c.deleteRequested.connect(self._delete_class)

    # -- opening a set -------------------------------------------------------------------------------

    def open_set(self, name: str, opened: str | None = None) -> None:
        """Show ``name``'s photos, classes and labels, then learn from its labels (a set never taught,
        made by ``labels import``, has the photos of its scope embedded first). ``opened``: what the
        status line says once it is open (else how many photos and labels it has)."""
        self.status.show_busy(f"Opening {name}")
        fallback = self.base_model()

        def read(d: TeachDesk, cancel: threading.Event) -> Work[Step, tuple[LabelSetInfo, list[str], dict[str, str]]]:
            info = api.set_info(d.store, name)
            session = d.session(name)
            if not info.taught:  # its own base model (``teach --model``), else the window's
                yield from api.prepare(session, None if info.base_model else fallback, cancel=cancel)
                info = api.set_info(d.store, name)
            return info, [str(p) for p in api.scope_photos(session)], d.labels(name)

        self.controller.stream(
            read, name="open set", on_event=self.show_step, on_done=lambda found: self._show_set(found, opened)
        )

    def show_step(self, step: Step) -> None:
        """A long step's progress in the status line (embedding a folder: 120 / 5,000)."""
        total = f" / {step.total}" if step.total else ""
        self.status.show_busy(f"{step.message}: {step.done}{total}" if step.total else step.message)

    def _show_set(self, found: tuple[LabelSetInfo, list[str], dict[str, str]], opened: str | None = None) -> None:
        info, photos, labels = found
        self.info, self.labels, self.scores, self.report = info, dict(labels), None, None
        self.queue = ReviewQueue()
        self.book = BadgeBook(photos)
        self.book.set_classes(info.classes)
        self.book.set_labels(labels)
        self._show_photos()
        self.classes.show_classes(info.classes)
        self.classes.show_accuracy(None)
        self.status.show_info(opened or f"{info.name}: {plural(len(photos), 'photo')}, {len(labels)} labeled.")
        self.learn()
        # After learn (which may fit and pay it itself): the first fit's one-time import, off the person's path.
        self.controller.call(lambda _desk: api.warm_up_learning(), name="warm up learning")

    def _show_photos(self) -> None:
        if self.reviewing:
            book = BadgeBook(self.queue.paths())
            book.set_classes(self.info.classes if self.info else ())
            book.set_labels(self.labels)
            book.set_scores(self.scores)
            self.grid.grid_model.set_photos(book.paths, book.badge)
            self.shown = book
        else:
            self.grid.grid_model.set_photos(self.book.paths, self.book.badge)
            self.shown = self.book

    # -- labeling ------------------------------------------------------------------------------------

    def label_with_key(self, key: str) -> None:
        info = self.classes.class_on_key(key)
        if info is None:
            count = len(self.classes.classes)
            if count:
                bound = f"this set has {plural(count, 'class', 'classes')} (keys {key_range(count)})"
            else:
                bound = "this set has no classes yet: add one with New Class…"
            self.status.show_error(f"No class on key {key}: {bound}.")
            return
        self.label_selection(info.name)

    def selection(self) -> list[Path]:
        if self.reviewing:
            current = self.queue.current
            return [current.path] if current is not None else []
        return [Path(p) for p in self.grid.selected_paths()]

    def label_selection(self, class_name: str | None) -> None:
        paths = self.selection()
        if not paths:
            self.status.show_error(NO_SELECTION if not self.reviewing else "The review queue is empty.")
            return
        self.label_paths(paths, class_name)

    def label_paths(self, paths: Sequence[Path], class_name: str | None) -> None:
        """Write the labels (worker), show them at once, then refit."""
        if self.info is None:
            self.status.show_error("Choose or create a label set first.")
            return
        asked_at = time.monotonic()
        set_name = self.info.name
        texts = [str(p) for p in paths]
        for text in texts:
            if class_name is None:
                self.labels.pop(text, None)
            else:
                self.labels[text] = class_name
        for book in {id(self.book): self.book, id(self.shown): self.shown}.values():
            book.label(texts, class_name)
        self.grid.grid_model.set_badges(self.shown.badge)
        if self.reviewing:
            for path in paths:
                self.queue.answered(path)
            self._show_photos()
            self._show_review()
        self.controller.labels_changing()

        def write(d: TeachDesk) -> tuple[LabelChange, LabelSetInfo]:
            change = api.label_photos(d.store, set_name, list(paths), class_name, index=d.index)
            return change, api.set_info(d.store, set_name)

        def done(result: tuple[LabelChange, LabelSetInfo]) -> None:
            change, info = result
            self.status.show_info(labeled_text(change, len(paths), class_name))
            self._set_info(info)
            self.learn(asked_at)

        self.controller.call(write, name="label", on_done=done, write=True)

    def accept_prediction(self) -> None:
        """Enter: label with what the model predicts (the review's current photo, or the selection)."""
        if self.reviewing:
            current = self.queue.current
            if current is None:
                self.status.show_error("The review queue is empty.")
                return
            self.label_paths([current.path], current.predicted)
            return
        paths = self.selection()
        if not paths:
            self.status.show_error(NO_SELECTION)
            return
        rows = [self.shown.row_of(str(p)) for p in paths]
        predictions = [self.shown.prediction(r) if r is not None else None for r in rows]
        if any(p is None for p in predictions):
            self.status.show_error("Nothing is predicted for these photos yet: label some in 2 classes first.")
            return
        for path, found in zip(paths, predictions, strict=True):
            assert found is not None
            self.label_paths([path], found[0])

    def _start_quick_pick(self, text: str) -> None:
        if not text.strip() or not text.isprintable() or self.info is None:
            return
        self.quick_pick.start(self.info.class_names, text)

    # -- classes -------------------------------------------------------------------------------------

    def _set_info(self, info: LabelSetInfo) -> None:
        self.info = info
        self.book.set_classes(info.classes)
        if self.shown is not self.book:
            self.shown.set_classes(info.classes)
        self.classes.show_classes(info.classes, self.book.predicted_counts() if self.scores is not None else None)
        self.grid.grid_model.set_badges(self.shown.badge)

    def _change_classes(
        self, change: Callable[[TeachDesk, str], object], done_text: str, *, relearn: bool = False
    ) -> None:
        """``relearn``: the classes the head knows changed (renamed, deleted): learn again from cold."""
        if self.info is None:
            self.status.show_error("Choose or create a label set first.")
            return
        set_name = self.info.name

        def work(d: TeachDesk) -> LabelSetInfo:
            change(d, set_name)
            if relearn:
                d.forget(set_name)
            return api.set_info(d.store, set_name)

        def done(info: LabelSetInfo) -> None:
            self._set_info(info)
            if done_text:
                self.status.show_info(done_text)
            if relearn:
                self.learn()

        self.controller.call(work, name="classes", on_done=done, write=True)

    def _show_labels(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.book.set_labels(labels)
        if self.shown is not self.book:
            self.shown.set_labels(labels)

    def _delete_class(self, name: str) -> None:
        self._show_labels({p: c for p, c in self.labels.items() if c != name})
        self._change_classes(
            lambda d, s: api.delete_class(d.store, s, name), f"Deleted {name} and its labels.", relearn=True
        )

    def _rename_class(self, old: str, new: str) -> None:
        self._show_labels({p: (new if c == old else c) for p, c in self.labels.items()})
        self._change_classes(
            lambda d, s: api.rename_class(d.store, s, old, new), f"Renamed {old} to {new}.", relearn=True
        )

    # -- learning ------------------------------------------------------------------------------------

    def learn(self, asked_at: float | None = None) -> None:
        if self.info is None:
            return
        have = sum(1 for c in self.info.classes if c.labeled)
        if have < 2:  # nothing to learn yet: say what would start it, after what was just done
            need = "Label photos in 2 classes" if have == 0 else "Label photos in one more class"
            hint = f"{need} and the model starts learning."
            done = self.status.text() if self.status.kind is StatusKind.INFO else ""
            if not done.endswith(hint):
                self.status.show_info(f"{done} {hint}".strip())
            return
        name = self.info.name
        self.controller.learn(name, self._on_scores, self._on_report, self._on_learn_failed, asked_at=asked_at)

    def _on_scores(self, event: ScoresReady) -> None:
        self.scores = event.scores
        self.book.set_scores(event.scores)
        if self.shown is not self.book:
            self.shown.set_scores(event.scores)
        self.grid.grid_model.set_badges(self.shown.badge)
        if self.info is not None:
            self.classes.show_classes(self.info.classes, self.book.predicted_counts())
        self.last_latency_s = time.monotonic() - event.started
        self.badgesUpdated.emit(self.last_latency_s)

    def _on_report(self, report: FitReport) -> None:
        self.report = report
        self.classes.show_accuracy(report)
        if self.reviewing:
            self.queue.measured(report.held_out_accuracy)
            self.review.show_accuracy(self.queue.accuracy)
            self._fetch_queue(keep_current=True)

    def _on_learn_failed(self, exc: BaseException) -> None:
        self.status.show_info(describe(exc))  # "label photos in at least 2 classes": where to go next

    # -- review --------------------------------------------------------------------------------------

    def set_reviewing(self, on: bool) -> None:
        self.all_button.setChecked(not on)
        self.review_button.setChecked(on)
        if on == self.reviewing:
            return
        self.reviewing = on
        self.review.setVisible(on)
        if on:
            total = sum(self.side.sizes()) or self.side.height()
            self.side.setSizes([int(total * 0.62), total - int(total * 0.62)])
            if self.report is not None:
                self.queue.measured(self.report.held_out_accuracy)
            self.review.show_accuracy(self.queue.accuracy)
            self._fetch_queue(keep_current=False)
        else:
            self._show_photos()
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)

    def _fetch_queue(self, *, keep_current: bool) -> None:
        if self.info is None or self.scores is None:
            self.review.show_item(None, 0)
            self.status.show_info("Nothing to review yet: label photos in at least 2 classes first.")
            return
        set_name = self.info.name

        def done(items: list[ReviewItem]) -> None:
            self.queue.load(items, keep_current=keep_current)
            self._show_photos()
            self._show_review()

        self.controller.call(
            lambda d: api.review_queue(d.session(set_name), REVIEW_BATCH), name="review queue", on_done=done
        )

    def _show_review(self) -> None:
        current = self.queue.current
        count = len(self.info.classes) if self.info else 0
        self.review.show_item(current, self.queue.left, key_range(count))
        if current is None or self.info is None:
            return
        row = self.grid.grid_model.row_of(str(current.path))
        if row is not None:
            self.grid.select_rows([row])
        set_name, item = self.info.name, current
        self.controller.cancellable(  # by the current head: from the first refit on, no version needed
            lambda d, cancel: d.grad_cam(set_name, item.path, item.predicted, cancel),
            name="grad-cam",
            on_done=lambda rgb: self.review.show_cam(item, rgb),
            on_failed=lambda exc: self.review.show_cam_error(item, exc),
        )

    # -- closing -------------------------------------------------------------------------------------

    def version_changed(self, number: int) -> None:
        """A version was saved or made active (the grid and the review go on with the current head)."""
        if self.info is not None:
            self.info = dataclasses.replace(self.info, active_version=number)

    def shutdown(self) -> bool:
        return self.controller.shutdown()

    def key_for(self, class_name: str) -> str | None:
        info = next((c for c in self.info.classes if c.name == class_name), None) if self.info else None
        return hotkey(info.position) if info is not None else None
