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

    def _plan(self, name: str, also: Iterable[str] = ()) -> list[str]:
        """Everything if it fits; else ``name``, the small top-level outputs, and ``name``'s neighbours.

        The top-level outputs (layer1..layer4, avgpool, fc) are the overview people jump between;
        neighbours (in execution order, nearest first) are what they click next in the tree. Both
        cost nothing extra in the same forward. Together they use at most half the budget.
        """
        total = sum(layer.num_bytes for layer in self.layers.values())
        if not self._cache and total <= self.budget_bytes:
            return list(self.layers)
        names = list(self.layers)
        position = names.index(name)
        by_distance = [names[i] for i in sorted(range(len(names)), key=lambda i: abs(i - position))]
        small_stages = [
            n for n in names if "." not in self.layers[n].module and self.layers[n].num_bytes <= self.budget_bytes // 16
        ]
        plan = list(dict.fromkeys([name, *(n for n in also if n not in self._cache)]))
        size = sum(self.layers[n].num_bytes for n in plan)
        for candidate in small_stages + by_distance:
            if candidate in plan or candidate in self._cache:
                continue
            cost = self.layers[candidate].num_bytes
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
                return self._cache[name]
            plan = self._plan(name, also)
            outputs = capture(self.model, self.inputs, plan, cancel=cancel)
            self.forwards += 1
            for key in reversed(plan):  # farthest first: the nearest are the last to be evicted
                self._cache[key] = outputs[key][0]
            self._cache.move_to_end(name)
            while self.cached_bytes > self.budget_bytes and len(self._cache) > 1:
                evicted, _ = self._cache.popitem(last=False)
                logger.debug("Dropped cached activation %s", evicted)
            return self._cache[name]

    def is_cached(self, name: str) -> bool:
        return name in self._cache

    def peek(self, name: str) -> torch.Tensor | None:
        """The cached output of ``name`` or None; never waits for a capture (safe on a GUI thread)."""
        return self._cache.get(name)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
