"""The activation cache: one forward when everything fits, a bounded budget when not."""

from __future__ import annotations

import torch
from torch import nn

from resnet_desktop.core.explain.activations import ActivationCache
from resnet_desktop.core.explain.hooks import capture, list_layers
from tests.core.explain.nets import assert_no_hooks, random_image

# --- activation cache --------------------------------------------------------------------------


def test_activation_cache_captures_once_when_it_fits(resnet18: nn.Module) -> None:
    x = random_image()
    layers = list_layers(resnet18, 64)
    cache = ActivationCache(resnet18, x, layers)
    first = cache.get("layer1")
    assert cache.forwards == 1 and all(cache.is_cached(layer.name) for layer in layers)
    cache.get("layer4.1.relu_1")
    assert cache.forwards == 1
    torch.testing.assert_close(first, capture(resnet18, x, ["layer1"])["layer1"][0])


def test_activation_cache_stays_within_its_budget(resnet18: nn.Module) -> None:
    x = random_image()
    layers = list_layers(resnet18, 64)
    budget = 3 * 64 * 32 * 32 * 4  # three conv1-sized maps; the whole net needs far more
    cache = ActivationCache(resnet18, x, layers, budget_bytes=budget)
    cache.get("layer1.0.conv1")
    assert cache.is_cached("layer4") and cache.is_cached("fc")  # small top-level outputs come along
    assert cache.is_cached("layer1.0.bn1")  # and the neighbours
    for name in ["conv1", "bn1", "layer1.0.conv1", "layer3", "relu"]:
        value = cache.get(name)
        assert cache.cached_bytes <= budget
        torch.testing.assert_close(value, capture(resnet18, x, [name])[name][0], msg=name)
    assert cache.forwards > 1
    # A miss also brings the neighbours (what a person clicks next) within half the budget.
    cache.get("layer2.0.conv2")
    forwards = cache.forwards
    cache.get("layer2.0.bn2")
    assert cache.forwards == forwards
    assert_no_hooks(resnet18)
