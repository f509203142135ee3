"""Choosing, loading and reporting on the model: the toolbar's choices, the banner's advice.

``ModelControl`` owns which model and device the window wants, asks the service to load them,
remembers the choice, and turns load failures into a banner with the actions that fit
(choose a weights file, retry, use the automatic device).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from resnet_desktop.core.errors import CancelledError, DeviceError, ResNetDesktopError, WeightsMissingError, describe
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.classify.toolbar import ModelToolbar
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.model_service import Catalog, ModelInfo, ModelService
from resnet_desktop.gui.common.status import StatusBar
from resnet_desktop.gui.settings import AppSettings

RETRY = "Retry"
#: Banner topic: the PyTorch copy (feature maps, Grad-CAM, export) could not be loaded.
TORCH_COPY = "torch-copy"
CHOOSE_WEIGHTS = "Choose weights file…"
RERUN = "Re-run"
#: The banner topic "the table holds rows of the previous model" (withdrawn once it is no longer true).
STALE_ROWS = "stale-rows"
USE_AUTO_DEVICE = "Use automatic device"


class ModelControl(QObject):
    """The window's model: what is wanted, what is loaded, and what to tell the person."""

    #: A model is ready (after start-up, a switch, or "Choose weights file…").
    modelReady = Signal(ModelInfo)

    def __init__(
        self,
        window: QWidget,
        service: ModelService,
        settings: AppSettings,
        toolbar: ModelToolbar,
        status: StatusBar,
        banner: Banner,
        *,
        ref: ModelRef,
        device: str,
        table_paths: Callable[[], list[Path]],
        rerun: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        self.settings = settings
        self.toolbar = toolbar
        self.status = status
        self.banner = banner
        self.ref = ref
        self.device = device
        self.info: ModelInfo | None = None
        self._table_paths = table_paths
        self._rerun = rerun
        self._offer_rerun = False
        toolbar.set_ref(ref)
        toolbar.set_device_choice(device)
        toolbar.modelChosen.connect(self.set_model)
        toolbar.deviceChosen.connect(lambda chosen: self.set_model(self.ref, chosen))
        toolbar.openModelFile.connect(self.choose_weights_file)
        service.stage.connect(status.set_message)
        service.catalogReady.connect(self._on_catalog)
        service.loadProgress.connect(self._on_load_progress)
        service.modelReady.connect(self._on_ready)
        service.torchModelReady.connect(self._on_torch_ready)
        service.torchModelFailed.connect(self._on_torch_failed)
        service.modelFailed.connect(self._on_failed)

    def start(self) -> None:
        """Begin importing torch and loading the model on the service's thread."""
        self.status.set_message("Loading PyTorch…")
        self.status.set_busy("Starting…")
        self.service.start()
        self._load(self.ref)

    def _load(self, ref: ModelRef) -> None:
        self.ref = ref
        self.info = None
        self.status.set_model_text("")
        self.status.set_busy(f"Loading {ref.describe()}…")
        self.service.load(ref, self.device)

    def set_model(self, ref: ModelRef, device: str | None = None) -> None:
        """Switch to ``ref`` (and ``device``): running work is cancelled, the choice remembered."""
        if device is not None:
            self.device = device
            self.settings.set_device(device)
            self.toolbar.set_device_choice(device)
        self.toolbar.set_ref(ref)
        self._offer_rerun = bool(self._table_paths())
        # The running job used the old model: stop it. Queued files wait for the new one.
        self.service.cancel_running()
        self.banner.hide()
        self._load(ref)

    def use_model_file(self, path: str | Path) -> None:
        """Switch to a model file (e.g. the one the fine-tune wizard just saved)."""
        self.set_model(ModelRef(file=Path(path)))

    def use_auto_device(self) -> None:
        self.set_model(self.ref, "auto")

    def retry(self) -> None:
        self.banner.hide()
        self._load(self.ref)

    def choose_weights_file(self) -> None:
        """A weights file of any ResNet, or one of our model files: its architecture is detected."""
        path = dialogs.ask_model_file(self.window)
        if path is not None:
            self.set_model(ModelRef(file=Path(path)))

    # -- service reports -----------------------------------------------------------------------

    def _on_catalog(self, catalog: Catalog) -> None:
        self.toolbar.set_catalog(catalog)
        self.toolbar.set_ref(self.ref)

    def _on_load_progress(self, done: int, total: int) -> None:
        mb = 1024 * 1024
        if total > 0:
            self.status.set_message(f"Downloading weights: {done / mb:.1f} of {total / mb:.1f} MB")
            self.status.set_busy(f"{100 * done // total} %", 1000, int(1000 * done / total))
        else:
            self.status.set_message(f"Downloading weights: {done / mb:.1f} MB")
        self.status.show_cancel(True)  # Esc / Cancel stop the download

    def _on_ready(self, info: ModelInfo) -> None:
        self.info = info
        self.banner.withdraw(TORCH_COPY)  # it was about the previous model
        self.settings.set_model_ref(self.ref)  # only a model that loaded is remembered
        self.toolbar.set_ref(info.ref)
        self.status.set_model_text(f"{info.source} · {info.device_name}")
        self.status.set_message(f"Ready: {info.source} on {info.device_name}. Drop images to classify.")
        if not self.service.busy:
            self.status.set_idle()
        if info.notices:
            self.banner.show_message("Note", "\n".join(info.notices), level="info")
        elif self._offer_rerun:
            count = len(self._table_paths())
            self.banner.show_message(
                "Model changed",
                f"The {count} images in the table were classified with the previous model.",
                [(RERUN, self._rerun)],
                level="info",
                topic=STALE_ROWS,
            )
        self._offer_rerun = False
        self.modelReady.emit(info)

    def _on_torch_ready(self, info: ModelInfo) -> None:
        # Replaces "Loading … for this view…", which would otherwise stay after it stopped being true.
        self.status.set_message(f"Loaded {info.source} with PyTorch for feature maps, Grad-CAM and export.")
        self.banner.withdraw(TORCH_COPY)

    def _retry_torch(self) -> None:
        self.banner.withdraw(TORCH_COPY)
        self.service.request_torch_model()

    def _on_torch_failed(self, exc: BaseException) -> None:
        """Only what needs the PyTorch copy is unavailable: the model that runs is fine and stays."""
        source = self.info.source if self.info is not None else "the model"
        self.status.set_message(f"Feature maps, Grad-CAM and export are unavailable; still classifying with {source}.")
        self.banner.show_message(
            "Feature maps are unavailable",
            f"They need {source} loaded with PyTorch, which failed: {describe(exc)}\n\n"
            f"Classifying goes on with {source} as before.",
            [(RETRY, self._retry_torch)],
            topic=TORCH_COPY,
        )

    def _on_failed(self, exc: BaseException) -> None:
        self.status.set_idle()
        failed = self.ref
        if self.service.model is not None:
            self._keep_working_model(self.service.model, failed, exc)
            return
        self.status.set_model_text("No model")
        message = describe(exc)
        if isinstance(exc, DeviceError):
            self.status.set_message("No model loaded: the chosen device is not available.")
            self.banner.show_message(exc.title, message, [(USE_AUTO_DEVICE, self.use_auto_device)])
            return
        actions = [(CHOOSE_WEIGHTS, self.choose_weights_file), (RETRY, self.retry)]
        if isinstance(exc, CancelledError):
            self.status.set_message("Model loading cancelled.")
            self.banner.show_message("No model loaded", message, actions, level="info")
            return
        if isinstance(exc, WeightsMissingError):
            self.status.set_message("No model loaded: weights are missing. Choose a weights file or retry.")
        else:
            self.status.set_message("No model loaded.")
        title = exc.title if isinstance(exc, ResNetDesktopError) else "The model could not be loaded"
        self.banner.show_message(title, message, actions)

    def _keep_working_model(self, working: ModelInfo, failed: ModelRef, exc: BaseException) -> None:
        """A load failed while another model works: keep it, and say what is wrong with the new one."""
        self.info = working
        self.ref = working.ref
        if failed.file is not None:
            self.toolbar.forget_file(str(failed.file))
        self.toolbar.set_ref(working.ref)
        self.status.set_model_text(f"{working.source} · {working.device_name}")
        if isinstance(exc, CancelledError):
            self.status.set_message(f"Loading cancelled; still using {working.source}.")
            return
        self.status.set_message(f"Still using {working.source}.")
        name = failed.describe()
        self.banner.show_message(
            f"{name} cannot be used",
            f"{describe(exc)}\n\nThe model that was working ({working.source}) is still in use.",
            [(CHOOSE_WEIGHTS, self.choose_weights_file)],
        )
