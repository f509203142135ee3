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
    assert_half_close(first, capture(resnet18, x, ["layer1"])["layer1"][0])


def assert_half_close(value: torch.Tensor, exact: torch.Tensor, msg: str = "") -> None:
    """Equal to float16 precision (the cache keeps feature maps in float16), returned as float32."""
    assert value.dtype == torch.float32, msg
    scale = float(exact.abs().max()) or 1.0
    torch.testing.assert_close(value, exact, rtol=1e-3, atol=1e-3 * scale, msg=msg)


def test_feature_maps_are_kept_in_half_the_memory_and_logits_exactly(resnet18: nn.Module) -> None:
    x = random_image()
    layers = list_layers(resnet18, 64)
    cache = ActivationCache(resnet18, x, layers)
    cache.get("layer1")
    exact = capture(resnet18, x, [layer.name for layer in layers])
    float32_bytes = sum(t[0].element_size() * t[0].nelement() for t in exact.values())
    vectors = sum(t[0].element_size() * t[0].nelement() for t in exact.values() if t[0].dim() != 3)
    assert cache.cached_bytes == (float32_bytes - vectors) // 2 + vectors
    torch.testing.assert_close(cache.get("fc"), exact["fc"][0], rtol=0, atol=0)  # the probabilities' source


def test_maps_beyond_float16_range_stay_float32() -> None:
    huge = nn.Sequential(nn.Conv2d(3, 2, 1))
    with torch.no_grad():
        huge[0].weight.fill_(1e5)
    x = torch.ones(1, 3, 4, 4)
    cache = ActivationCache(huge, x, list_layers(huge, 4))
    value = cache.get("0")
    assert torch.isfinite(value).all() and float(value.max()) > 65504
    torch.testing.assert_close(value, huge(x)[0].detach(), rtol=0, atol=0)


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
        assert_half_close(value, capture(resnet18, x, [name])[name][0], msg=name)
    assert cache.forwards > 1
    # A miss also brings the neighbours (what a person clicks next) within half the budget.
    cache.get("layer2.0.conv2")
    forwards = cache.forwards
    cache.get("layer2.0.bn2")
    assert cache.forwards == forwards
    assert_no_hooks(resnet18)
