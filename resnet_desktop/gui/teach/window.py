"""Tools > Teach Your Own Classes… (Ctrl+T): the teach room in its own window.

The window adds what concerns a whole label set: choosing one, creating one (a name, its classes,
the folders it covers; the photos there are embedded once, in the background), saving a version,
the versions, and acting on the set's classes through the main window's organize room
(``organizeRequested``, ``keywordsRequested``: the set's answers as prediction rows, labels first). Closing it while a
refit or an embedding runs cancels them and waits at most ~1.5 s; every label saved stays saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QInputDialog, QLabel, QMainWindow, QWidget

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach.api import EmbedCounts, LabelSetInfo, VersionInfo
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.common.screen_fit import fit_window
from resnet_desktop.gui.common.text import plural
from resnet_desktop.gui.common.thumb_cache import DiskThumbnailCache
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.teach.desk import TeachDesk
from resnet_desktop.gui.teach.room import TeachRoom
from resnet_desktop.gui.teach.versions import VersionsDialog, accuracy


def split_classes(text: str) -> list[str]:
    """ "receipts, kids; whiteboards" -> the three names (commas, semicolons or new lines)."""
    names = [part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",")]
    return list(dict.fromkeys(n for n in names if n))


class TeachWindow(QMainWindow):
    """One per main window (raised when reopened)."""

    #: Organize the set's photos by its classes: the rows go to the main window's organize room.
    organizeRequested = Signal(list)
    #: The set's answers as XMP keywords: the rows go to the organize room's Write Keywords dialog.
    keywordsRequested = Signal(list)

    def __init__(
        self,
        base_model: Callable[[], ModelRef | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Teach — ResNet Desktop")
        fit_window(self, QSize(1280, 760), parent)  # never larger than the screen (it ran off 1024x700), on it
        self.base_model = base_model
        self.thumbnails = ThumbnailLoader(self, disk=DiskThumbnailCache())
        self.room = TeachRoom(self.thumbnails, self)
        self.room.base_model = base_model
        self.setCentralWidget(self.room)
        self.controller = self.room.controller
        self.status = self.room.status
        self.sets = QComboBox()
        self.sets.setMinimumContentsLength(16)
        self.sets.activated.connect(lambda _i: self._choose(self.sets.currentText()))
        self.versions_dialog: VersionsDialog | None = None
        self._build_actions()
        self._build_menus()
        self.refresh_sets()

    # -- construction --------------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], object], keys: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcut(QKeySequence(keys))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.new_set_action = self._action(
            "&New Label Set…", self.new_set, "Ctrl+N", "Name your classes and the folders they sort"
        )
        self.save_action = self._action("&Save Version", self.save_version, "Ctrl+S", "Keep what the model learned")
        self.versions_action = self._action("&Versions…", self.show_versions, None, "Make one active, compare two")
        self.organize_action = self._action(
            "&Organize by These Classes…",
            self.organize,
            None,
            "Copy or move the set's photos into one folder per class (undoable)",
        )
        self.keywords_action = self._action(
            "&Write Keywords…",
            self.write_keywords,
            None,
            "Add each photo's class as a keyword to its XMP sidecar (undoable)",
        )
        self.close_action = self._action("&Close", self.close, "Ctrl+W")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        set_menu = bar.addMenu("&Label Set")
        set_menu.addActions([self.new_set_action, self.save_action, self.versions_action])
        set_menu.addSeparator()
        set_menu.addActions([self.organize_action, self.keywords_action])
        set_menu.addSeparator()
        set_menu.addAction(self.close_action)
        label_menu = bar.addMenu("L&abel")
        label_menu.addActions(self.room.key_actions)
        label_menu.addActions([self.room.clear_action, self.room.accept_action])
        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.room.all_action, self.room.review_action])
        toolbar = self.addToolBar("Label set")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel(" Label set: "))
        toolbar.addWidget(self.sets)
        toolbar.addActions([self.new_set_action, self.save_action, self.versions_action, self.organize_action])

    # -- label sets ------------------------------------------------------------------------------------

    def refresh_sets(self, choose: str | None = None, opened: str | None = None) -> None:
        """List the sets and open ``choose`` (else the first); ``opened``: what to say once it is open."""

        def shown(sets: list[LabelSetInfo]) -> None:
            names = [s.name for s in sets]
            self.sets.clear()
            self.sets.addItems(names)
            wanted = choose if choose in names else (names[0] if names else None)
            if wanted is None:
                self.status.show_info("No label set yet: New Label Set… (Ctrl+N) names your classes.")
                return
            self.sets.setCurrentText(wanted)
            self._choose(wanted, opened)

        self.controller.call(lambda d: api.list_sets(d.store), name="label sets", on_done=shown)

    def _choose(self, name: str, opened: str | None = None) -> None:
        if name and (self.room.info is None or self.room.info.name != name):
            self.room.open_set(name, opened)

    def new_set(self) -> None:
        """Three questions: the set's name, its classes, and the folder of photos it sorts."""
        name, ok = QInputDialog.getText(self, "New Label Set", "Name of the label set (e.g. Family photos):")
        if not ok or not name.strip():
            return
        text, ok = QInputDialog.getText(self, "New Label Set", "Its classes, separated by commas:")
        classes = split_classes(text) if ok else []
        if not classes:
            self.status.show_error("A label set needs at least one class: New Label Set… again to name them.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Photos to Sort")
        if not folder:
            self.status.show_info("No folder chosen: nothing was created.")
            return
        self.create_set(name.strip(), classes, [Path(folder)])

    def create_set(self, name: str, classes: list[str], scope: list[Path]) -> None:
        base = self.base_model()
        self.status.show_busy(f"Creating {name}")

        def work(d: TeachDesk, cancel: threading.Event) -> Work[Step, tuple[LabelSetInfo, EmbedCounts]]:
            info = api.create_set(d.store, name, classes=classes, base=base, scope=scope)
            counts = yield from api.prepare(d.session(info.name), base, cancel=cancel)
            return api.set_info(d.store, info.name), counts

        self.controller.stream(work, name="new label set", on_event=self.room.show_step, on_done=self._created)

    def _created(self, result: tuple[LabelSetInfo, EmbedCounts]) -> None:
        info, counts = result
        self.refresh_sets(
            choose=info.name,
            opened=f"Created {info.name} with {plural(len(info.classes), 'class', 'classes')}: "
            f"{plural(counts.computed, 'photo')} embedded now, {counts.reused} already known.",
        )

    # -- versions ------------------------------------------------------------------------------------

    def save_version(self) -> None:
        info = self.room.info
        if info is None or self.room.scores is None:
            self.status.show_error("Nothing learned yet to save: label photos in at least 2 classes first.")
            return
        name = info.name

        def saved(version: VersionInfo) -> None:
            self.room.version_changed(version.number)
            self.status.show_info(
                f"Saved version {version.number} of {name} (held-out accuracy {accuracy(version.held_out_accuracy)}); "
                "it is the active one."
            )
            self._reload_versions()

        self.controller.call(lambda d: api.save_version(d.session(name)), name="save version", on_done=saved)

    def show_versions(self) -> VersionsDialog | None:
        if self.room.info is None:
            self.status.show_error("Choose or create a label set first.")
            return None
        if self.versions_dialog is None:
            self.versions_dialog = VersionsDialog(self._activate, self._compare, self)
        self.versions_dialog.show()
        self.versions_dialog.raise_()
        self._reload_versions()
        return self.versions_dialog

    def _reload_versions(self) -> None:
        info, dialog = self.room.info, self.versions_dialog
        if info is None or dialog is None:
            return
        name = info.name
        self.controller.call(lambda d: api.list_versions(d.store, name), name="versions", on_done=dialog.show_versions)

    def _activate(self, number: int) -> None:
        info = self.room.info
        if info is None:
            return
        name = info.name

        def done(version: VersionInfo) -> None:
            self.room.version_changed(version.number)
            self.status.show_info(f"Version {version.number} of {name} is the active one.")
            self._reload_versions()

        self.controller.call(lambda d: api.activate_version(d.store, name, number), name="activate", on_done=done)

    def _compare(self, first: int, second: int) -> None:
        info, dialog = self.room.info, self.versions_dialog
        if info is None or dialog is None:
            return
        name = info.name
        self.controller.call(
            lambda d: api.compare_versions(d.session(name), first, second),
            name="compare",
            on_done=dialog.show_comparison,
        )

    # -- acting on the classes -------------------------------------------------------------------------

    def answers(self) -> list[Prediction]:
        """The set's photos as prediction rows: the person's label (certain), else the model's answer."""
        rows: list[Prediction] = []
        book = self.room.book
        for row, path in enumerate(book.paths):
            mine = book.label_of(row)
            if mine is not None:
                rows.append(Prediction(Path(path), (ClassScore(mine, 0, 1.0),)))
                continue
            found = book.prediction(row)
            if found is not None:
                name, confidence, _uncertain = found
                rows.append(Prediction(Path(path), (ClassScore(name, 0, confidence),)))
        return rows

    def organize(self) -> None:
        rows = self.answers()
        if not rows:
            self.status.show_error("Nothing to organize yet: label photos in at least 2 classes first.")
            return
        self.organizeRequested.emit(rows)

    def write_keywords(self) -> None:
        rows = self.answers()
        if not rows:
            self.status.show_error("No keywords to write yet: label photos in at least 2 classes first.")
            return
        self.keywordsRequested.emit(rows)

    # -- closing -------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.hide()  # never a frozen window while the worker winds down
        self.room.shutdown()
        self.thumbnails.shutdown()
        event.accept()
