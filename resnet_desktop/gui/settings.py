"""Typed access to the QSettings the app remembers between runs.

One small class so that keys and defaults live in one place, and tests can hand the window
a QSettings that points at a temporary file instead of the user's real configuration.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtWidgets import QMainWindow, QSplitter

from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.models.ref import V1_SUFFIX, ModelRef, looks_like_file

ORGANIZATION = "ResNet Desktop"
APPLICATION = "ResNet Desktop"
MAX_RECENT = 8
#: The engine backends the Backend setting offers (``core.inference.backends.BACKENDS``, torch-free here).
BACKENDS = ("auto", "torch", "onnxruntime")


class AppSettings:
    """Model, device, top-k, window geometry, splitter state and recent folders."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)

    # -- model and device -------------------------------------------------------------------

    def model_ref(self) -> ModelRef:
        """The remembered model; the default one when nothing (or something unreadable) was saved."""
        arch = self.qsettings.value("model/arch", None)
        weights = self.qsettings.value("model/weights", None)
        arch_text = str(arch) if arch else None
        weights_text = str(weights) if weights else None
        if weights_text and looks_like_file(weights_text) and not (arch_text or "").endswith(V1_SUFFIX):
            arch_text = None  # a file's own architecture is detected when it loads
        try:
            return ModelRef.parse(arch_text, weights_text)
        except WeightsError:  # a name an older or newer version saved
            return ModelRef()

    def set_model_ref(self, ref: ModelRef) -> None:
        for key, value in (("model/arch", ref.arch), ("model/weights", ref.weights_or_file)):
            if value:
                self.qsettings.setValue(key, value)
            else:
                self.qsettings.remove(key)

    def device(self) -> str:
        return str(self.qsettings.value("model/device", "auto") or "auto")

    def set_device(self, device: str) -> None:
        self.qsettings.setValue("model/device", device)

    def topk(self) -> int:
        try:
            return max(1, min(20, int(str(self.qsettings.value("model/topk", 5)))))
        except (TypeError, ValueError):
            return 5

    def set_topk(self, topk: int) -> None:
        self.qsettings.setValue("model/topk", int(topk))

    # -- look -------------------------------------------------------------------------------

    def color_scheme(self) -> str:
        """ "system", "light" or "dark" (View > Theme)."""
        value = str(self.qsettings.value("view/color_scheme", "system") or "system")
        return value if value in ("system", "light", "dark") else "system"

    def set_color_scheme(self, scheme: str) -> None:
        self.qsettings.setValue("view/color_scheme", scheme)

    def backend(self) -> str:
        """What runs the model: "auto", "torch" or "onnxruntime" (Model > Backend).

        "auto" by default: PyTorch on a GPU, on the CPU the backend measured faster for the
        architecture on this machine (measured once; later starts skip torch when it is ONNX Runtime).
        """
        value = str(self.qsettings.value("model/backend", "auto") or "auto")
        return value if value in BACKENDS else "auto"

    def set_backend(self, backend: str) -> None:
        self.qsettings.setValue("model/backend", backend)

    def fast_mode(self) -> bool:
        """The opt-in int8 model on ONNX Runtime (Model > Backend > Fast Mode)."""
        return str(self.qsettings.value("model/fast", "false")).lower() == "true"

    def set_fast_mode(self, fast: bool) -> None:
        self.qsettings.setValue("model/fast", "true" if fast else "false")

    # -- window -----------------------------------------------------------------------------

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key, None)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def splitter_state(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    def save_window(self, window: QMainWindow, splitter: QSplitter) -> None:
        self.qsettings.setValue("window/geometry", window.saveGeometry())
        self.qsettings.setValue("window/state", window.saveState())
        self.qsettings.setValue("window/splitter", splitter.saveState())

    def restore_window(self, window: QMainWindow, splitter: QSplitter) -> None:
        """Size, toolbar state and splitter as they were; a first start gets a size that fits 1280x800."""
        from resnet_desktop.gui.common.screen_fit import fit_window, keep_on_screen

        geometry = self.geometry()
        if geometry is None or not window.restoreGeometry(geometry):
            fit_window(window, QSize(1180, 720))  # at most the screen's free area, on it
        else:
            keep_on_screen(window)  # remembered on a bigger monitor: back inside this screen
        state = self.window_state()
        if state is not None:
            window.restoreState(state)
        sizes = self.splitter_state()
        if sizes is None or not splitter.restoreState(sizes):
            splitter.setSizes([700, 480])

    # -- recent folders ---------------------------------------------------------------------

    def recent_folders(self) -> list[str]:
        value = self.qsettings.value("recent/folders", [])
        if isinstance(value, str):  # QSettings returns a bare string for one-element lists
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [str(v) for v in value if v]

    def add_recent_folder(self, folder: str | Path) -> list[str]:
        """Move ``folder`` to the front of the list (most recent first, without duplicates)."""
        text = str(Path(folder))
        folders = [text, *(f for f in self.recent_folders() if f != text)][:MAX_RECENT]
        self.qsettings.setValue("recent/folders", folders)
        return folders

    def clear_recent_folders(self) -> None:
        self.qsettings.remove("recent/folders")

    def sync(self) -> None:
        self.qsettings.sync()
