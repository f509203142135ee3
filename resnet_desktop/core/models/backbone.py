"""What an exported graph is, without torch: its input/output names, its version, its backbone's hash.

A ResNet is a backbone (everything but ``fc``) and a head (``fc``). The graph cache, the backend
measurement and the int8 model belong to the backbone, so a model that only changes the head (a
fine-tuned head, a taught version) reuses them and runs its head in numpy on the embedding. The hash
is computed the same way from a torch state dict and from a safetensors file read with numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and importlib.metadata load on first use: the window imports this module
    import numpy as np
    from numpy.typing import NDArray

OPSET = 17
#: Bumped when the graph we produce changes; part of the on-disk graph cache key.
GRAPH_VERSION = 1
INPUT_NAME, LOGITS_NAME, EMBEDDING_NAME = "input", "logits", "embedding"
#: The head's parameters in a torchvision ResNet state dict.
HEAD_WEIGHT, HEAD_BIAS = "fc.weight", "fc.bias"
HEAD_PREFIX = "fc."


def package_version(name: str) -> str:
    """An installed package's version without importing it ("missing" when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def exporter_version() -> str:
    """What the graph depends on besides the weights: our graph, torch's exporter, the opset."""
    return f"graph{GRAPH_VERSION}-torch{package_version('torch')}-opset{OPSET}"


def backbone_digest(tensors: Iterable[tuple[str, NDArray[np.generic]]]) -> str:
    """sha256 of every backbone parameter and buffer (name, dtype, shape, bytes), ``fc`` left out."""
    import numpy as np

    digest = hashlib.sha256()
    for name, array in sorted(tensors, key=lambda item: item[0]):
        if name.startswith(HEAD_PREFIX):
            continue
        data = np.ascontiguousarray(array)
        digest.update(f"{name}:{data.dtype.name}:{tuple(data.shape)};".encode())
        digest.update(data.reshape(-1).view(np.uint8).tobytes())
    return digest.hexdigest()


def head_of(tensors: Mapping[str, NDArray[np.generic]]) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """``fc``'s weight ``(classes, features)`` and bias as float32, or None when there is no linear head."""
    import numpy as np

    weight, bias = tensors.get(HEAD_WEIGHT), tensors.get(HEAD_BIAS)
    if weight is None or weight.ndim != 2:
        return None
    w = np.asarray(weight, dtype=np.float32)
    b = np.asarray(bias, dtype=np.float32) if bias is not None else np.zeros(w.shape[0], dtype=np.float32)
    return w, b
