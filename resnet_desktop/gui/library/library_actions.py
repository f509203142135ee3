"""The window's library-index actions: reopen from the index, similar photos, near-duplicates, hygiene.

One object owns the QActions (File: reopen; Tools: similar, near-duplicates; Help: the index) and
its own background runner; the app's model service (``gui.common.model_service``) tells it where
each row came from and what to say about the index. The work is ``core.library.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.core.library.api import FROM_INDEX, NEW, Reopened, reopen_folder, reopen_last_session
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.model_service import ClassifyJob, ModelInfo, ModelService
from resnet_desktop.gui.common.tasks import TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library.duplicates_dialog import DuplicatesDialog
from resnet_desktop.gui.library.index_dialog import IndexDialog
from resnet_desktop.gui.library.similar_dialog import EngineFactory, SimilarDialog

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Classifier, Prediction

D = TypeVar("D", bound=QWidget)
ORIGIN_TEXT = {FROM_INDEX: "From the library index", NEW: "Newly classified"}


class Results(Protocol):
    """What is used of the results table model (gui.classify's ResultsModel)."""

    origins: dict[str, str]

    def clear(self) -> None: ...

    def append_predictions(self, predictions: Iterable[Prediction], model: str = "") -> None: ...


class Status(Protocol):
    def set_message(self, text: str) -> None: ...


class LibraryActions(QObject):
    def __init__(
        self,
        window: QWidget,
        service: ModelService,
        results: Results,
        current_row: Callable[[], Prediction | None],
        thumbnails: ThumbnailLoader,
        banner: Banner,
        status: Status,
        *,
        settings: QSettings,
        show_photo: Callable[[Path], object],
    ) -> None:
        super().__init__(window)
        self.settings = settings
        #: Shows a photo in the main window (a double-click in the Similar / Near-Duplicates dialogs).
        self.show_photo = show_photo
        self.window = window
        self.service = service
        self.results = results
        self.current_row = current_row
        self.thumbnails = thumbnails
        self.banner = banner
        self.status = status
        self.runner = TaskRunner(self, max_threads=1, name="library")
        self.dialogs: list[QWidget] = []
        self.last_reopened: Reopened | None = None
        self.reopen_action = self._action("&Reopen Last Session", self.reopen_last, "Ctrl+Shift+R")
        self.reopen_action.setStatusTip("Show the last session's results again, from the library index")
        self.reopen_folder_action = self._action("Reopen &Folder from Index…", self.reopen_folder)
        self.similar_action = self._action("Find &Similar Photos", self.show_similar, "Ctrl+Shift+F")
        self.similar_action.setStatusTip("The photos most like the selected one (library index embeddings)")
        self.duplicates_action = self._action("Find Near-&Duplicates…", self.show_duplicates)
        self.index_action = self._action("Library &Index…", self.show_index)
        self.index_action.setStatusTip("Where the library index is, its size; forget a folder or clear it")
        service.predictions.connect(self._on_predictions)
        service.jobFinished.connect(self._on_job_finished)
        service.jobFailed.connect(lambda job, _exc: self._on_job_finished(job, False))
        window.installEventFilter(self)

    def _action(self, text: str, slot: Callable[[], object], shortcut: str | None = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)
        return action

    @property
    def file_actions(self) -> list[QAction]:
        return [self.reopen_action, self.reopen_folder_action]

    @property
    def tools_actions(self) -> list[QAction]:
        return [self.similar_action, self.duplicates_action]

    # -- what the classify service tells us --------------------------------------------------

    def _on_predictions(self, job: ClassifyJob, predictions: list[Prediction]) -> None:
        for prediction in predictions:
            source = job.origins.get(str(prediction.path))
            if source is not None:
                self.results.origins[str(prediction.path)] = ORIGIN_TEXT.get(source, source)

    def _on_job_finished(self, job: ClassifyJob, _cancelled: bool) -> None:
        if job.index_notices:
            self.banner.show_message("The library index", "\n".join(dict.fromkeys(job.index_notices)))

    # -- reopen ------------------------------------------------------------------------------

    def reopen_last(self) -> None:
        self.status.set_message("Reopening the last session from the library index…")
        self._query(lambda: reopen_last_session(), self._show_reopened, "Reopen")

    def reopen_folder(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Reopen a Folder from the Library Index")
            if not chosen:
                return
            folder = Path(chosen)
        info = self.service.model
        loaded = info.model if info is not None else None
        chosen_folder = folder
        self.status.set_message(f"Reopening {folder} from the library index…")
        self._query(lambda: reopen_folder(chosen_folder, loaded), self._show_reopened, "Reopen")

    def _show_reopened(self, reopened: Reopened | None) -> None:
        if reopened is None or not reopened.rows:
            self.status.set_message("Nothing to reopen from the library index.")
            self.banner.show_message(
                "Nothing to reopen",
                "The library index holds no results for this yet: classify photos first (drop a folder).",
                level="info",
            )
            return
        self.last_reopened = reopened
        self.results.clear()
        for row in reopened.rows:
            self.results.origins[str(row.path)] = ORIGIN_TEXT["index"]
        self.results.append_predictions(reopened.rows, reopened.model)
        self.status.set_message(f"Reopened {len(reopened.rows)} results from the library index ({reopened.model}).")

    # -- similar and duplicates --------------------------------------------------------------

    def _engine_for(self, info: ModelInfo) -> EngineFactory:
        """An fp32 classifier of the window's model for files the index lacks (torch-free when it can
        be), made on the dialog's own thread: similar photos compare fp32 embeddings."""

        def make() -> Classifier:
            from resnet_desktop.core.inference.api import open_classifier

            return open_classifier(info.ref, backend=self.service.backend, device=info.device).classifier

        return make

    def show_similar(self) -> SimilarDialog | None:
        row = self.current_row()
        if row is None:
            self.banner.show_message("Find similar photos", "Select a photo in the table first.", level="info")
            return None
        if not row.ok:
            self.banner.show_message(
                "Find similar photos",
                f"{Path(row.path).name} could not be read ({row.error}), so there is nothing to compare it with. "
                "Select another photo.",
                level="info",
            )
            return None
        info = self.service.model
        if info is None:
            self.banner.show_message("Find similar photos", "Wait until the model is ready.", level="info")
            return None
        dialog = SimilarDialog(Path(row.path), info.described, self._engine_for(info), self.thumbnails, self.window)
        dialog.photoActivated.connect(self.show_photo)
        return self._show(dialog)

    def show_duplicates(self, folder: Path | None = None) -> DuplicatesDialog | None:
        info = self.service.model
        if info is None:
            self.banner.show_message("Find near-duplicates", "Wait until the model is ready.", level="info")
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Find Near-Duplicates in a Folder")
            if not chosen:
                return None
            folder = Path(chosen)
        engine = self._engine_for(info)
        dialog = DuplicatesDialog(folder, info.described, engine, self.thumbnails, self.settings, self.window)
        dialog.photoActivated.connect(self.show_photo)
        return self._show(dialog)

    def show_index(self) -> IndexDialog:
        return self._show(IndexDialog(self.window))

    def _show(self, dialog: D) -> D:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_a, d=dialog: self.dialogs.remove(d) if d in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    # -- plumbing ----------------------------------------------------------------------------

    def _query(self, work: Callable[[], Reopened | None], done: Callable[[Reopened | None], None], title: str) -> None:
        """Run ``work()`` (a core use case that opens the index itself) on the library thread."""
        self.runner.submit(
            lambda _ctx: work(), name=title, on_returned=done, on_failed=lambda exc: self._failed(title, exc)
        )

    def _failed(self, title: str, exc: BaseException) -> None:
        self.banner.show_message(f"{title}: the library index is not available", describe(exc))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        for dialog in list(self.dialogs):
            dialog.close()
        self.runner.shutdown()
