"""The work the feature panel hands to its task runner: open + capture, fetch a layer, Grad-CAM.

Plain functions (no Qt): the panel runs them with ``gui.common.tasks``, one at a time, and drops
answers about an image or model it no longer shows. Torch never runs on the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from resnet_desktop.core.explain.activations import ActivationCache
    from resnet_desktop.core.explain.gradcam import CamResult
    from resnet_desktop.core.explain.hooks import LayerInfo
    from resnet_desktop.core.models.zoo import LoadedModel

#: Largest side of the photo crop shown under overlays (the network sees 224).
VIEW_SIZE = 448


@dataclass
class Prepared:
    """Everything the panel needs once an image is opened and its first layer captured."""

    path: Path
    layers: list[LayerInfo]
    cache: ActivationCache
    view: np.ndarray  # (S, S, 3) uint8: the part of the photo the network sees
    probabilities: np.ndarray | None
    first_layer: str
    first_activation: np.ndarray


def prepare(loaded: LoadedModel, path: Path, first_layer: str, cancel: threading.Event, budget_bytes: int) -> Prepared:
    """Open the photo, list the layers, capture activations (bounded), and get class probabilities."""
    import torch

    from resnet_desktop.core.explain.activations import ActivationCache
    from resnet_desktop.core.explain.heatmaps import network_view
    from resnet_desktop.core.explain.hooks import image_tensor, list_layers
    from resnet_desktop.core.images import open_image

    photo = open_image(path)
    prep = loaded.preprocessing
    inputs = image_tensor(photo, prep)
    layers = list_layers(loaded.model, (int(inputs.shape[-2]), int(inputs.shape[-1])))
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


def fetch_layer(cache: ActivationCache, name: str, cancel: threading.Event) -> tuple[str, np.ndarray]:
    """One layer's activation for the current image (a forward only when it is not cached)."""
    return name, cache.get(name, cancel=cancel).numpy()


def compute_cam(
    loaded: LoadedModel, cache: ActivationCache, target: int | None, layer: str, cancel: threading.Event
) -> CamResult:
    """Grad-CAM for the current image; returns core's ``CamResult``."""
    from resnet_desktop.core.explain.gradcam import grad_cam

    return grad_cam(loaded.model, cache.inputs, target, layer, cancel=cancel)
