"""Grad-CAM equals an autograd reference, leaves the model as it was, waits for the model lock."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.explain.gradcam import grad_cam
from resnet_desktop.core.explain.hooks import model_lock
from tests.core.explain.nets import assert_no_hooks, make_resnet, random_image

# --- Grad-CAM ----------------------------------------------------------------------------------


def _reference_cam(m: nn.Module, x: torch.Tensor, stage: str, target: int | None) -> tuple[np.ndarray, int]:
    """Grad-CAM written out by hand on torchvision's ResNet forward."""
    stages = ["layer1", "layer2", "layer3", "layer4"]
    with torch.no_grad():
        h = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        for name in stages[: stages.index(stage) + 1]:
            h = getattr(m, name)(h)
    activation = h.detach().requires_grad_(True)
    h = activation
    for name in stages[stages.index(stage) + 1 :]:
        h = getattr(m, name)(h)
    logits = m.fc(torch.flatten(m.avgpool(h), 1))
    target = int(logits.argmax()) if target is None else target
    (gradient,) = torch.autograd.grad(logits[0, target], activation)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0].detach()
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    return cam.numpy(), target


@pytest.mark.parametrize(("stage", "target"), [("layer4", None), ("layer4", 7), ("layer3", 123)])
def test_grad_cam_equals_reference(resnet18: nn.Module, stage: str, target: int | None) -> None:
    x = random_image(128, seed=3)
    result = grad_cam(resnet18, x, target_class=target, layer=stage)
    expected, expected_class = _reference_cam(resnet18, x, stage, target)
    assert result.class_index == expected_class
    assert result.heatmap.dtype == np.float32 and result.heatmap.shape == (128, 128)
    assert result.heatmap.min() == 0.0 and result.heatmap.max() == pytest.approx(1.0)
    np.testing.assert_allclose(result.heatmap, expected, atol=1e-5)
    with torch.no_grad():
        logits = resnet18(x)
    assert result.score == pytest.approx(float(logits[0, expected_class]), rel=1e-4, abs=1e-4)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert result.topk(5)[0][0] == int(logits.argmax())


def test_grad_cam_leaves_the_model_as_it_was() -> None:
    model = make_resnet("resnet18")
    model.train()  # even a model left in training mode must not have its BN statistics moved
    for param in model.layer1.parameters():
        param.requires_grad_(False)
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    grad_cam(model, random_image(64), layer="layer4")
    grad_cam(model, random_image(64), layer="layer1.0.relu_1", target_class=5)
    assert model.training and all(m.training for m in model.modules())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    for name, buffer in model.named_buffers():
        torch.testing.assert_close(buffer, buffers[name], msg=name)
    assert_no_hooks(model)


def test_grad_cam_rejects_non_spatial_layers_and_batches(resnet18: nn.Module) -> None:
    with pytest.raises(SettingsError, match="spatial"):
        grad_cam(resnet18, random_image(), layer="fc")
    with pytest.raises(SettingsError, match="one image"):
        grad_cam(resnet18, torch.zeros(2, 3, 64, 64))
    assert_no_hooks(resnet18)


def test_grad_cam_waits_for_the_model_lock(resnet18: nn.Module) -> None:
    done = threading.Event()
    with model_lock(resnet18):
        worker = threading.Thread(target=lambda: (grad_cam(resnet18, random_image()), done.set()))
        worker.start()
        assert not done.wait(0.2)
    worker.join(timeout=60)
    assert done.is_set()
