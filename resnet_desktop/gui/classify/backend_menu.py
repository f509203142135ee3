"""Model > Backend: what runs the model (Auto / PyTorch / ONNX Runtime, and the int8 Fast Mode), and why.

The menu never contradicts itself: the one rule (``core.inference.api.menu_state``) turns Fast Mode
off when PyTorch is chosen (the int8 model only runs on ONNX Runtime) and moves PyTorch to Auto when
Fast Mode is turned on, saying so. Its first line is what really runs the loaded model and why
("Running: ONNX Runtime, fp32 (auto: measured ...)"), and Fast Mode shows its gate figure once it has
one; a Fast Mode the gate refused is unticked (the model runs fp32 and the banner says why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSignalBlocker, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from resnet_desktop.core.inference.api import menu_state
from resnet_desktop.gui.settings import BACKENDS, AppSettings

if TYPE_CHECKING:
    from resnet_desktop.gui.common.model_service import ModelInfo, ModelService
    from resnet_desktop.gui.common.status import StatusBar

BACKEND_LABELS = {
    "auto": "&Auto (fastest measured on this machine)",
    "torch": "&PyTorch",
    "onnxruntime": "&ONNX Runtime",
}
FAST_LABEL = "&Fast Mode (int8, ONNX Runtime)"
RUNNING_LABELS = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime", "onnxruntime int8": "ONNX Runtime, Fast Mode int8"}
NOTHING_RUNNING = "Running: no model yet"


def plain_label(text: str) -> str:
    """A menu label without its mnemonic ampersand."""
    return text.replace("&", "")


class BackendMenu(QObject):
    """Owns Model > Backend: the remembered choice, what runs, and reloading when it changes."""

    def __init__(
        self,
        window: QWidget,
        settings: AppSettings,
        service: ModelService,
        status: StatusBar,
        reload: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.settings, self.service, self.status, self.reload = settings, service, status, reload
        self.menu = QMenu("&Backend", window)
        self.running_action = self.menu.addAction(NOTHING_RUNNING)
        self.running_action.setEnabled(False)  # information, not a choice
        self.menu.addSeparator()
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name in BACKENDS:
            action = self.menu.addAction(BACKEND_LABELS[name])
            action.setCheckable(True)
            action.setData(name)
            self.group.addAction(action)
            self.actions[name] = action
        self.menu.addSeparator()
        self.fast_action = self.menu.addAction(FAST_LABEL)
        self.fast_action.setCheckable(True)
        self.fast_action.setStatusTip(
            "The int8 model on ONNX Runtime, calibrated on your photos and used only if it gives the same "
            "answers as fp32 on at least 98% of 100 or more other photos of yours"
        )
        self._apply_settings()
        self.group.triggered.connect(self._on_backend)
        self.fast_action.toggled.connect(self._on_fast)
        service.modelReady.connect(self._on_model_ready)

    # -- settings -> menu and service ------------------------------------------------------------

    def _apply_settings(self) -> None:
        """The remembered choice, made consistent (an old settings file may hold PyTorch + Fast Mode)."""
        backend, fast = menu_state(self.settings.backend(), self.settings.fast_mode(), changed="backend")
        if (backend, fast) != (self.settings.backend(), self.settings.fast_mode()):
            self.settings.set_backend(backend)
            self.settings.set_fast_mode(fast)
        with QSignalBlocker(self.group), QSignalBlocker(self.fast_action):
            self.actions[backend].setChecked(True)
            self.fast_action.setChecked(fast)
        self.service.backend = backend
        self.service.precision = "fast" if fast else "fp32"

    def describe(self) -> str:
        backend = plain_label(BACKEND_LABELS[self.settings.backend()])
        return f"{backend}, Fast Mode int8" if self.settings.fast_mode() else backend

    def _on_backend(self, action: QAction) -> None:
        chosen = str(action.data())
        backend, fast = menu_state(chosen, self.settings.fast_mode(), changed="backend")
        note = (
            " Fast Mode is off: the int8 model runs only on ONNX Runtime." if fast != self.settings.fast_mode() else ""
        )
        self.settings.set_backend(backend)
        self.settings.set_fast_mode(fast)
        self._changed(note)

    def _on_fast(self, checked: bool) -> None:
        backend, fast = menu_state(self.settings.backend(), checked, changed="fast")
        note = " The backend is now Auto: Fast Mode runs on ONNX Runtime." if backend != self.settings.backend() else ""
        self.settings.set_backend(backend)
        self.settings.set_fast_mode(fast)
        self._changed(note)

    def _changed(self, note: str = "") -> None:
        before = (self.service.backend, self.service.precision)
        self._apply_settings()
        what = self.describe()
        if self.service.model is None and not self.service.is_loading:
            self.status.set_message(f"Backend: {what}. It applies to the next model that is loaded.{note}")
        elif (self.service.backend, self.service.precision) == before:
            self.status.set_message(f"Backend: {what} (already in use).{note}")
        else:
            self.reload()
            # After the reload's own "Loading…" message, so the person sees which backend it loads on.
            self.status.set_message(f"Reloading the model on {what}…{note}")

    # -- what runs ---------------------------------------------------------------------------------

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.running_action.setText(f"Running: {info.running or RUNNING_LABELS.get(info.backend, info.backend)}")
        figure = f" — {info.fast_figure}" if info.fast_figure else ""
        self.fast_action.setText(FAST_LABEL + figure)
        if info.fast_refused and self.settings.fast_mode():
            self.settings.set_fast_mode(False)  # refused: the model runs fp32 (the banner says why)
            self._apply_settings()
        # After the model control has written the status text (it is connected after us).
        QTimer.singleShot(0, self, lambda: self._show_backend(info))  # never after we are gone

    def _show_backend(self, info: ModelInfo) -> None:
        """Say in the menu title and the status bar what runs the model when it is not PyTorch."""
        label = RUNNING_LABELS.get(info.backend, info.backend)
        self.menu.setTitle(f"&Backend ({label})")
        if info.backend != "torch" and self.service.model is info:
            self.status.set_model_text(f"{self.status.model_label.toolTip()} · {label}")
