"""The main window: menus, toolbar, drop target, results + preview, status bar.

It wires widgets to ``ModelService`` (which owns the inference thread) and never touches torch:
``import resnet_desktop.gui.main_window`` must not import it, so the window can be on screen
while the worker is still importing torch.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.gui.classify.export import export
from resnet_desktop.gui.classify.preview import PreviewPanel
from resnet_desktop.gui.classify.results_model import ResultsModel
from resnet_desktop.gui.classify.results_view import ResultsPanel
from resnet_desktop.gui.classify.service import Catalog, Job, ModelInfo, ModelService
from resnet_desktop.gui.classify.toolbar import ModelToolbar
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.dropzone import DropOverlay, EmptyState, local_paths
from resnet_desktop.gui.common.status import StatusBar, progress_text
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.settings import AppSettings, ModelSpec

logger = logging.getLogger(__name__)

RETRY = "Retry"
CHOOSE_WEIGHTS = "Choose weights file…"
RERUN = "Re-run"
USE_AUTO_DEVICE = "Use automatic device"


def _optional(module: str, name: str) -> Any:
    """A class from another engineer's optional module, or ``None`` until it exists."""
    try:
        imported = __import__(module, fromlist=[name])
    except ImportError as exc:
        logger.debug("%s not available: %s", module, exc)
        return None
    return getattr(imported, name, None)


class MainWindow(QMainWindow):
    """The classification window. Call ``start()`` once it is shown to import torch and load the model."""

    #: Emitted when a model is ready (after start-up, a switch, or "Choose weights file…").
    modelReady = Signal(object)

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        model_spec: ModelSpec | None = None,
        device: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.setWindowTitle("ResNet Desktop")
        self.setAcceptDrops(True)
        self.service = ModelService(self)
        self.thumbnails = ThumbnailLoader(self)
        self.results = ResultsModel(self.thumbnails, self)
        self.model_info: ModelInfo | None = None
        self._spec = model_spec if model_spec is not None else self.settings.model_spec()
        self._device = device or self.settings.device()
        self._offer_rerun = False
        self._job_started_at: dict[int, float] = {}
        self._job_failed: dict[int, int] = {}
        self._job_done: dict[int, int] = {}
        self._job_rate: dict[int, float] = {}
        self._closing = False
        self._wizard: QWidget | None = None

        self._build_actions()
        self._build_widgets()
        self._build_menus()
        self._connect_service()
        self._restore()

    # -- construction --------------------------------------------------------------------------

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_images_action = self._action("&Open Images…", self.open_images, K.Open, "Classify image files")
        self.open_folder_action = self._action(
            "Open &Folder…", self.open_folder, "Ctrl+Shift+O", "Classify every image in a folder and its sub-folders"
        )
        self.paste_action = self._action("&Paste Image", self.paste, K.Paste, "Classify the image on the clipboard")
        self.samples_action = self._action(
            "Try &Sample Images", self.try_samples, None, "Classify a few photos that ship with the app"
        )
        self.export_action = self._action(
            "&Export Results…", self.export_results, "Ctrl+E", "Save the table as CSV or JSON"
        )
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc", "Stop classifying; keep what is done")
        self.clear_action = self._action("C&lear Results", self.clear_results, None)
        self.quit_action = self._action("&Quit", self.close, K.Quit)
        self.about_action = self._action("&About ResNet Desktop", self.show_about)
        self.open_model_action = self._action(
            "Open &Model File…", self.choose_model_file, None, "Use a .safetensors/.pth file or a fine-tuned model"
        )
        self.finetune_action = self._action("&Fine-tune New Classifier…", self.open_finetune)
        self.cancel_action.setEnabled(False)
        self.export_action.setEnabled(False)

    def _build_widgets(self) -> None:
        self.toolbar = ModelToolbar(self)
        self.toolbar.setMovable(False)
        self.toolbar.set_spec(self._spec)
        self.toolbar.set_device_choice(self._device)
        self.toolbar.topk_spin.setValue(self.settings.topk())
        self.toolbar.modelChosen.connect(self._on_model_chosen)
        self.toolbar.deviceChosen.connect(self._on_device_chosen)
        self.toolbar.topkChanged.connect(self.settings.set_topk)
        self.toolbar.openModelFile.connect(self.choose_model_file)
        self.addToolBar(self.toolbar)

        self.banner = Banner()
        self.results_panel = ResultsPanel(self.results)
        self.results_panel.filter_edit.setAcceptDrops(False)
        self.results_panel.current_changed.connect(self._on_current_row)
        self.empty_state = EmptyState([self.open_images_action, self.open_folder_action, self.samples_action])
        self.left = QStackedWidget()
        self.left.addWidget(self.empty_state)
        self.left.addWidget(self.results_panel)
        self.preview = PreviewPanel(self.thumbnails)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.preview, "Preview")
        self.feature_panel = None
        feature_cls = _optional("resnet_desktop.gui.explain.panel", "FeaturePanel")
        if feature_cls is not None:
            try:
                self.feature_panel = feature_cls(self)
                # In a scroll area so its minimum size never forces the whole window wider.
                scroll = QScrollArea()
                scroll.setWidgetResizable(True)
                scroll.setFrameShape(QScrollArea.Shape.NoFrame)
                scroll.setWidget(self.feature_panel)
                self.side_tabs.addTab(scroll, "Features")
                self.side_tabs.currentChanged.connect(self._make_room_for_tab)
            except Exception:
                logger.exception("The feature panel could not be created")
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

        self.status = StatusBar(self)
        self.status.cancel_button.clicked.connect(self.cancel)
        self.setStatusBar(self.status)
        self.status.set_message("Starting…")

    def _make_room_for_tab(self, index: int) -> None:
        """Widen the side panel (up to 60 % of the window) when a tab needs more than it has."""
        widget = self.side_tabs.widget(index)
        inner = widget.widget() if isinstance(widget, QScrollArea) else widget
        if inner is None:
            return
        left, right = self.splitter.sizes()
        total = left + right
        wanted = min(inner.minimumSizeHint().width() + 24, int(total * 0.6))
        if wanted > right:
            self.splitter.setSizes([total - wanted, wanted])

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_images_action, self.open_folder_action, self.paste_action])
        self.recent_menu = QMenu("Open &Recent", self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.samples_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.results_panel.copy_action)
        edit_menu.addAction(self.results_panel.show_in_folder_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.cancel_action)
        edit_menu.addAction(self.clear_action)
        model_menu = bar.addMenu("&Model")
        model_menu.addAction(self.open_model_action)
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(self.finetune_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        self._refresh_recent()

    def _connect_service(self) -> None:
        s = self.service
        s.stage.connect(self.status.set_message)
        s.catalogReady.connect(self._on_catalog)
        s.loadProgress.connect(self._on_load_progress)
        s.modelReady.connect(self._on_model_ready)
        s.modelFailed.connect(self._on_model_failed)
        s.jobQueued.connect(self._on_job_queued)
        s.jobStarted.connect(self._on_job_started)
        s.jobTotal.connect(self._on_job_total)
        s.predictions.connect(self._on_predictions)
        s.jobProgress.connect(self._on_job_progress)
        s.jobFinished.connect(self._on_job_finished)
        s.jobFailed.connect(self._on_job_failed)
        s.busyChanged.connect(self._on_busy)
        self.results.rowsInserted.connect(self._on_rows_changed)
        self.results.modelReset.connect(self._on_rows_changed)

    def _restore(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 720)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.splitter_state()
        if splitter is None or not self.splitter.restoreState(splitter):
            self.splitter.setSizes([700, 480])

    # -- start-up and model --------------------------------------------------------------------

    def start(self) -> None:
        """Begin importing torch and loading the model in the worker (call after ``show()``)."""
        self.status.set_message("Loading PyTorch…")
        self.status.set_busy("Starting…")
        self.service.start()
        self._load(self._spec)

    def _load(self, spec: ModelSpec) -> None:
        self._spec = spec
        self.model_info = None
        self.status.set_model_text("")
        self.status.set_busy(f"Loading {spec.describe()}…")
        self.service.load(spec, self._device)

    def set_model(self, spec: ModelSpec, device: str | None = None) -> None:
        """Switch to ``spec`` (and ``device``): running work is cancelled, the choice remembered."""
        if device is not None:
            self._device = device
            self.settings.set_device(device)
            self.toolbar.set_device_choice(device)
        self.settings.set_model_spec(spec)
        self.toolbar.set_spec(spec)
        self._offer_rerun = self.results.rowCount() > 0
        if self.service.busy:
            self.service.cancel_all()
        self.banner.hide()
        self._load(spec)

    def _on_model_chosen(self, spec: ModelSpec) -> None:
        self.set_model(spec)

    def _on_device_chosen(self, device: str) -> None:
        self.set_model(self._spec, device)

    def _on_catalog(self, catalog: Catalog) -> None:
        self.toolbar.set_catalog(catalog)
        self.toolbar.set_spec(self._spec)

    def _on_load_progress(self, done: int, total: int) -> None:
        mb = 1024 * 1024
        if total > 0:
            self.status.set_message(f"Downloading weights: {done / mb:.1f} of {total / mb:.1f} MB")
            self.status.set_busy(f"{100 * done // total} %", 1000, int(1000 * done / total))
        else:
            self.status.set_message(f"Downloading weights: {done / mb:.1f} MB")
        self.cancel_action.setEnabled(True)  # Esc / Cancel stop the download
        self.status.show_cancel(True)

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.model_info = info
        self._on_busy(self.service.busy)
        self.toolbar.set_spec(info.spec)
        self.status.set_model_text(f"{info.source} · {info.device_name}")
        self.status.set_message(f"Ready: {info.source} on {info.device_name}. Drop images to classify.")
        if not self.service.busy:
            self.status.set_idle()
        if self.feature_panel is not None:
            try:
                self.feature_panel.set_model(info.loaded)
            except Exception:
                logger.exception("The feature panel rejected the model")
        if info.notices:
            self.banner.show_message("Note", "\n".join(info.notices), level="info")
        elif self._offer_rerun:
            count = len(self.results.paths())
            self.banner.show_message(
                "Model changed",
                f"The {count} images in the table were classified with the previous model.",
                [(RERUN, self.rerun)],
                level="info",
            )
        self._offer_rerun = False
        self.modelReady.emit(info)

    def _on_model_failed(self, message: str, kind: str) -> None:
        self.status.set_idle()
        self._on_busy(self.service.busy)
        self.status.set_model_text("No model")
        if kind == "device":
            self.status.set_message("No model loaded: the chosen device is not available.")
            self.banner.show_message("The device is not available", message, [(USE_AUTO_DEVICE, self.use_auto_device)])
            return
        if kind == "cancelled":
            self.status.set_message("Model loading cancelled.")
            self.banner.show_message(
                "No model loaded",
                message,
                [(CHOOSE_WEIGHTS, self.choose_weights_file), (RETRY, self.retry)],
                level="info",
            )
            return
        if kind == "weights":
            title = "The model weights are not available"
            self.status.set_message("No model loaded: weights are missing. Choose a weights file or retry.")
        else:
            title = "The model could not be loaded"
            self.status.set_message("No model loaded.")
        self.banner.show_message(title, message, [(CHOOSE_WEIGHTS, self.choose_weights_file), (RETRY, self.retry)])

    def use_auto_device(self) -> None:
        self.set_model(self._spec, "auto")

    def retry(self) -> None:
        self.banner.hide()
        self._load(self._spec)

    def choose_weights_file(self) -> None:
        """A weights file for the current architecture (or one of our model files)."""
        path = dialogs.ask_model_file(self)
        if path is not None:
            arch = self._spec.arch or (self.service.catalog.default_arch if self.service.catalog else None)
            self.set_model(ModelSpec(arch=arch, weights=str(path)))

    def choose_model_file(self) -> None:
        self.choose_weights_file()

    def rerun(self) -> None:
        """Classify the files in the table again with the current model."""
        paths = self.results.paths()
        self.banner.hide()
        self.results.clear()
        if paths:
            self.classify(paths, remember=False)

    # -- input ---------------------------------------------------------------------------------

    def classify(self, paths: list[Path], *, remember: bool = True) -> Job | None:
        """Queue ``paths`` (files and/or folders) behind any running job."""
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        if remember:
            for path in paths:
                if path.is_dir():
                    self.settings.add_recent_folder(path)
            self._refresh_recent()
        self.left.setCurrentWidget(self.results_panel)
        return self.service.classify(paths, self.toolbar.topk())

    def open_images(self) -> None:
        files = dialogs.ask_images(self, self._start_folder())
        if files:
            self.classify(files)

    def open_folder(self) -> None:
        folder = dialogs.ask_folder(self, self._start_folder())
        if folder is not None:
            self.classify([folder])

    def _start_folder(self) -> str:
        recent = self.settings.recent_folders()
        return recent[0] if recent else str(Path.home())

    def try_samples(self) -> None:
        from resnet_desktop.resources import sample_images

        self.classify(sample_images(), remember=False)

    def paste(self) -> None:
        """Classify the clipboard's image (saved as PNG in the cache dir) or its copied files."""
        mime = QGuiApplication.clipboard().mimeData()
        files = local_paths(mime)
        if files:
            self.classify(files)
            return
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.status.set_message("The clipboard holds no image or files to classify.")
            return
        try:
            path = dialogs.save_pasted_image(image, paste_folder())
        except (OSError, OutputError) as exc:
            self.banner.show_message("Could not paste the image", str(exc))
            return
        self.classify([path], remember=False)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        folders = self.settings.recent_folders()
        for folder in folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.classify([Path(f)]))
        if folders:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        self.recent_menu.setEnabled(bool(folders))

    def _clear_recent(self) -> None:
        self.settings.clear_recent_folders()
        self._refresh_recent()

    # -- drag and drop -------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            busy = " (queued after the current job)" if self.service.busy else ""
            noun = "item" if len(paths) == 1 else "items"
            self.drop_overlay.show_over(f"Drop {len(paths)} {noun} to classify{busy}")
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.classify(paths)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self.drop_overlay.setGeometry(self.centralWidget().rect())

    # -- jobs ----------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Esc: stop the running job (keeping what is done) and drop queued ones; or stop a download."""
        if self.service.busy:
            self.service.cancel_all()
            self.status.set_message("Cancelling… finished results are kept.")
        elif self.service.cancel_load():
            self.status.set_message("Cancelling the model download…")

    def clear_results(self) -> None:
        self.results.clear()
        self.preview.show_row(None)

    def _queued_count(self) -> int:
        return len(self.service.queue)

    def _on_job_queued(self, job: Job) -> None:
        if self.model_info is None and self.service.is_loading:
            self.status.set_message("Files queued: they will be classified once the model is ready.")
        elif self.model_info is None:
            self.status.set_message("Files queued: choose a model (see the banner above) to classify them.")

    def _on_job_started(self, job: Job, total: int) -> None:
        self._job_started_at[job.id] = time.monotonic()
        self._job_done[job.id] = 0
        self._show_job_progress(job, 0, 0.0)
        self.status.set_message("Classifying… (Esc cancels; finished results are kept)")

    def _on_job_total(self, job: Job, total: int) -> None:
        if job is self.service.current_job:
            self._show_job_progress(job, self._job_done.get(job.id, 0), self._job_rate.get(job.id, 0.0))

    def _on_predictions(self, job: Job, predictions: list) -> None:
        self.results.append_predictions(predictions)

    def _on_job_progress(self, job: Job, progress: Any) -> None:
        if job is not self.service.current_job:
            return
        self._job_failed[job.id] = progress.failed
        self._job_done[job.id] = progress.done
        self._job_rate[job.id] = progress.images_per_second
        self._show_job_progress(job, progress.done, progress.images_per_second)

    def _show_job_progress(self, job: Job, done: int, rate: float) -> None:
        """done/total with images/s and ETA; a busy bar until the file count is known."""
        total = job.total
        text = progress_text(done, total, rate, self._queued_count())
        self.status.set_busy(text, max(total, 1) if total is not None else 0, min(done, total or 0))

    def _on_job_finished(self, job: Job, cancelled: bool) -> None:
        started = self._job_started_at.pop(job.id, None)
        if started is None:
            return  # dropped from the queue before it began
        elapsed = time.monotonic() - started
        failed = self._job_failed.pop(job.id, 0)
        done = self._job_done.pop(job.id, 0)
        self._job_rate.pop(job.id, None)
        if cancelled:
            self.status.set_message(f"Cancelled. {self.results.rowCount()} results kept.")
        else:
            self.status.set_message(
                f"Classified {done} files in {elapsed:.1f} s" + (f" ({failed} could not be read)." if failed else ".")
            )

    def _on_job_failed(self, job: Job, message: str) -> None:
        for per_job in (self._job_started_at, self._job_failed, self._job_done, self._job_rate):
            per_job.pop(job.id, None)
        self.banner.show_message("Classification stopped", message)

    def _on_busy(self, busy: bool) -> None:
        self.cancel_action.setEnabled(busy)
        self.status.show_cancel(busy)
        if not busy and not self.service.is_loading:
            self.status.set_idle()

    def _on_rows_changed(self, *_args: object) -> None:
        has_rows = self.results.rowCount() > 0
        self.export_action.setEnabled(has_rows)
        if has_rows and self.left.currentWidget() is not self.results_panel:
            self.left.setCurrentWidget(self.results_panel)
        if has_rows and self.results_panel.current_row() is None:
            self.results_panel.select_row(0)

    def _on_current_row(self, row: Prediction | None) -> None:
        self.preview.show_row(row)
        if self.feature_panel is not None and row is not None and row.ok:
            try:
                self.feature_panel.set_image(row.path)
            except Exception:
                logger.exception("The feature panel rejected %s", row.path)

    # -- export, tools, about ------------------------------------------------------------------

    def export_results(self, path: Path | None = None) -> Path | None:
        """Write the visible rows (filtered, in display order) to CSV or JSON."""
        rows = self.results_panel.proxy.visible_rows()
        if not rows:
            return None
        if path is None:
            path = dialogs.ask_export_path(self, str(Path(self._start_folder()) / "results.csv"))
            if path is None:
                return None
        try:
            export(path, rows)
        except OutputError as exc:
            self.banner.show_message("Export failed", str(exc))
            return None
        self.status.set_message(f"Exported {len(rows)} rows to {path}")
        return path

    def open_finetune(self) -> QWidget | None:
        """Tools > Fine-tune: the wizard's saved model becomes the window's model."""
        wizard_cls = _optional("resnet_desktop.gui.finetune.wizard", "FineTuneWizard")
        if wizard_cls is None:
            QMessageBox.information(self, "Fine-tune", "Fine-tuning is not available in this build.")
            return None
        if self._wizard is not None:
            self._wizard.raise_()
            self._wizard.activateWindow()
            return self._wizard
        loaded = self.model_info.loaded if self.model_info else None
        wizard = wizard_cls(self, current_loaded_model=loaded)
        wizard.modelReady.connect(self.use_model_file)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.destroyed.connect(self._forget_wizard)
        self._wizard = wizard
        wizard.show()
        return wizard

    def _forget_wizard(self, *_args: object) -> None:
        self._wizard = None

    def use_model_file(self, path: str) -> None:
        """Switch to a model file (e.g. the one the fine-tune wizard just saved)."""
        self.set_model(ModelSpec(arch=None, weights=str(path)))

    def show_about(self) -> None:
        catalog = self.service.catalog
        versions = {k: v for k, v in (catalog.versions if catalog else {}).items() if k in ("torch", "torchvision")}
        device = self.model_info.device_name if self.model_info else ""
        dialogs.show_about(self, versions, device)

    # -- shutdown ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout, cancel running work and wait for the worker threads to end."""
        if not self._closing:
            self._closing = True
            self.settings.save_window(self.saveGeometry(), self.saveState(), self.splitter.saveState())
            self.settings.sync()
            # Waiting for workers can take a while (a download blocked in a socket read only sees
            # the cancel when the read returns): hide first so the person never sees a frozen window.
            self.hide()
            if self._wizard is not None:
                self._wizard.close()  # the wizard cancels and waits for its own threads
            self.service.shutdown()
            self.thumbnails.shutdown()
            shutdown = getattr(self.feature_panel, "shutdown", None)
            if callable(shutdown):
                shutdown()
        event.accept()


def paste_folder() -> Path:
    """Where pasted clipboard images are saved: the app's cache dir (never the user's files)."""
    from platformdirs import user_cache_path

    return user_cache_path("resnet-desktop", appauthor=False) / "pasted"
