"""The Tools menu's own windows (fine-tune wizard, model lab, teach): one of each, raised when reopened."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common.model_service import ModelInfo
from resnet_desktop.gui.finetune.wizard import FineTuneWizard
from resnet_desktop.gui.settings import AppSettings

if TYPE_CHECKING:  # the lab pulls in pyqtgraph: imported when first opened, not at start-up
    from resnet_desktop.core.inference.api import Prediction
    from resnet_desktop.gui.evaluate.window import ModelLabWindow
    from resnet_desktop.gui.teach.window import TeachWindow


class ToolWindows(QObject):
    """Opens the wizard and the model lab for ``window``; closes them (waiting for their threads)."""

    def __init__(
        self,
        window: QWidget,
        settings: AppSettings,
        model_info: Callable[[], ModelInfo | None],
        use_model_file: Callable[[str | Path], None],
        organize_rows: Callable[[Sequence[Prediction]], object] | None = None,
        keyword_rows: Callable[[Sequence[Prediction]], object] | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._settings = settings
        self._model_info = model_info
        self._use_model_file = use_model_file
        self._organize_rows = organize_rows
        self._keyword_rows = keyword_rows
        self.wizard: FineTuneWizard | None = None
        self.lab: ModelLabWindow | None = None
        self.teach: TeachWindow | None = None

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

    def open_teach(self) -> TeachWindow:
        """Tools > Teach Your Own Classes: label sets on the library; new sets start from the window's
        model; "Organize by These Classes" and "Write Keywords" open the organize room's dialogs with
        the set's answers."""
        if self.teach is None:
            from resnet_desktop.gui.teach.window import TeachWindow

            def base() -> ModelRef | None:
                info = self._model_info()
                return info.ref if info is not None else None

            teach = TeachWindow(base, self._window)
            if self._organize_rows is not None:
                teach.organizeRequested.connect(self._organize_rows)
            if self._keyword_rows is not None:
                teach.keywordsRequested.connect(self._keyword_rows)
            teach.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # closed, its worker is gone: a new one next time
            teach.destroyed.connect(self._forget_teach)
            self.teach = teach
        self.teach.show()
        self.teach.raise_()
        self.teach.activateWindow()
        return self.teach

    def _forget_teach(self, *_args: object) -> None:
        self.teach = None

    def close_all(self) -> bool:
        """Close them all; False if the wizard stays open (its "save the trained model?" was cancelled)."""
        if self.wizard is not None and not self.wizard.close():  # it cancels and waits for its threads
            return False
        if self.lab is not None:
            self.lab.close()
        if self.teach is not None:
            self.teach.close()  # cancels its refit or embedding; every label written stays
        return True
