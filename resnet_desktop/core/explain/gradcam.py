"""Grad-CAM: which part of an image raised a class's score, from one stage's output and gradient.

The model is left as it was: no parameter flags change, hooks are removed, eval mode keeps
BatchNorm statistics still. ``model_lock`` (from ``hooks``) is held while it runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.explain.hooks import (
    CallHooks,
    call_name,
    eval_mode,
    model_lock,
    parse_layer_name,
    to_model_input,
)

DEFAULT_CAM_LAYER = "layer4"


@dataclass(frozen=True)
class CamResult:
    """A Grad-CAM heatmap (float32, H x W of the input, in [0, 1]) and the class it explains."""

    heatmap: np.ndarray
    class_index: int
    score: float
    probability: float
    probabilities: np.ndarray
    layer: str

    def topk(self, k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` most probable classes as ``(index, probability)``, best first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(i), float(self.probabilities[i])) for i in order]


def normalize_cam(cam: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1] by min/max; an all-equal map (nothing positive) becomes all zeros."""
    low, high = cam.min(), cam.max()
    if float(high - low) <= 0.0:
        return torch.zeros_like(cam)
    return (cam - low) / (high - low)


def cam_from_gradients(activation: torch.Tensor, gradient: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Grad-CAM from a (1, C, h, w) activation and its gradient: weight, sum, ReLU, upsample, scale."""
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    return normalize_cam(cam[0, 0])


def grad_cam(
    model: nn.Module,
    image_tensor: torch.Tensor,
    target_class: int | None = None,
    layer: str = DEFAULT_CAM_LAYER,
    *,
    cancel: threading.Event | None = None,
) -> CamResult:
    """Grad-CAM for one preprocessed image ((3, H, W) or (1, 3, H, W)) at ``layer``.

    Default target is the top-1 class. The model is left as it was: no hooks, no ``requires_grad``
    changes, no ``.grad`` on parameters (``autograd.grad`` on the stage output only), eval mode so
    BatchNorm statistics do not move.
    """
    inputs = image_tensor.unsqueeze(0) if image_tensor.dim() == 3 else image_tensor
    if inputs.dim() != 4 or inputs.shape[0] != 1:
        raise SettingsError(f"grad_cam takes one image, got a tensor of shape {tuple(image_tensor.shape)}")
    module_name, call = parse_layer_name(model, layer)
    key = call_name(module_name, call)
    captured: dict[str, torch.Tensor] = {}

    def on_output(name: str, module: nn.Module, output: object) -> object:
        if name != key or not isinstance(output, torch.Tensor):
            return None
        # A fresh leaf: gradients w.r.t. the stage output without touching any parameter's flags.
        leaf = output.detach().requires_grad_(True)
        captured["activation"] = leaf
        return leaf.clone()  # clone: later in-place ops (ReLU, +=) must not hit the leaf

    hooks = CallHooks(model, [module_name], on_output, cancel=cancel)
    with model_lock(model), eval_mode(model), torch.enable_grad():
        hooks.install()
        try:
            logits = model(to_model_input(model, inputs))
        finally:
            hooks.remove()
        activation = captured.get("activation")
        if activation is None:
            raise SettingsError(f"Layer {layer!r} is not used by this model's forward.")
        if activation.dim() != 4:
            shape = tuple(activation.shape[1:])
            raise SettingsError(f"Grad-CAM needs a spatial (C, H, W) layer; {layer!r} has shape {shape}")
        num_classes = logits.shape[1]
        probabilities = torch.softmax(logits.detach().float(), dim=1)[0]
        index = int(probabilities.argmax()) if target_class is None else int(target_class)
        if not 0 <= index < num_classes:
            raise SettingsError(f"Class index {index} is out of range: this model has {num_classes} classes.")
        score = logits[0, index]
        (gradient,) = torch.autograd.grad(score, activation)
    size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
    heatmap = cam_from_gradients(activation.detach().float(), gradient.float(), size)
    return CamResult(
        heatmap=heatmap.cpu().numpy().astype(np.float32),
        class_index=index,
        score=float(score.detach()),
        probability=float(probabilities[index]),
        probabilities=probabilities.cpu().numpy(),
        layer=key,
    )
