"""The engine's ONNX Runtime backend: the torch-free runner (``ort_runner``) seen from the PyTorch engine.

The graph comes from the cache (``graph_store``; exported once per backbone, so a second start
loads it in well under a second, and a damaged file is rebuilt, never trusted). The fast precision
is the int8 graph built from the person's own photos and used only when its gate passes
(``inference.fast``); without photos, the model's last verified fast graph is used, if any.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from resnet_desktop.core.errors import ExportError
from resnet_desktop.core.inference import fast, graph_store
from resnet_desktop.core.inference.graph_store import cache_dir as cache_dir
from resnet_desktop.core.inference.ort_runner import OrtRunner
from resnet_desktop.core.models.gate import judge
from resnet_desktop.core.models.ort_session import require_onnxruntime

if TYPE_CHECKING:
    from resnet_desktop.core.inference.fast import PhotoSet, Say
    from resnet_desktop.core.models.gate import GateResult
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Engine precisions: "fp32" is exact (within 1e-3 of PyTorch); "fast" is int8 (static, calibrated).
ENGINE_PRECISIONS = ("fp32", "fast")


def fast_entry(
    stored: graph_store.StoredModel,
    photos: PhotoSet | None,
    *,
    threads: int | None = None,
    say: Say | None = None,
) -> tuple[graph_store.StoredModel, graph_store.FastEntry]:
    """The verified fast graph: built from ``photos``, or the model's last one; ``FastModeRefused`` otherwise."""
    if photos is None:
        entry = stored.verified_fast()
        if entry is None:
            earlier = stored.fast.get(stored.last_fast or "")
            if earlier is not None:
                raise fast.refusal(earlier.gate)
            raise fast.refusal(judge([], [], class_names=[]))
        return stored, entry
    stored, entry = fast.build(stored, photos, threads=threads, say=say)
    return stored, fast.require_passed(entry)


class OnnxRuntimeBackend:
    """Runs normalised float batches through the runner's ORT session; returns torch logits and embeddings."""

    name = "onnxruntime"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        threads: int | None = None,
        precision: str = "fp32",
        photos: PhotoSet | None = None,
        refs: Sequence[ModelRef] = (),
        batch_size: int | None = None,
        workers: int | None = None,
        say: Say | None = None,
    ) -> None:
        require_onnxruntime()
        if precision not in ENGINE_PRECISIONS:
            raise ExportError(f"unknown precision {precision!r}; choose one of {', '.join(ENGINE_PRECISIONS)}")
        self.precision = precision
        self.threads = threads or torch.get_num_threads()
        self.stored = graph_store.remember(loaded, refs)
        #: Whether this start exported the graph (False: it came from the cache).
        self.built = self.stored.exported_now
        self.gate: GateResult | None = None
        graph = None
        if precision == "fast":
            self.stored, entry = fast_entry(self.stored, photos, threads=self.threads, say=say)
            graph, self.gate = entry.graph, entry.gate
        self.runner = OrtRunner(
            self.stored, graph=graph, precision=precision, threads=self.threads, batch_size=batch_size, workers=workers
        )
        self.graph_path = self.runner.graph_path

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: float32 ``(N, 3, H, W)`` normalised (any memory format)."""
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        logits, embedding = self.runner.run(array)
        return torch.from_numpy(logits), torch.from_numpy(embedding)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "precision": self.precision,
            "threads": self.threads,
            "graph": str(self.graph_path),
        }
