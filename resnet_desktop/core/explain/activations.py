"""The activations of one image, bounded in memory, for a panel that jumps between layers."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

import torch
from torch import nn

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.explain.hooks import LayerInfo, capture

logger = logging.getLogger(__name__)


class ActivationCache:
    """The activations of one image, bounded in memory.

    When every layer fits ``budget_bytes`` the first request captures them all in one forward, so
    switching layers is free. Otherwise (deep nets, big inputs) it captures the requested layer and
    the top-level stages, and later misses cost one forward each; least-recently-used layers are
    dropped to stay under the budget. Thread-safe; drop the whole cache when the image changes.

    Feature maps are kept in float16 (half the memory: a resnet50's layers at 224 px are ~300 MB in
    float32), which is far finer than a colour map shows; they come back as float32. Vectors (the
    logits the panel turns into probabilities) and maps that float16 cannot hold stay float32.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        layers: list[LayerInfo],
        budget_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.model = model
        self.inputs = inputs if inputs.dim() == 4 else inputs.unsqueeze(0)
        self.layers = {layer.name: layer for layer in layers}
        self.budget_bytes = budget_bytes
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self.forwards = 0

    @property
    def cached_bytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in self._cache.values())

    def _stored_bytes(self, name: str) -> int:
        """What ``name``'s output takes in the cache (feature maps are kept in float16)."""
        layer = self.layers[name]
        return layer.num_bytes // 2 if layer.is_spatial else layer.num_bytes

    def _plan(self, name: str, also: Iterable[str] = ()) -> list[str]:
        """Everything if it fits; else ``name``, the small top-level outputs, and ``name``'s neighbours.

        The top-level outputs (layer1..layer4, avgpool, fc) are the overview people jump between;
        neighbours (in execution order, nearest first) are what they click next in the tree. Both
        cost nothing extra in the same forward. Together they use at most half the budget.
        """
        total = sum(self._stored_bytes(n) for n in self.layers)
        if not self._cache and total <= self.budget_bytes:
            return list(self.layers)
        names = list(self.layers)
        position = names.index(name)
        by_distance = [names[i] for i in sorted(range(len(names)), key=lambda i: abs(i - position))]
        small_stages = [
            n for n in names if "." not in self.layers[n].module and self._stored_bytes(n) <= self.budget_bytes // 16
        ]
        plan = list(dict.fromkeys([name, *(n for n in also if n not in self._cache)]))
        size = sum(self._stored_bytes(n) for n in plan)
        for candidate in small_stages + by_distance:
            if candidate in plan or candidate in self._cache:
                continue
            cost = self._stored_bytes(candidate)
            if size + cost <= self.budget_bytes // 2:
                plan.append(candidate)
                size += cost
        return plan

    def get(self, name: str, *, also: Iterable[str] = (), cancel: threading.Event | None = None) -> torch.Tensor:
        """The output of ``name`` for this image (no batch dimension), capturing it if needed.

        ``also``: layers to bring into the cache in the same forward when one is needed.
        """
        also = list(also)
        for wanted in [name, *also]:
            if wanted not in self.layers:
                raise SettingsError(f"Unknown layer {wanted!r}")
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name].float()
            plan = self._plan(name, also)
            outputs = capture(self.model, self.inputs, plan, cancel=cancel)
            self.forwards += 1
            for key in reversed(plan):  # farthest first: the nearest are the last to be evicted
                self._cache[key] = _stored(outputs.pop(key)[0])
            del outputs
            self._cache.move_to_end(name)
            while self.cached_bytes > self.budget_bytes and len(self._cache) > 1:
                evicted, _ = self._cache.popitem(last=False)
                logger.debug("Dropped cached activation %s", evicted)
            return self._cache[name].float()

    def is_cached(self, name: str) -> bool:
        return name in self._cache

    def peek(self, name: str) -> torch.Tensor | None:
        """The cached output of ``name`` or None; never waits for a capture (safe on a GUI thread)."""
        stored = self._cache.get(name)
        return None if stored is None else stored.float()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


#: The largest magnitude kept in float16 (its maximum is 65504); larger maps stay float32.
_HALF_LIMIT = 60000.0


def _stored(output: torch.Tensor) -> torch.Tensor:
    """How one sample's output is kept: feature maps (C, H, W) in float16 when they fit, else as is."""
    if output.dim() != 3 or output.dtype != torch.float32 or output.numel() == 0:
        return output
    if not bool(torch.isfinite(output).all()) or float(output.abs().max()) > _HALF_LIMIT:
        return output
    return output.half()
