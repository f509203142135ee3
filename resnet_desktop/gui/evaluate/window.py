"""The model lab window: Evaluate (one or several models on a labeled folder) and Speed tabs.

One task runner (one thread) runs evaluations, Grad-CAM pairs and benchmarks one after another,
so timings are never disturbed by the window's own work. Closing cancels and waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

from resnet_desktop.gui.common.screen_fit import fit_window
from resnet_desktop.gui.common.tasks import TaskRunner
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.evaluate import jobs
from resnet_desktop.gui.evaluate.cam_view import CamDialog
from resnet_desktop.gui.evaluate.evaluate_panel import EvaluatePanel
from resnet_desktop.gui.evaluate.speed_panel import SpeedPanel

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import EvaluationReport, ImageResult
    from resnet_desktop.core.models.ref import LoadedModel, ModelRef
    from resnet_desktop.gui.settings import AppSettings


class CurrentModel(Protocol):
    """What the lab needs of the main window's ready model (``gui.classify``'s ``ModelInfo``)."""

    ref: ModelRef
    #: None while the model runs torch-free: the lab loads it itself.
    loaded: LoadedModel | None


_SETTINGS_KEY = "evaluate/state"


class ModelLabWindow(QMainWindow):
    """Opened from Tools > Evaluate on Labeled Folder… / Speed Benchmark… of the main window."""

    def __init__(
        self,
        settings: AppSettings,
        *,
        current: ModelRef | None = None,
        current_loaded: LoadedModel | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setWindowTitle("Model Lab — ResNet Desktop")
        self.settings = settings
        self.runner = TaskRunner(self, max_threads=1, name="model lab")
        self.thumbnails = ThumbnailLoader(self)
        self.evaluate = EvaluatePanel(self.runner, self.thumbnails)
        self.speed = SpeedPanel(self.runner)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.evaluate, "Evaluate")
        self.tabs.addTab(self.speed, "Speed")
        self.setCentralWidget(self.tabs)
        self.cam_dialog: CamDialog | None = None
        self.evaluate.camRequested.connect(self.show_cam)
        QShortcut(QKeySequence("Esc"), self, self.cancel)
        self._restore()
        if current is not None:
            if current_loaded is not None:
                self.evaluate.preloaded[current] = current_loaded
            if not self.evaluate.models.texts():
                self.evaluate.models.add_choice(current)
        fit_window(self, QSize(1100, 820), parent)  # it ran off 1024x700 and 1366x768 screens

    @classmethod
    def for_model(
        cls, settings: AppSettings, info: CurrentModel | None, forget: Callable[[], object]
    ) -> ModelLabWindow:
        """A lab that starts with the main window's current model (reused, not loaded again)."""
        current = info.ref if info else None
        lab = cls(settings, current=current, current_loaded=info.loaded if info else None)
        lab.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        lab.destroyed.connect(lambda *_: forget())
        return lab

    def show_tab(self, tab: int) -> ModelLabWindow:
        self.tabs.setCurrentIndex(tab)
        self.show()
        self.raise_()
        self.activateWindow()
        return self

    def cancel(self) -> None:
        """Esc: stop the evaluation or the benchmark that runs (whatever was finished stays)."""
        self.evaluate.cancel()
        self.speed.cancel()

    # -- Grad-CAM --------------------------------------------------------------------------------

    def show_cam(self, report: EvaluationReport, result: ImageResult) -> CamDialog | None:
        """Open (or reuse) the side-by-side dialog and compute both heatmaps in the background."""
        loaded = self.evaluate.model_for(report)
        if loaded is None:
            return None
        if self.cam_dialog is None:
            self.cam_dialog = CamDialog(self)
        dialog = self.cam_dialog
        dialog.status.show_busy(f"Computing Grad-CAM for {result.path.name}")
        dialog.show()
        dialog.raise_()
        true_name = report.rows[result.true]
        pred_name = self.evaluate.view.predicted_name(result)
        self.runner.submit(
            lambda ctx: jobs.cam_pair(ctx, loaded, result.path, result.true_index, result.pred_index),
            name="grad-cam",
            on_returned=lambda pair: dialog.show_pair(pair, true_name, pred_name),
            on_failed=dialog.show_error,
        )
        return dialog

    # -- settings and closing ----------------------------------------------------------------

    def _restore(self) -> None:
        raw = self.settings.qsettings.value(_SETTINGS_KEY, "")
        try:
            data: Any = json.loads(str(raw)) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return
        self.evaluate.restore(data.get("evaluate") or {})
        speed = data.get("speed")
        if isinstance(speed, list) and speed:
            self.speed.set_checked([str(s) for s in speed])

    def _save(self) -> None:
        data = {"evaluate": self.evaluate.remembered(), "speed": self.speed.checked()}
        self.settings.qsettings.setValue(_SETTINGS_KEY, json.dumps(data))

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save()
        self.hide()
        if self.cam_dialog is not None:
            self.cam_dialog.close()
        self.runner.shutdown()
        self.thumbnails.shutdown()
        event.accept()
