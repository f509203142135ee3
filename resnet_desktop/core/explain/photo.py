"""Explaining one photo: the use cases of ``resnet-desktop explain``, the Features panel and the model lab.

Every one of them opens the photo the same way (:func:`open_for_model`: a 10000x1 strip is cut to what
the centre crop can see first, exactly as classification does, so memory stays bounded), then either
computes one Grad-CAM (:func:`explain_photo`), two for the model lab's true-vs-predicted view
(:func:`cam_pair`), or captures the layers for browsing (:func:`prepare`, :func:`fetch_layer`,
:func:`compute_cam`). Torch runs here, never on the GUI thread.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.explain.heatmaps import network_view, overlay, overlay_on_photo
from resnet_desktop.core.images import open_image
from resnet_desktop.core.work import check_cancel

if TYPE_CHECKING:  # these import torch: the GUI imports this module before torch is loaded
    from resnet_desktop.core.explain.activations import ActivationCache
    from resnet_desktop.core.explain.gradcam import CamResult
    from resnet_desktop.core.explain.hooks import LayerInfo
    from resnet_desktop.core.models.spec import Preprocessing
    from resnet_desktop.core.models.zoo import LoadedModel

#: Largest side of the photo crop shown under the Features panel's overlays (the network sees 224).
VIEW_SIZE = 448
#: Side of each overlay in the model lab's true-vs-predicted view.
CAM_VIEW = 320
#: The largest picture ``render`` writes (a 12-MP photo is scaled down to this long side).
MAX_OUTPUT_SIDE = 1024


def open_for_model(path: Path, preprocessing: Preprocessing) -> Image.Image:
    """The photo as the network will see it: opened safely, and a very long strip cut to what the
    centre crop can see (bounded memory); ordinary photos come back unchanged."""
    return _precrop(open_image(path), preprocessing)


def _precrop(photo: Image.Image, preprocessing: Preprocessing) -> Image.Image:
    from resnet_desktop.core.inference.decode import precrop_long_side

    return precrop_long_side(photo, preprocessing.resize_size, preprocessing.crop_size)


def resolve_class(target: str | None, categories: list[str]) -> int | None:
    """``None`` (top-1), an index, or a label (case-insensitive); ``SettingsError`` with close labels otherwise."""
    if target is None:
        return None
    text = target.strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(categories):
            raise SettingsError(f"class {index} is out of range: this model has classes 0..{len(categories) - 1}")
        return index
    lowered = [c.lower() for c in categories]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    close = difflib.get_close_matches(text.lower(), lowered, n=3)
    hint = f"; did you mean {', '.join(repr(categories[lowered.index(c)]) for c in close)}?" if close else ""
    raise SettingsError(f"unknown class label {text!r}{hint}")


# -- one Grad-CAM (resnet-desktop explain) ---------------------------------------------------------


@dataclass
class Explanation:
    path: Path
    #: The photo as opened (the overlay is drawn on it, at its own resolution up to ``max_side``).
    photo: Image.Image
    #: What the network saw of it (after :func:`open_for_model`'s pre-crop of a very long strip).
    seen: Image.Image
    cam: CamResult
    label: str


def explain_photo(
    loaded: LoadedModel,
    path: Path,
    *,
    target: str | int | None = None,
    layer: str = "layer4",
    device: str = "auto",
    cancel: threading.Event | None = None,
) -> Explanation:
    """Grad-CAM of ``target`` (index or label; default the top-1 class) at ``layer`` for one photo."""
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.explain.gradcam import grad_cam
    from resnet_desktop.core.explain.hooks import image_tensor

    index = target if isinstance(target, int) or target is None else resolve_class(target, loaded.categories)
    loaded.model.to(resolve_device(device))
    photo = open_image(path)
    seen = _precrop(photo, loaded.preprocessing)
    result = grad_cam(loaded.model, image_tensor(seen, loaded.preprocessing), index, layer, cancel=cancel)
    return Explanation(path, photo, seen, result, loaded.categories[result.class_index])


def render(
    explanation: Explanation,
    preprocessing: Preprocessing,
    *,
    opacity: float = 0.5,
    colormap: str = "inferno",
    crop_only: bool = False,
    max_side: int = MAX_OUTPUT_SIDE,
) -> Image.Image:
    """The overlay picture: on the whole photo (the crop outlined), or only on the square the network sees."""
    heatmap = explanation.cam.heatmap
    if crop_only:
        view = network_view(explanation.seen, preprocessing.resize_size, preprocessing.crop_size)
        if max(view.size) > max_side:
            view = view.resize((max_side, max_side))
        return overlay(view, heatmap, opacity, colormap=colormap)
    return overlay_on_photo(
        explanation.photo,
        heatmap,
        preprocessing.resize_size,
        preprocessing.crop_size,
        opacity=opacity,
        colormap=colormap,
        max_side=max_side,
    )


# -- the model lab: the true and the predicted class side by side -------------------------------------


@dataclass(frozen=True)
class CamPair:
    """Grad-CAM overlays for the true and the predicted class of one photo."""

    path: Path
    true_overlay: np.ndarray
    pred_overlay: np.ndarray
    true_index: int
    pred_index: int
    true_probability: float
    pred_probability: float


def cam_pair(
    loaded: LoadedModel, path: Path, true_index: int, pred_index: int, cancel: threading.Event | None = None
) -> CamPair:
    """Explain both classes at layer4 (two backward passes, the model unchanged)."""
    from resnet_desktop.core.explain.gradcam import grad_cam
    from resnet_desktop.core.explain.hooks import image_tensor

    prep = loaded.preprocessing
    photo = open_for_model(path, prep)
    inputs = image_tensor(photo, prep)
    view = network_view(photo, prep.resize_size, prep.crop_size, output_size=CAM_VIEW)
    true_cam = grad_cam(loaded.model, inputs, true_index, cancel=cancel)
    check_cancel(cancel)
    pred_cam = grad_cam(loaded.model, inputs, pred_index, cancel=cancel)
    return CamPair(
        path=path,
        true_overlay=np.asarray(overlay(view, true_cam.heatmap)),
        pred_overlay=np.asarray(overlay(view, pred_cam.heatmap)),
        true_index=true_index,
        pred_index=pred_index,
        true_probability=true_cam.probability,
        pred_probability=pred_cam.probability,
    )


# -- the Features panel: capture once, browse layers, Grad-CAM on demand ------------------------------


@dataclass
class Prepared:
    """Everything the Features panel needs once a photo is opened and its first layer captured."""

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
    from resnet_desktop.core.explain.hooks import image_tensor, list_layers

    prep = loaded.preprocessing
    photo = open_for_model(path, prep)
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
    """One layer's activation for the current photo (a forward only when it is not cached)."""
    return name, cache.get(name, cancel=cancel).numpy()


def compute_cam(
    loaded: LoadedModel, cache: ActivationCache, target: int | None, layer: str, cancel: threading.Event
) -> CamResult:
    """Grad-CAM for the current photo of the Features panel."""
    from resnet_desktop.core.explain.gradcam import grad_cam

    return grad_cam(loaded.model, cache.inputs, target, layer, cancel=cancel)
