"""The engine's ONNX Runtime backend: the model's two-output graph run by ORT on the CPU.

The graph is exported once per model and kept in the cache folder, keyed by the weights hash and
the exporter version, so a second start loads it in well under a second instead of exporting
again. A damaged cache file is rebuilt, never trusted. The "fast" precision is the static int8
graph, calibrated on the bundled sample photos (or a folder) and verified like any export.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import ExportError, WeightsError
from resnet_desktop.core.models import quantize
from resnet_desktop.core.models.graph import EMBEDDING_NAME, INPUT_NAME, LOGITS_NAME, exporter_version, onnx_bytes

if TYPE_CHECKING:
    from resnet_desktop.core.models.quantize import Agreement
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Engine precisions: "fp32" is exact (within 1e-3 of PyTorch); "fast" is int8 (static, calibrated).
ENGINE_PRECISIONS = ("fp32", "fast")


def cache_dir() -> Path:
    """Where exported graphs and backend measurements live (``platformdirs``' user cache)."""
    from platformdirs import user_cache_path

    return user_cache_path("resnet-desktop", appauthor=False) / "onnx"


_HASHES: weakref.WeakKeyDictionary[torch.nn.Module, str] = weakref.WeakKeyDictionary()


def model_key(loaded: LoadedModel) -> str:
    """The weights hash of ``loaded.model`` (computed once per model object in this process)."""
    from resnet_desktop.core.models.graph import weights_hash

    key = _HASHES.get(loaded.model)
    if key is None:
        key = _HASHES[loaded.model] = weights_hash(loaded.model)
    return key


def _identity(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return str(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def graph_path(loaded: LoadedModel, precision: str = "fp32", calibration: Sequence[Path] | None = None) -> Path:
    parts = [model_key(loaded), exporter_version(), str(loaded.preprocessing.to_dict()), precision]
    if precision != "fp32":
        import onnxruntime

        parts.extend([onnxruntime.__version__, f"recipe{quantize.RECIPE_VERSION}"])
        parts.extend(_identity(p) for p in calibration or ())  # a changed calibration photo re-calibrates
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return cache_dir() / f"{loaded.arch}-{precision}-{digest}.onnx"


@dataclass
class CachedGraph:
    path: Path
    data: bytes
    built: bool
    agreement: Agreement | None = None


def cached_graph(
    loaded: LoadedModel, precision: str = "fp32", calibration: Sequence[Path] | None = None
) -> CachedGraph:
    """The graph from the cache, or exported (and for "fast", quantised and verified) and cached."""
    path = graph_path(loaded, precision, calibration)
    try:
        data = path.read_bytes()
        quantize.session(data)  # a truncated or damaged cache file is rebuilt below
        return CachedGraph(path, data, built=False)
    except FileNotFoundError:
        pass
    except (OSError, WeightsError) as exc:
        logger.warning("rebuilding the cached ONNX graph %s: %s", path, exc)
    data = onnx_bytes(loaded.model, loaded.preprocessing.crop_size)
    agreement = None
    if precision == "fast":
        data = quantize.convert(data, "int8-static", loaded.preprocessing, calibration=calibration)
        inputs = quantize.verification_inputs(loaded.preprocessing)
        agreement = quantize.agreement(loaded, data, inputs, precision="int8-static")
        if not agreement.passed:
            raise ExportError(f"The int8 model does not agree well enough with PyTorch: {agreement.summary()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data, overwrite=True)  # our cache, not a user's file
    return CachedGraph(path, data, built=True, agreement=agreement)


class OnnxRuntimeBackend:
    """Runs normalised float batches through an ORT session; returns logits and embeddings."""

    name = "onnxruntime"

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        threads: int | None = None,
        precision: str = "fp32",
        calibration: Sequence[Path] | None = None,
    ) -> None:
        quantize.require_onnxruntime()
        if precision not in ENGINE_PRECISIONS:
            raise ExportError(f"unknown precision {precision!r}; choose one of {', '.join(ENGINE_PRECISIONS)}")
        self.precision = precision
        self.threads = threads or torch.get_num_threads()
        graph = cached_graph(loaded, precision, calibration)
        self.graph_path, self.built, self.agreement = graph.path, graph.built, graph.agreement
        self.session = quantize.session(graph.data, threads=self.threads)

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: float32 ``(N, 3, H, W)`` normalised (any memory format)."""
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        logits, embedding = self.session.run([LOGITS_NAME, EMBEDDING_NAME], {INPUT_NAME: array})
        return torch.from_numpy(np.asarray(logits)), torch.from_numpy(np.asarray(embedding))

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "precision": self.precision,
            "threads": self.threads,
            "graph": str(self.graph_path),
        }
