"""Background work for the feature panel: open + capture, fetch a layer, Grad-CAM.

Every job runs on the panel's own one-thread ``QThreadPool`` (so its jobs run one at a time, in
order) and reports through ``JobSignals`` with the panel's *generation* number; the panel ignores
answers from an image or model it no longer shows. Torch never runs on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Signal

logger = logging.getLogger(__name__)

#: Largest side of the photo crop shown under overlays (the network sees 224).
VIEW_SIZE = 448


class JobSignals(QObject):
    """``finished(generation, kind, payload)`` or ``failed(generation, kind, message)``."""

    finished = Signal(int, str, object)
    failed = Signal(int, str, str)


class Job(QRunnable):
    """Runs ``work()`` in a pool thread and emits its result; errors become a message, never a crash."""

    def __init__(self, signals: JobSignals, generation: int, kind: str, work: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._signals = signals
        self._generation = generation
        self._kind = kind
        self._work = work

    def run(self) -> None:
        try:
            payload = self._work()
        except Exception as exc:
            logger.debug("feature job %s failed", self._kind, exc_info=True)
            self._emit(self._signals.failed, str(exc) or type(exc).__name__)
            return
        self._emit(self._signals.finished, payload)

    def _emit(self, signal: Any, value: object) -> None:
        try:
            signal.emit(self._generation, self._kind, value)
        except RuntimeError:  # the panel was deleted while we worked
            logger.debug("feature panel gone; dropping %s result", self._kind)


@dataclass
class Prepared:
    """Everything the panel needs once an image is opened and its first layer captured."""

    path: Path
    layers: list[Any]  # list[LayerInfo]
    cache: Any  # ActivationCache
    view: np.ndarray  # (S, S, 3) uint8: the part of the photo the network sees
    probabilities: np.ndarray | None
    first_layer: str
    first_activation: np.ndarray


def prepare(loaded: Any, path: Path, first_layer: str, cancel: threading.Event, budget_bytes: int) -> Prepared:
    """Open the photo, list the layers, capture activations (bounded), and get class probabilities."""
    import torch

    from resnet_desktop.core.explain.activations import ActivationCache
    from resnet_desktop.core.explain.heatmaps import network_view
    from resnet_desktop.core.explain.hooks import image_tensor, list_layers
    from resnet_desktop.core.images import open_image

    photo = open_image(path)
    prep = loaded.preprocessing
    inputs = image_tensor(photo, prep)
    layers = list_layers(loaded.model, tuple(inputs.shape[-2:]))
    names = {layer.name for layer in layers}
    cache = ActivationCache(loaded.model, inputs, layers, budget_bytes=budget_bytes)
    first = first_layer if first_layer in names else next(layer.name for layer in layers if layer.is_spatial)
    final = [layer.name for layer in layers if "." not in layer.module][-1]
    activation = cache.get(first, also=[final], cancel=cancel)  # one forward for both
    logits = cache.get(final, cancel=cancel)
    probabilities = None
    if logits.dim() == 1 and logits.numel() == len(loaded.categories):
        probabilities = torch.softmax(logits.float(), dim=0).numpy()
    view = np.asarray(network_view(photo, prep.resize_size, prep.crop_size, output_size=VIEW_SIZE))
    return Prepared(path, layers, cache, view, probabilities, first, activation.numpy())


def fetch_layer(cache: Any, name: str, cancel: threading.Event) -> tuple[str, np.ndarray]:
    """One layer's activation for the current image (a forward only when it is not cached)."""
    return name, cache.get(name, cancel=cancel).numpy()


def compute_cam(loaded: Any, cache: Any, target: int | None, layer: str, cancel: threading.Event) -> Any:
    """Grad-CAM for the current image; returns core's ``CamResult``."""
    from resnet_desktop.core.explain.gradcam import grad_cam

    return grad_cam(loaded.model, cache.inputs, target, layer, cancel=cancel)
