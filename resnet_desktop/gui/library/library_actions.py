"""The window's library-index actions: reopen from the index, similar photos, near-duplicates, hygiene.

One object owns the QActions (File: reopen; Tools: similar, near-duplicates; Help: the index) and
its own background runner; the classify service (a sibling capability, so duck-typed here) tells
it where each row came from and what to say about the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.library.index_dialog import IndexDialog
from resnet_desktop.gui.library.similar_dialog import DuplicatesDialog, SimilarDialog

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.core.library.sessions import Reopened
    from resnet_desktop.core.models.zoo import LoadedModel

D = TypeVar("D", bound=QWidget)
ORIGIN_TEXT = {"index": "From the library index", "new": "Newly classified"}


class Results(Protocol):
    """What is used of the results table model (gui.classify's ResultsModel)."""

    origins: dict[str, str]

    def clear(self) -> None: ...

    def append_predictions(self, predictions: Iterable[Prediction], model: str = "") -> None: ...


class Banner(Protocol):
    def show_message(
        self, title: str, text: str, actions: Any = (), *, level: str = "warning"
    ) -> None: ...  # pragma: no cover


class Status(Protocol):
    def set_message(self, text: str) -> None: ...


class LibraryActions(QObject):
    def __init__(
        self,
        window: QWidget,
        service: Any,  # gui.classify's ModelService: .predictions/.jobFinished signals, .model
        results: Results,
        current_row: Callable[[], Prediction | None],
        thumbnails: ThumbnailLoader,
        banner: Banner,
        status: Status,
    ) -> None:
        super().__init__(window)
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

    def _on_predictions(self, job: Any, predictions: list[Prediction]) -> None:
        origins: dict[str, str] = getattr(job, "origins", {})
        for prediction in predictions:
            source = origins.get(str(prediction.path))
            if source is not None:
                self.results.origins[str(prediction.path)] = ORIGIN_TEXT.get(source, source)

    def _on_job_finished(self, job: Any, _cancelled: bool) -> None:
        notices: list[str] = getattr(job, "index_notices", [])
        if notices:
            self.banner.show_message("The library index", "\n".join(dict.fromkeys(notices)))

    # -- reopen ------------------------------------------------------------------------------

    def reopen_last(self) -> None:
        from resnet_desktop.core.library.sessions import reopen_last

        self.status.set_message("Reopening the last session from the library index…")
        self._query(lambda index: reopen_last(index), self._show_reopened, "Reopen")

    def reopen_folder(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Reopen a Folder from the Library Index")
            if not chosen:
                return
            folder = Path(chosen)
        loaded = self._loaded()
        from resnet_desktop.core.library.sessions import reopen_folder

        def work(index: Any) -> Reopened:
            model_id = _model_id(index, loaded) if loaded is not None else None
            return reopen_folder(index, folder, model_id)

        self.status.set_message(f"Reopening {folder} from the library index…")
        self._query(work, self._show_reopened, "Reopen")

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

    def _loaded(self) -> LoadedModel | None:
        info = getattr(self.service, "model", None)
        return getattr(info, "loaded", None)

    def show_similar(self) -> SimilarDialog | None:
        row = self.current_row()
        if row is None or not row.ok:
            self.banner.show_message("Find similar photos", "Select a photo in the table first.", level="info")
            return None
        loaded = self._loaded()
        if loaded is None:
            self.banner.show_message("Find similar photos", "Wait until the model is ready.", level="info")
            return None
        dialog = SimilarDialog(Path(row.path), loaded, self.thumbnails, self.window)
        return self._show(dialog)

    def show_duplicates(self, folder: Path | None = None) -> DuplicatesDialog | None:
        loaded = self._loaded()
        if loaded is None:
            self.banner.show_message("Find near-duplicates", "Wait until the model is ready.", level="info")
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Find Near-Duplicates in a Folder")
            if not chosen:
                return None
            folder = Path(chosen)
        dialog = DuplicatesDialog(folder, loaded, self.thumbnails, self.window)
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

    def _query(self, work: Callable[[Any], Any], done: Callable[[Any], None], title: str) -> None:
        """Run ``work(index)`` on the library thread with a freshly opened index (a connection per thread)."""

        def run(_ctx: TaskContext) -> Any:
            from resnet_desktop.core.library.index import LibraryIndexError, open_index

            index = open_index()
            if index is None:
                raise LibraryIndexError("The library index is switched off (RESNET_DESKTOP_INDEX=off).")
            with index:
                return work(index)

        self.runner.submit(run, name=title, on_returned=done, on_failed=lambda exc: self._failed(title, exc))

    def _failed(self, title: str, exc: BaseException) -> None:
        from resnet_desktop.core.errors import describe

        self.banner.show_message(f"{title}: the library index is not available", describe(exc))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        for dialog in list(self.dialogs):
            dialog.close()
        self.runner.shutdown()


def _model_id(index: Any, loaded: LoadedModel) -> int:
    from resnet_desktop.core.library.index import ModelIdentity

    return int(index.model_id(ModelIdentity.of(loaded)))
