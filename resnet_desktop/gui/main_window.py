"""The main window: menus, toolbar, drop target, results + preview, status bar.

It wires widgets to ``ModelService`` (which owns the inference thread) and never touches torch:
``import resnet_desktop.gui.main_window`` must not import it, so the window can be on screen
while the worker is still importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import describe
from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.api import LibraryView
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.classify.export import export_visible
from resnet_desktop.gui.classify.inputs import Inputs
from resnet_desktop.gui.classify.job_status import JobStatus
from resnet_desktop.gui.classify.mixing import MixGuard
from resnet_desktop.gui.classify.model_control import STALE_ROWS, ModelControl
from resnet_desktop.gui.classify.model_export import ModelExport
from resnet_desktop.gui.classify.parquet_import import ParquetImport
from resnet_desktop.gui.classify.preview import PreviewPanel
from resnet_desktop.gui.classify.results_model import ResultsModel
from resnet_desktop.gui.classify.results_view import ResultsPanel
from resnet_desktop.gui.classify.row_models import RowModel
from resnet_desktop.gui.classify.toolbar import ModelToolbar
from resnet_desktop.gui.common import closing, dialogs, save_folders
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.dropzone import DropOverlay, DropTarget, EmptyState
from resnet_desktop.gui.common.help import HelpActions
from resnet_desktop.gui.common.model_service import ClassifyJob, ModelInfo, ModelService
from resnet_desktop.gui.common.shortcuts import Shortcut, add_action, keep_shortcuts
from resnet_desktop.gui.common.side_panel import make_room_for_tab
from resnet_desktop.gui.common.status import StatusBar
from resnet_desktop.gui.common.theme_menu import ThemeMenu
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.evaluate.tabs import SPEED_TAB
from resnet_desktop.gui.explain.panel import FeaturePanel
from resnet_desktop.gui.library.library_actions import LibraryActions
from resnet_desktop.gui.library.library_dock import LibraryDock
from resnet_desktop.gui.library.organize_actions import OrganizeActions
from resnet_desktop.gui.settings import AppSettings
from resnet_desktop.gui.tool_windows import ToolWindows


class MainWindow(QMainWindow):
    """The classification window. Call ``start()`` once it is shown to import torch and load the model."""

    status: StatusBar
    banner: Banner
    toolbar: ModelToolbar

    #: Emitted when a model is ready (after start-up, a switch, or "Choose weights file…").
    modelReady = Signal(ModelInfo)

    @property
    def model_info(self) -> ModelInfo | None:
        """The model that is ready to classify, or None."""
        return self.models.info

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        model_ref: ModelRef | None = None,
        device: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        save_folders.use_settings(self.settings.qsettings)  # each kind of export remembers its folder there
        self.setWindowTitle("ResNet Desktop")
        self.service = ModelService(self)
        self.thumbnails = ThumbnailLoader(self)
        self.results = ResultsModel(self.thumbnails, self)
        self._closing = False
        #: job id -> the photo to select once that job has classified it (``show_photo``).
        self._show_when_done: dict[int, Path] = {}

        self._build_actions()
        self._build_widgets()
        self.mix = MixGuard(
            self, self.results, self.banner, lambda: self.model_info.source if self.model_info else None, self.rerun
        )
        self.organize = OrganizeActions(
            self, self.settings.qsettings, self.thumbnails, self.results_panel.proxy.visible_rows, self.results.rowCount
        )
        self.organize.allow = self.mix.allow_organize  # never one folder tree from two label sets
        self.organize_action, self.undo_organize_action = self.organize.organize_action, self.organize.undo_action
        self.parquet_import = ParquetImport(self, self.results, self.mix, self.banner, self.status)
        self.model_export = ModelExport(
            self, self.settings, self.service, self.banner, self.status, lambda: self.models.retry()
        )
        self.library = LibraryActions(
            *(self, self.service, self.results, self.results_panel.current_row, self.thumbnails, self.banner),
            self.status,
            settings=self.settings.qsettings,
            show_photo=self.show_photo,
        )
        self.library_folders = LibraryDock(
            self, self.status, lambda: self.model_info.ref if self.model_info else None, self._show_library
        )
        self.inputs = Inputs(
            self, self.settings, self.status, self.banner, lambda paths, keep: self.classify(paths, remember=keep)
        )
        self._build_menus()
        self.models = ModelControl(
            *(self, self.service, self.settings, self.toolbar, self.status, self.banner),
            ref=model_ref if model_ref is not None else self.settings.model_ref(),
            device=device or self.settings.device(),
            table_paths=self.results.paths,
            rerun=self.rerun,
        )
        self.tools = ToolWindows(
            *(self, self.settings, lambda: self.model_info, self.models.use_model_file),
            organize_rows=self.organize.organize_rows,
            keyword_rows=self.organize.keyword_rows,
        )
        self.jobs = JobStatus(self.service, self.status, self.banner, self.results, resume=self.classify)
        self._connect_service()
        self.settings.restore_window(self, self.splitter)

    # -- construction --------------------------------------------------------------------------

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: Shortcut | None = None, tip: str = ""
    ) -> QAction:
        return add_action(self, text, slot, shortcut, tip)

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_images_action = self._action(
            "&Open Images…", lambda: self.inputs.open_images(), K.Open, "Classify image files"
        )
        self.open_folder_action = self._action(
            "Open &Folder…",
            lambda: self.inputs.open_folder(),
            "Ctrl+Shift+O",
            "Classify every image in a folder and its sub-folders",
        )
        self.paste_action = self._action(
            "&Paste Image", lambda: self.inputs.paste(), K.Paste, "Classify the image on the clipboard"
        )
        self.samples_action = self._action(
            "Try &Sample Images",
            lambda: self.inputs.try_samples(),
            None,
            "Classify a few photos that ship with the app",
        )
        self.export_action = self._action(
            "&Export Results…", lambda: self.export_results(), "Ctrl+E", "Save the table as CSV or JSON"
        )
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc", "Stop classifying; keep what is done")
        self.clear_action = self._action("C&lear Results…", lambda: self.clear_results(), None)
        self.quit_action = self._action("&Quit", self.close, K.Quit)
        self.about_action = self._action("&About ResNet Desktop", self.show_about)
        self.open_model_action = self._action(
            "Open &Model File…",
            lambda: self.models.choose_weights_file(),
            None,
            "Use a .safetensors/.pth file or a fine-tuned model",
        )
        self.finetune_action = self._action("&Fine-tune New Classifier…", lambda: self.open_finetune())
        self.teach_action = self._action(
            "&Teach Your Own Classes…",
            lambda: self.open_teach(),
            "Ctrl+T",
            "Label a few photos into your own classes; the model learns as you label and sorts the rest",
        )
        self.evaluate_action = self._action(
            "&Evaluate on Labeled Folder…", lambda: self.open_model_lab(), None, "Accuracy, confusion, calibration"
        )
        self.bench_action = self._action(
            "&Speed Benchmark…", lambda: self.open_model_lab(SPEED_TAB), None, "Time models on this machine"
        )
        for action in (self.cancel_action, self.export_action, self.clear_action):
            action.setEnabled(False)

    def _build_widgets(self) -> None:
        self.toolbar = ModelToolbar(self)
        self.toolbar.setMovable(False)
        self.toolbar.topk_spin.setValue(self.settings.topk())
        self.toolbar.topkChanged.connect(self.settings.set_topk)
        self.addToolBar(self.toolbar)

        self.banner = Banner()
        self.results_panel = ResultsPanel(self.results)
        self.results_panel.filter_edit.setAcceptDrops(False)
        self.results_panel.current_changed.connect(self._on_current_row)
        # Ctrl+E and the other window keys work while the filter or min-confidence box has focus.
        keep_shortcuts(
            [self.results_panel.filter_edit, self.results_panel.min_confidence],
            [self.export_action, self.open_images_action, self.open_folder_action, self.results_panel.find_action],
        )
        self.empty_state = EmptyState([self.open_images_action, self.open_folder_action, self.samples_action])
        self.left = QStackedWidget()
        self.left.addWidget(self.empty_state)
        self.left.addWidget(self.results_panel)
        self.preview = PreviewPanel(self.thumbnails)
        self.preview.set_topk(self.toolbar.topk())
        self.toolbar.topkChanged.connect(self.preview.set_topk)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.preview, "Preview")
        self.feature_panel = FeaturePanel(self)
        # In a scroll area so its minimum size never forces the whole window wider.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.feature_panel)
        self.side_tabs.addTab(scroll, "Features")
        self.side_tabs.currentChanged.connect(self._make_room_for_tab)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.drop_overlay = DropOverlay(central)
        self.drop_target = DropTarget(self, self.drop_overlay, self._drop_text)
        self.drop_target.dropped.connect(self.classify)

        self.status = StatusBar(self)
        self.status.cancel_button.clicked.connect(self.cancel)
        self.setStatusBar(self.status)
        self.status.set_message("Starting…")

    def _make_room_for_tab(self, index: int) -> None:
        make_room_for_tab(self.splitter, self.side_tabs, index)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_images_action, self.open_folder_action, self.paste_action])
        file_menu.addMenu(self.inputs.recent_menu)
        file_menu.addAction(self.samples_action)
        file_menu.addAction(self.parquet_import.action)
        file_menu.addActions(self.library.file_actions)
        file_menu.addSeparator()
        file_menu.addActions(self.library_folders.menu_actions)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        panel = self.results_panel
        edit_menu.addActions([panel.copy_action, panel.remove_action, panel.show_in_folder_action, panel.find_action])
        self.addAction(panel.find_action)
        edit_menu.addSeparator()
        edit_menu.addActions(self.organize.edit_actions)
        edit_menu.aboutToShow.connect(self.organize.update)
        edit_menu.addSeparator()
        edit_menu.addAction(self.cancel_action)
        edit_menu.addAction(self.clear_action)
        model_menu = bar.addMenu("&Model")
        model_menu.addAction(self.open_model_action)
        model_menu.addActions([*self.model_export.actions, self.model_export.backend_menu.menuAction()])
        self.theme_menu = ThemeMenu(self.settings, self)
        view_menu = bar.addMenu("&View")
        view_menu.addMenu(self.theme_menu)
        view_menu.addAction(self.library_folders.view_action)
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addActions([self.teach_action, self.finetune_action, self.evaluate_action, self.bench_action])
        tools_menu.addSeparator()
        tools_menu.addActions(self.organize.actions + self.library.tools_actions)
        tools_menu.aboutToShow.connect(self.organize.update)
        help_menu = bar.addMenu("&Help")
        self.help = HelpActions(self, help_menu)  # shortcuts and guide read from the actions and the README
        help_menu.addActions([self.library.index_action, self.about_action])

    def _connect_service(self) -> None:
        s = self.service
        s.predictions.connect(lambda job, predictions: self.results.append_predictions(predictions, job.model))
        s.busyChanged.connect(self._on_busy)
        s.stage.connect(lambda _text: self._on_busy(self.service.busy))  # Esc also stops a model load
        s.loadProgress.connect(lambda *_: self.cancel_action.setEnabled(True))  # Esc stops a download
        s.modelFailed.connect(lambda _exc: self._on_busy(self.service.busy))
        self.models.modelReady.connect(self._on_model_ready)
        # Feature maps need the torch model; a model running torch-free loads it when they are shown.
        self.feature_panel.modelWanted.connect(s.request_torch_model)
        s.torchModelReady.connect(lambda info: self.feature_panel.set_model(info.loaded))
        s.torchModelFailed.connect(lambda exc: self.feature_panel.model_unavailable(describe(exc)))
        self.results.rowsInserted.connect(self._on_rows_changed)
        self.results.modelReset.connect(self._on_rows_changed)
        # "Classified with the previous model" is withdrawn once no such row is left in the table.
        s.jobFinished.connect(lambda *_: self._withdraw_if_no_stale_rows())
        s.jobFinished.connect(lambda job, _c: self.results_panel.select_path(self._show_when_done.pop(job.id, Path())))
        self.results.rowsRemoved.connect(lambda *_: self._withdraw_if_no_stale_rows())

    def _withdraw_if_no_stale_rows(self) -> None:
        info = self.model_info
        count = self.results.rowCount()
        if count == 0 or (info is not None and len(self.results.classified_with(info.source)) == count):
            self.banner.withdraw(STALE_ROWS)

    # -- start-up and model --------------------------------------------------------------------

    def start(self) -> None:
        """Begin importing torch and loading the model in the worker (call after ``show()``)."""
        self.models.start()
        self.library_folders.start()

    def set_model(self, ref: ModelRef, device: str | None = None) -> None:
        """Switch to ``ref`` (and ``device``): running work is cancelled, the choice remembered."""
        self.models.set_model(ref, device)

    def _on_model_ready(self, info: ModelInfo) -> None:
        # Rows this model makes carry its name; its classes tell the table which label set they are in.
        self.results.register(RowModel.of(info.source, info.categories))
        self._on_busy(self.service.busy)
        self.feature_panel.set_model(info.loaded, on_demand=True)
        self.library_folders.model_ready(info.ref)
        self.modelReady.emit(info)

    def rerun(self) -> None:
        """Classify the files in the table again with the current model; each row is updated in place."""
        paths = self.results.paths()
        self.banner.withdraw(STALE_ROWS)
        if paths:
            self.service.classify(paths, self.toolbar.topk())

    # -- input ---------------------------------------------------------------------------------

    def classify(self, paths: list[Path], *, remember: bool = True) -> ClassifyJob | None:
        """Queue ``paths`` (files and/or folders) behind any running job."""
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        current = self.mix.current()
        if current is not None and not self.mix.allow_adding([current]):
            self.status.set_message("Nothing added: the table keeps the results of the other model.")
            return None
        if remember:
            self.inputs.remember(paths)
        self.left.setCurrentWidget(self.results_panel)
        # Files already in the table from this model are not classified again (or given a second row).
        done = self.results.classified_with(self.model_info.source) if self.model_info else frozenset()
        return self.service.classify(paths, self.toolbar.topk(), skip=done)

    def show_photo(self, path: Path) -> None:
        """Select ``path``'s row (classifying it first when the table does not have it)."""
        self.left.setCurrentWidget(self.results_panel)
        if not self.results_panel.select_path(path):
            job = self.classify([path], remember=False)
            if job is not None:
                self._show_when_done[job.id] = path

    def _show_library(self, view: LibraryView) -> None:
        self.left.setCurrentWidget(self.results_panel)
        self.results_panel.show_library(view)

    def _drop_text(self, paths: list[Path]) -> str:
        busy = " (queued after the current job)" if self.service.busy else ""
        noun = "item" if len(paths) == 1 else "items"
        return f"Drop {len(paths)} {noun} to classify{busy}"

    # -- jobs ----------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Esc: stop the running job (keeping what is done) and drop queued ones; or stop a download."""
        if self.service.busy:
            self.service.cancel_all()
            self.status.set_message("Cancelling… finished results are kept.")
        elif self.service.cancel_load():
            self.status.set_message("Cancelling the model download…")

    def clear_results(self, *, ask: bool = True) -> bool:
        """Edit > Clear Results: asks first (the rows cannot be brought back; the files are untouched)."""
        count = self.results.rowCount()
        if not count:
            return False
        if ask and not dialogs.confirm_clear(self, count):
            return False
        self.results.clear()
        self.preview.show_row(None)
        self.banner.withdraw(STALE_ROWS)  # no rows of the previous model are left
        return True

    def _on_busy(self, busy: bool) -> None:
        self.cancel_action.setEnabled(busy or self.service.is_loading)
        self.status.show_cancel(busy or self.service.is_loading)
        if not busy and not self.service.is_loading:
            self.status.set_idle()

    def _on_rows_changed(self, *_args: object) -> None:
        has_rows = self.results.rowCount() > 0
        self.export_action.setEnabled(has_rows)
        self.clear_action.setEnabled(has_rows)
        self.organize.update()
        if has_rows and self.left.currentWidget() is not self.results_panel:
            self.left.setCurrentWidget(self.results_panel)
        if has_rows and self.results_panel.current_row() is None:
            self.results_panel.select_row(0)

    def _on_current_row(self, row: Prediction | None) -> None:
        self.preview.show_row(row)
        if row is None:
            self.feature_panel.clear()
        elif row.ok:
            self.feature_panel.set_image(row.path)
        else:  # never go on showing the previous photo's features
            self.feature_panel.show_unreadable(row.path, row.error or "")

    # -- export, tools, about ------------------------------------------------------------------

    def export_results(self, path: Path | None = None) -> Path | None:
        """File > Export Results (Ctrl+E): the visible rows (filtered, in display order) to CSV or JSON."""
        rows = self.results_panel.proxy.visible_rows()
        go, models = self.mix.export_models(rows)
        if not go:
            return None
        near = Path(self.inputs.start_folder())  # the last folder opened (unless it is the app's samples)
        return export_visible(self, rows, near, self.status, self.banner, path, models)

    def open_finetune(self) -> QWidget:
        return self.tools.open_finetune()

    def open_teach(self) -> QWidget:
        return self.tools.open_teach()

    def open_model_lab(self, tab: int = 0) -> QWidget:
        return self.tools.open_model_lab(tab)

    def show_about(self) -> None:
        device = self.model_info.device_name if self.model_info else ""
        dialogs.show_about(self, self.service.catalog.versions if self.service.catalog else {}, device)

    # -- shutdown ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout, cancel running work and wait for the worker threads to end."""
        if not self._closing:
            self.settings.save_window(self, self.splitter)
            self.settings.sync()
            # Work that cannot stop at once (a torch import, a quantization) is waited for only so long:
            # then it is abandoned and the app's main ends the process (``closing``).
            with closing.within():
                if not self.tools.close_all():
                    event.ignore()  # the wizard's "save the trained model?" was answered Cancel
                    return
                self._closing = True
                self.hide()  # never a frozen window while the workers stop
                self.model_export.shutdown()
                self.organize.shutdown()  # stops after the current photo (the journal keeps it undoable)
                self.library_folders.shutdown()  # background indexing: every batch it did is committed
                self.service.shutdown()
                self.thumbnails.shutdown()
                self.feature_panel.shutdown()
        event.accept()
