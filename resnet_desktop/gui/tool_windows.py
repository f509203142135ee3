"""The Tools menu's own windows (fine-tune wizard, model lab): one of each, raised when reopened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from resnet_desktop.gui.common.model_service import ModelInfo
from resnet_desktop.gui.finetune.wizard import FineTuneWizard
from resnet_desktop.gui.settings import AppSettings

if TYPE_CHECKING:  # the lab pulls in pyqtgraph: imported when first opened, not at start-up
    from resnet_desktop.gui.evaluate.window import ModelLabWindow


class ToolWindows(QObject):
    """Opens the wizard and the model lab for ``window``; closes them (waiting for their threads)."""

    def __init__(
        self,
        window: QWidget,
        settings: AppSettings,
        model_info: Callable[[], ModelInfo | None],
        use_model_file: Callable[[str | Path], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._settings = settings
        self._model_info = model_info
        self._use_model_file = use_model_file
        self.wizard: FineTuneWizard | None = None
        self.lab: ModelLabWindow | None = None

    def open_finetune(self) -> FineTuneWizard:
        """Tools > Fine-tune: the wizard's saved model becomes the window's model."""
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return self.wizard
        info = self._model_info()
        wizard = FineTuneWizard(self._window, current_loaded_model=info.loaded if info else None)
        wizard.modelReady.connect(self._use_model_file)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.destroyed.connect(self._forget_wizard)
        self.wizard = wizard
        wizard.show()
        return wizard

    def _forget_wizard(self, *_args: object) -> None:
        self.wizard = None

    def open_model_lab(self, tab: int = 0) -> ModelLabWindow:
        """Tools > Evaluate / Speed Benchmark: one model lab window, starting with the current model."""
        if self.lab is None:
            from resnet_desktop.gui.evaluate.window import ModelLabWindow

            self.lab = ModelLabWindow.for_model(self._settings, self._model_info(), lambda: setattr(self, "lab", None))
        return self.lab.show_tab(tab)

    def close_all(self) -> bool:
        """Close both; False if the wizard stays open (its "save the trained model?" was cancelled)."""
        if self.wizard is not None and not self.wizard.close():  # it cancels and waits for its threads
            return False
        if self.lab is not None:
            self.lab.close()
        return True
