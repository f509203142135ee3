"""Seeded random ResNets and inputs for the explain tests (nothing downloaded)."""

from __future__ import annotations

import torch
import torchvision
from torch import nn


def make_resnet(arch: str = "resnet18", num_classes: int = 1000, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes).eval()


def random_image(size: int = 64, seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def assert_no_hooks(model: nn.Module) -> None:
    for name, module in model.named_modules():
        assert not module._forward_hooks, f"forward hook left on {name or 'model'}"
        assert not module._forward_pre_hooks, f"forward pre-hook left on {name or 'model'}"
        assert not module._backward_hooks, f"backward hook left on {name or 'model'}"
