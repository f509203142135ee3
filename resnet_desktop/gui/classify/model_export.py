"""Model menu: "Export Model…" (the loaded model to ONNX/TorchScript, verified) and the Backend setting.

The export runs as a background task (``gui.common.tasks``): it exports, checks the file against
PyTorch on the sample photos, and only then writes it; progress goes to the status bar, the
verification figures or the reason it was refused to the banner. The Backend choice (auto /
PyTorch / ONNX Runtime, plus the opt-in int8 "Fast Mode") is remembered and applies by reloading
the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.gui.common.model_export import ask_export_path, export_work, exported_text, model_name
from resnet_desktop.gui.common.tasks import Task, TaskRunner
from resnet_desktop.gui.settings import BACKENDS, AppSettings

if TYPE_CHECKING:
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.gui.common.banner import Banner
    from resnet_desktop.gui.common.model_service import ModelInfo, ModelService
    from resnet_desktop.gui.common.status import StatusBar

BACKEND_LABELS = {
    "auto": "&Auto (fastest measured on this machine)",
    "torch": "&PyTorch",
    "onnxruntime": "&ONNX Runtime",
}

RUNNING_LABELS = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime", "onnxruntime int8": "ONNX Runtime, Fast Mode int8"}


def plain_label(text: str) -> str:
    """A menu label without its mnemonic ampersand."""
    return text.replace("&", "")


class ModelExport(QObject):
    """Owns "Export Model…" and the Backend menu; ``exported`` carries the core's ExportResult."""

    exported = Signal(Path)  # the file written

    def __init__(
        self,
        window: QWidget,
        settings: AppSettings,
        service: ModelService,
        banner: Banner,
        status: StatusBar,
        reload: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window, self.settings, self.service = window, settings, service
        self.banner, self.status = banner, status
        self.reload = reload
        self.runner = TaskRunner(self, max_threads=1, name="export")
        self.task: Task[object, object] | None = None
        self.export_action = QAction("&Export Model…", window)
        self.export_action.setStatusTip("Save the loaded model as ONNX or TorchScript, verified against PyTorch")
        self.export_action.triggered.connect(self.export)
        window.addAction(self.export_action)
        self.backend_menu = QMenu("&Backend", window)
        self.backend_group = QActionGroup(self)
        self.backend_actions: dict[str, QAction] = {}
        for name in BACKENDS:
            action = self.backend_menu.addAction(BACKEND_LABELS[name])
            action.setCheckable(True)
            action.setData(name)
            self.backend_group.addAction(action)
            self.backend_actions[name] = action
        self.backend_menu.addSeparator()
        self.fast_action = self.backend_menu.addAction("&Fast Mode (int8, ONNX Runtime)")
        self.fast_action.setCheckable(True)
        self.fast_action.setStatusTip(
            "An int8 model calibrated on the sample photos: faster, slightly different scores"
        )
        self._apply_settings()
        self.backend_group.triggered.connect(self._on_backend)
        self.fast_action.toggled.connect(self._on_fast)
        service.modelReady.connect(self._on_model_ready)
        service.modelFailed.connect(lambda _exc: self.update())
        self.update()

    def model_info(self) -> ModelInfo | None:
        return self.service.model

    @property
    def actions(self) -> list[QAction]:
        return [self.export_action]

    def _apply_settings(self) -> None:
        backend, fast = self.settings.backend(), self.settings.fast_mode()
        self.backend_actions[backend].setChecked(True)
        self.fast_action.setChecked(fast)
        self.service.backend = "onnxruntime" if fast and backend == "torch" else backend
        self.service.precision = "fast" if fast else "fp32"

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.update()
        # After the model control has written the status text (it is connected after us).
        QTimer.singleShot(0, self, lambda: self._show_backend(info))  # never after we are gone

    def _show_backend(self, info: ModelInfo) -> None:
        """Say in the status bar which backend runs the model when it is not PyTorch (Fast Mode included)."""
        label = RUNNING_LABELS.get(info.backend, info.backend)
        self.backend_menu.setTitle(f"&Backend ({label})")
        if info.backend != "torch" and self.service.model is info:
            self.status.set_model_text(f"{self.status.model_label.toolTip()} · {label}")

    def update(self) -> None:
        self.export_action.setEnabled(self.model_info() is not None and self.task is None)

    # -- backend ---------------------------------------------------------------------------

    def _on_backend(self, action: QAction) -> None:
        self.settings.set_backend(str(action.data()))
        self._changed()

    def _on_fast(self, fast: bool) -> None:
        self.settings.set_fast_mode(fast)
        self._changed()

    def _describe(self) -> str:
        backend = plain_label(BACKEND_LABELS[self.settings.backend()])
        return f"{backend}, Fast Mode int8" if self.service.precision == "fast" else backend

    def _changed(self) -> None:
        before = (self.service.backend, self.service.precision)
        self._apply_settings()
        what = self._describe()
        if self.service.model is None and not self.service.is_loading:
            self.status.set_message(f"Backend: {what}. It applies to the next model that is loaded.")
        elif (self.service.backend, self.service.precision) == before:
            self.status.set_message(f"Backend: {what} (already in use).")
        else:
            self.reload()
            # After the reload's own "Loading…" message, so the person sees which backend it loads on.
            self.status.set_message(f"Reloading the model on {what}…")

    # -- export ----------------------------------------------------------------------------

    def export(self) -> Task[object, object] | None:
        info = self.model_info()
        if info is None or self.task is not None:
            return None
        loaded = info.loaded
        chosen = ask_export_path(self.window, model_name(loaded))  # "patterns", not "resnet18", for a fine-tune
        if chosen is None:
            return None
        path, format = chosen
        self.banner.hide()
        self.status.set_busy(f"Exporting {loaded.arch}…")
        self.task = self.runner.submit(
            lambda ctx: export_work(loaded, path, format, ctx),
            name=f"export {path.name}",
            on_progress=lambda message: self.status.set_message(str(message)),
            on_returned=self._on_exported,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )
        self.update()
        return self.task

    def _on_exported(self, result: ExportResult) -> None:
        self.status.set_message(f"Exported {result.path.name}")
        self.banner.show_message("Model exported", exported_text(result), level="info")
        self.exported.emit(result.path)

    def _on_failed(self, exc: BaseException) -> None:
        self.status.set_message("Export failed")
        self.banner.show_message("The model was not exported", describe(exc))

    def _on_finished(self) -> None:
        self.task = None
        self.status.set_idle()
        self.update()

    def shutdown(self) -> None:
        self.runner.shutdown()
