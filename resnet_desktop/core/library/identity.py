"""What makes a stored result reusable: the same file (stat, content hash) and the same model."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
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


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two runs' results interchangeable: same network, same weights, same preprocessing."""

    arch: str
    weights: str
    preprocessing: str
    description: str
    categories_digest: str

    @property
    def key(self) -> str:
        text = json.dumps([self.arch, self.weights, self.preprocessing, self.categories_digest])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def of(cls, loaded: DescribedModel, precision: str = "fp32") -> ModelIdentity:
        """Weights are named by the torchvision file (its name carries a hash), our files by their SHA-256.

        A reduced ``precision`` (e.g. "fast:<calibration>", one int8 graph) is part of the weights, so
        its results never share index rows with fp32 ones (until the index keys precision itself).
        """
        if loaded.custom_file is not None:
            known = loaded.meta.get("file_sha256")  # the graph cache hashed it once for this file version
            weights = "sha256:" + (str(known) if known else sha256_file(Path(loaded.custom_file)))
        elif loaded.weights_name is None or loaded.weights_name.lower() == "random":
            from resnet_desktop.core.models.spec import RANDOM_WEIGHTS

            weights = f"{RANDOM_WEIGHTS}:{loaded.meta.get('seed', 'default')}"
        else:
            weights = f"torchvision:{loaded.weights_name}:{Path(str(loaded.meta.get('url', ''))).name}"
        if precision != "fp32":
            weights += f"|precision={precision}"
        categories = hashlib.sha256("\n".join(loaded.categories).encode()).hexdigest()[:16]
        return cls(
            arch=loaded.arch,
            weights=weights,
            preprocessing=json.dumps(loaded.preprocessing.to_dict(), sort_keys=True),
            description=loaded.source,
            categories_digest=categories,
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
