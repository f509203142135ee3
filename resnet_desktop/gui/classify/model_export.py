"""Model menu: "Export Model…" (the loaded model to ONNX fp32/fp16/int8 or TorchScript, verified) and
the Backend menu (``backend_menu``).

The export runs as a background task (``gui.common.tasks``): it exports, checks the file against
PyTorch (int8: the quality gate on the person's photos), and only then writes it; progress goes to
the status bar, the verification figures or the reason it was refused to the banner.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.core.models.ref import load
from resnet_desktop.gui.classify.backend_menu import BackendMenu
from resnet_desktop.gui.common.model_export import ask_export_path, export_work, exported_text, model_name
from resnet_desktop.gui.common.tasks import Task, TaskRunner
from resnet_desktop.gui.settings import AppSettings

if TYPE_CHECKING:
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.gui.common.banner import Banner
    from resnet_desktop.gui.common.model_service import ModelInfo, ModelService
    from resnet_desktop.gui.common.status import StatusBar


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
        self.backend = BackendMenu(window, settings, service, status, reload)
        self.backend_menu = self.backend.menu
        service.modelReady.connect(self._on_model_ready)
        service.modelFailed.connect(lambda _exc: self.update())
        self.update()

    def model_info(self) -> ModelInfo | None:
        return self.service.model

    @property
    def actions(self) -> list[QAction]:
        return [self.export_action]

    def _on_model_ready(self, _info: ModelInfo) -> None:
        self.update()

    def update(self) -> None:
        self.export_action.setEnabled(self.model_info() is not None and self.task is None)

    # -- export ----------------------------------------------------------------------------

    def export(self) -> Task[object, object] | None:
        info = self.model_info()
        if info is None or self.task is not None:
            return None
        arch = info.described.arch
        chosen = ask_export_path(self.window, model_name(info.described))  # "patterns", not "resnet18", for a fine-tune
        if chosen is None:
            return None
        path, format, precision = chosen
        self.banner.hide()
        self.status.set_busy(f"Exporting {arch}…")
        # A model running torch-free is loaded with torch on the export's own thread, only now.
        model = info.loaded if info.loaded is not None else partial(load, info.ref)
        self.task = self.runner.submit(
            lambda ctx: export_work(model, path, format, ctx, precision),
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
