"""What makes a stored result reusable: the same file (stat, content hash), the same model and the
same numeric precision; and what makes a stored embedding reusable: the same backbone.

A *backbone* is the network without its ``fc`` (identified by a hash of those weights), the
preprocessing and the precision it ran at: every head on one backbone (the ImageNet classifier, a
fine-tuned head, each version of a label set) shares its embeddings. A *model* is a backbone plus a
head: results (top-k scores) belong to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from resnet_desktop.core.library.schema import model_key

if TYPE_CHECKING:
    from torch import nn

    from resnet_desktop.core.models.spec import Preprocessing


class DescribedModel(Protocol):
    """What an identity is made of: a torch ``LoadedModel`` or the graph cache's ``StoredModel``."""

    @property
    def arch(self) -> str: ...
    @property
    def categories(self) -> list[str]: ...
    @property
    def preprocessing(self) -> Preprocessing: ...
    @property
    def source(self) -> str: ...
    @property
    def weights_name(self) -> str | None: ...
    @property
    def custom_file(self) -> Path | None: ...
    @property
    def meta(self) -> dict[str, Any]: ...


_HASH_CHUNK = 1 << 20
#: SQLite integers are signed 64-bit; some file systems use all 64 bits of an inode number.
_INODE_MASK = (1 << 63) - 1
#: The precision of a plain PyTorch run on the CPU (see ``Engine.numeric_precision``).
FP32 = "fp32"
_BACKBONE_HASHES: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()


def numbers_of(precision: str) -> str:
    """What the numbers are for an identity's precision: a fast graph's "fast:<calibration>" is int8
    (what ``Engine.numeric_precision`` says while running it)."""
    return "int8" if precision == "fast" or precision.startswith("fast:") else precision


def _digest(parts: list[str]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def backbone_hash(model: nn.Module) -> str:
    """sha256 of every parameter and buffer except ``fc.*`` (computed once per model object): two
    models that differ only in their head have the same backbone. The graph cache's digest, so a
    model described without torch (``StoredModel.backbone``) has the same identity."""
    cached = _BACKBONE_HASHES.get(model)
    if cached is not None:
        return cached
    from resnet_desktop.core.models.graph import model_backbone_digest

    value = _BACKBONE_HASHES[model] = model_backbone_digest(model)
    return value


def backbone_of(loaded: DescribedModel) -> str:
    """The backbone digest: the graph cache knows it without torch, a torch model is hashed (once)."""
    from resnet_desktop.core.inference.graph_store import StoredModel

    if isinstance(loaded, StoredModel):
        return loaded.backbone
    from resnet_desktop.core.models.zoo import LoadedModel

    assert isinstance(loaded, LoadedModel), type(loaded)
    return backbone_hash(loaded.model)


@dataclass(frozen=True)
class BackboneIdentity:
    """Whose embeddings these are: the weights without ``fc``, the preprocessing, the precision."""

    arch: str
    weights: str
    preprocessing: str
    precision: str
    description: str

    @property
    def key(self) -> str:
        return _digest([self.arch, self.weights, self.preprocessing, self.precision])

    @classmethod
    def of(cls, loaded: DescribedModel, precision: str) -> BackboneIdentity:
        return cls(
            arch=loaded.arch,
            weights="tensors:" + backbone_of(loaded),
            preprocessing=json.dumps(loaded.preprocessing.to_dict(), sort_keys=True),
            precision=precision,
            description=f"{loaded.arch} backbone of {loaded.source}",
        )


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two runs' results interchangeable: same network, weights, preprocessing, labels and
    numeric precision (an fp32 result is never served to an int8 run); ``backbone`` owns embeddings."""

    arch: str
    weights: str
    preprocessing: str
    description: str
    categories_digest: str
    precision: str
    backbone: BackboneIdentity

    @property
    def base_key(self) -> str:
        """The key without the precision (what a version-2 index keyed its models by)."""
        return _digest([self.arch, self.weights, self.preprocessing, self.categories_digest])

    @property
    def key(self) -> str:
        return model_key(self.base_key, self.precision)

    def at(self, precision: str) -> ModelIdentity:
        """The same model run at another precision (its backbone too)."""
        return replace(self, precision=precision, backbone=replace(self.backbone, precision=precision))

    @classmethod
    def of(cls, loaded: DescribedModel, precision: str) -> ModelIdentity:
        """``precision`` is the engine's (``Engine.numeric_precision``): "fp32", "bf16", or a fast
        graph's "fast:<calibration>"; its results never share index rows with another precision's.

        Weights are named by the torchvision file (its name carries a hash), our files by their
        SHA-256 (a head-only model file also by its backbone's weights).
        """
        if loaded.custom_file is not None:
            known = loaded.meta.get("file_sha256")  # the graph cache hashed it once for this file version
            weights = "sha256:" + (str(known) if known else sha256_file(Path(loaded.custom_file)))
            if loaded.meta.get("backbone") is not None:  # a head-only file: its sidecar names the backbone
                weights += "+backbone:" + backbone_of(loaded)
        elif loaded.weights_name is None or loaded.weights_name.lower() == "random":
            from resnet_desktop.core.models.spec import RANDOM_WEIGHTS

            weights = f"{RANDOM_WEIGHTS}:{loaded.meta.get('seed', 'default')}"
        else:
            weights = f"torchvision:{loaded.weights_name}:{Path(str(loaded.meta.get('url', ''))).name}"
        categories = hashlib.sha256("\n".join(loaded.categories).encode()).hexdigest()[:16]
        return cls(
            arch=loaded.arch,
            weights=weights,
            preprocessing=json.dumps(loaded.preprocessing.to_dict(), sort_keys=True),
            description=loaded.source,
            categories_digest=categories,
            precision=precision,
            backbone=BackboneIdentity.of(loaded, precision),
        )


@dataclass(frozen=True)
class FileStat:
    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str | Path) -> FileStat:
        st = os.stat(path)
        return cls(str(path), st.st_size, st.st_mtime_ns, st.st_ino & _INODE_MASK)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
