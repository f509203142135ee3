"""The on-disk cache of exported graphs and of what each model is, readable without importing torch.

Three kinds of files live in the cache folder (``platformdirs``' user cache, ``onnx/``):

- ``graphs/<backbone>-fp32.onnx``: the two-output graph of a backbone (``models.backbone``), and
  ``graphs/<backbone>-int8-<calibration>.onnx`` its fast variants, one per set of calibration photos.
- ``heads/<digest>.npz``: a model's ``fc`` weight and bias, applied in numpy on the embedding, so
  every head on one backbone (a fine-tuned head, a taught version) shares the graph.
- ``models/<key>.json``: what a model reference (``ModelRef``) named the last time it was loaded
  with torch: architecture, classes, preprocessing, backbone, head, index identity, and its verified
  fast graphs with their gate results. Keyed by the reference as typed (architecture + weights name
  + torchvision version, or a file's path, size, mtime and inode), so finding it costs a ``stat``.

A damaged or partial file is ignored (and rebuilt by the torch path), never trusted. Only the
functions that build entries (``remember``) import torch, inside them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_desktop.core.atomic import write_bytes, write_with
from resnet_desktop.core.errors import ResNetDesktopError, WeightsError
from resnet_desktop.core.models.backbone import exporter_version, package_version
from resnet_desktop.core.models.gate import GateResult
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.models.spec import RANDOM_WEIGHTS, Preprocessing

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Bumped when the manifest's fields change; older manifests are ignored (and rewritten). 2: a head
#: file's backbone is in ``meta`` (its index identity names it).
MANIFEST_VERSION = 2


def cache_dir() -> Path:
    """Where exported graphs, heads, manifests and backend measurements live."""
    from platformdirs import user_cache_path

    return user_cache_path("resnet-desktop", appauthor=False) / "onnx"


def _digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def ref_key(ref: ModelRef) -> str | None:
    """The manifest key of a model reference, torch-free; None when its file cannot be looked at.

    A file is known by its resolved path, size, mtime and inode (and its sidecar's), so an edited or
    replaced file is a new model; a torchvision entry by architecture, weights name and the
    torchvision version (whose registry names the file).
    """
    if ref.file is not None:
        path = ref.file.with_suffix(".safetensors") if ref.file.suffix.lower() == ".json" else ref.file
        try:
            path = path.resolve()
            st = path.stat()
        except OSError:
            return None
        parts = ["file", str(path), str(st.st_size), str(st.st_mtime_ns), str(st.st_ino), str(ref.arch)]
        sidecar = path.with_suffix(".json")
        try:
            side = sidecar.stat()
            parts += [str(side.st_size), str(side.st_mtime_ns)]
        except OSError:
            parts.append("no-sidecar")
        return "|".join(parts)
    weights = ref.weights_text()
    weights = RANDOM_WEIGHTS if weights.lower() == RANDOM_WEIGHTS else weights.split(".")[-1].upper()
    return f"zoo|{ref.default_arch}|{weights}|torchvision{package_version('torchvision')}"


def fp32_graph_path(backbone: str) -> Path:
    return cache_dir() / "graphs" / f"{backbone[:32]}-{_digest(exporter_version(), 12)}-fp32.onnx"


def fast_graph_path(backbone: str, calibration: str) -> Path:
    return cache_dir() / "graphs" / f"{backbone[:32]}-int8-{calibration}.onnx"


def _manifest_path(key: str) -> Path:
    return cache_dir() / "models" / f"{_digest(key)}.json"


@dataclass(frozen=True)
class FastEntry:
    """A fast (int8) graph built for a model from one set of photos, and what its gate said."""

    calibration: str
    graph: Path
    gate: GateResult
    recipe: str


@dataclass(frozen=True)
class StoredModel:
    """A model as the cache knows it: enough to classify with ONNX Runtime and describe the result.

    It has the attributes ``library.identity.ModelIdentity.of`` reads, so results go to the same
    index rows as the same model loaded with torch.
    """

    key: str
    arch: str
    categories: list[str]
    preprocessing: Preprocessing
    source: str
    backbone: str
    head_file: Path
    weights_name: str | None = None
    custom_file: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    fast: dict[str, FastEntry] = field(default_factory=dict)
    last_fast: str | None = None
    #: Whether the graph was exported by the call that returned this (not saved).
    exported_now: bool = field(default=False, compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.categories)

    def fp32_graph(self) -> Path:
        return fp32_graph_path(self.backbone)

    def head(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``fc``'s weight ``(classes, features)`` and bias, float32."""
        with np.load(self.head_file, allow_pickle=False) as data:
            return np.asarray(data["weight"], dtype=np.float32), np.asarray(data["bias"], dtype=np.float32)

    def verified_fast(self, calibration: str | None = None) -> FastEntry | None:
        """The fast graph for ``calibration`` (default: the last one built) whose gate passed, if any."""
        entry = self.fast.get(calibration or self.last_fast or "")
        if entry is None or not entry.gate.passed or not entry.graph.is_file():
            return None
        return entry


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _parse(data: dict[str, Any], key: str) -> StoredModel | None:
    """A manifest read back, or None when it is from another version, damaged, or its files are gone."""
    try:
        if data.get("version") != MANIFEST_VERSION or data.get("key") != key:
            return None
        root = cache_dir()
        fast = {}
        for calibration, entry in dict(data.get("fast") or {}).items():
            fast[str(calibration)] = FastEntry(
                str(calibration),
                root / "graphs" / str(entry["graph"]),
                GateResult.from_dict(dict(entry["gate"])),
                str(entry.get("recipe", "")),
            )
        stored = StoredModel(
            key=key,
            arch=str(data["arch"]),
            categories=[str(c) for c in data["categories"]],
            preprocessing=Preprocessing.from_dict(data["preprocessing"], source="cached model"),
            source=str(data["source"]),
            backbone=str(data["backbone"]),
            head_file=root / "heads" / str(data["head"]),
            weights_name=None if data.get("weights_name") is None else str(data["weights_name"]),
            custom_file=None if data.get("custom_file") is None else Path(str(data["custom_file"])),
            meta=dict(data.get("meta") or {}),
            fast=fast,
            last_fast=None if data.get("last_fast") is None else str(data["last_fast"]),
        )
    except (KeyError, TypeError, ValueError, WeightsError) as exc:
        logger.info("ignoring a damaged model manifest for %s: %s", key, exc)
        return None
    if not (stored.fp32_graph().is_file() and stored.head_file.is_file()):
        return None
    return stored


def find(ref: ModelRef) -> StoredModel | None:
    """What the cache knows about ``ref`` (None: never loaded with torch here, changed, or cleared).

    A model file of ours never seen before (a new fine-tuned head, a taught version) whose backbone
    graph is cached is described from its sidecar and its own ``fc``, read with numpy: a new head
    costs no export and no torch.
    """
    key = ref_key(ref)
    if key is None:
        return None
    data = _read_json(_manifest_path(key))
    known = _parse(data, key) if data is not None else None
    if known is None and ref.file is not None:
        return _from_model_file(ref.file, key)
    return known


def _from_model_file(path: Path, key: str) -> StoredModel | None:
    from resnet_desktop.core.models import modelfile
    from resnet_desktop.core.models.backbone import backbone_digest, head_of

    path = path.with_suffix(modelfile.WEIGHTS_SUFFIX) if path.suffix.lower() == ".json" else path
    if path.suffix.lower() != modelfile.WEIGHTS_SUFFIX or not modelfile.sidecar_path(path).is_file():
        return None
    try:
        meta = modelfile.read_meta(path)
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - any problem: the torch path loads it and says what is wrong
        logger.info("%s: not read without torch (%s)", path, exc)
        return None
    head = head_of(tensors)
    if head is None or head[0].shape[0] != len(meta.class_names):
        return None
    backbone = backbone_digest(tensors.items())
    if not fp32_graph_path(backbone).is_file():
        return None  # a backbone never exported here: torch exports it once
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    stored = StoredModel(
        key=key,
        arch=meta.arch,
        categories=list(meta.class_names),
        preprocessing=Preprocessing.from_dict(meta.preprocessing, source=str(modelfile.sidecar_path(path))),
        source=modelfile.model_file_source(path, meta),
        backbone=backbone,
        head_file=_write_head(*head),
        weights_name=meta.base_weights,
        custom_file=path,
        meta={"file_sha256": file_hash},
    )
    _write(stored)
    logger.info("%s runs on the cached %s backbone graph with its own head", path.name, meta.arch)
    return stored


def _to_json(stored: StoredModel) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "key": stored.key,
        "arch": stored.arch,
        "categories": list(stored.categories),
        "preprocessing": stored.preprocessing.to_dict(),
        "source": stored.source,
        "backbone": stored.backbone,
        "head": stored.head_file.name,
        "weights_name": stored.weights_name,
        "custom_file": str(stored.custom_file) if stored.custom_file is not None else None,
        "meta": stored.meta,
        "fast": {
            name: {"graph": e.graph.name, "gate": e.gate.to_dict(), "recipe": e.recipe}
            for name, e in stored.fast.items()
        },
        "last_fast": stored.last_fast,
        "written": time.time(),
    }


def _write(stored: StoredModel) -> None:
    path = _manifest_path(stored.key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, json.dumps(_to_json(stored), indent=1).encode(), overwrite=True)  # our cache
    except (OSError, ResNetDesktopError) as exc:
        logger.warning("could not remember %s in the model cache: %s", stored.source, exc)


def _write_head(weight: NDArray[np.float32], bias: NDArray[np.float32]) -> Path:
    digest = hashlib.sha256(weight.tobytes() + bias.tobytes() + str(weight.shape).encode()).hexdigest()[:32]
    path = cache_dir() / "heads" / f"{digest}.npz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_with(path, lambda fh: np.savez(fh, weight=weight, bias=bias), overwrite=True)
    return path


def _identity_meta(loaded: LoadedModel) -> dict[str, Any]:
    """What ``ModelIdentity.of`` reads from ``meta`` (seed, url, a head file's backbone), plus the
    file's hash computed once."""
    meta: dict[str, Any] = {k: loaded.meta[k] for k in ("seed", "url", "backbone") if k in loaded.meta}
    if loaded.custom_file is not None:
        digest = hashlib.sha256()
        with open(loaded.custom_file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        meta["file_sha256"] = digest.hexdigest()
    return meta


def ensure_fp32_graph(loaded: LoadedModel, backbone: str) -> bool:
    """Export the backbone's fp32 graph (torch) when the cache lacks it or holds a damaged one;
    True when it was exported now."""
    from resnet_desktop.core.models.graph import onnx_bytes
    from resnet_desktop.core.models.ort_session import session

    path = fp32_graph_path(backbone)
    try:
        session(path)  # a truncated or damaged cache file is rebuilt below
        return False
    except FileNotFoundError:
        pass
    except (OSError, WeightsError) as exc:
        if path.exists():
            logger.warning("rebuilding the cached ONNX graph %s: %s", path, exc)
    data = onnx_bytes(loaded.model, loaded.preprocessing.crop_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data, overwrite=True)  # our cache, not a user's file
    return True


def remember(loaded: LoadedModel, refs: Sequence[ModelRef] = ()) -> StoredModel:
    """Make ``loaded`` runnable without torch next time: graph, head and manifest (imports torch).

    Written under the key of each of ``refs`` (what the person typed) and of the reference that
    loads ``loaded`` again, so "resnet50" and "resnet50:IMAGENET1K_V2" both find it.
    """
    from resnet_desktop.core.models.graph import model_backbone_digest, model_head
    from resnet_desktop.core.models.ref import ref_of

    backbone = model_backbone_digest(loaded.model)
    head = model_head(loaded.model)
    if head is None:
        raise WeightsError(f"{loaded.source}: the model has no linear head (fc) to run on ONNX Runtime")
    exported = ensure_fp32_graph(loaded, backbone)
    head_file = _write_head(*head)
    meta = _identity_meta(loaded)
    described = StoredModel(
        key="",  # no key at all (the file vanished meanwhile): still usable in this process
        arch=loaded.arch,
        categories=list(loaded.categories),
        preprocessing=loaded.preprocessing,
        source=loaded.source,
        backbone=backbone,
        head_file=head_file,
        weights_name=loaded.weights_name,
        custom_file=loaded.custom_file,
        meta=meta,
    )
    first: StoredModel | None = None
    keys = []
    for ref in (*refs, ref_of(loaded)):
        key = ref_key(ref)
        if key is not None and key not in keys:
            keys.append(key)
    for key in keys:
        earlier = find_key(key)
        same = earlier is not None and earlier.backbone == backbone
        # the same weights keep their verified fast graphs (a cleared head file re-remembers)
        entry = replace(
            described,
            key=key,
            fast=earlier.fast if same and earlier is not None else {},
            last_fast=earlier.last_fast if same and earlier is not None else None,
        )
        _write(entry)
        first = first or entry
    return replace(first or described, exported_now=exported)


def find_key(key: str) -> StoredModel | None:
    data = _read_json(_manifest_path(key))
    return _parse(data, key) if data is not None else None


def record_fast(stored: StoredModel, entry: FastEntry) -> StoredModel:
    """Remember a fast graph and its gate result for ``stored`` (a refusal too: it is not re-tried)."""
    updated = replace(stored, fast={**stored.fast, entry.calibration: entry}, last_fast=entry.calibration)
    if stored.key:
        _write(updated)
    return updated


def photo_set_id(paths: Sequence[Path], *, extra: str = "") -> str:
    """A short digest of a set of photos (path, size, mtime) and whatever else decides the result."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(str(p) for p in paths):
        try:
            st = os.stat(path)
            digest.update(f"{path}|{st.st_size}|{st.st_mtime_ns};".encode())
        except OSError:
            digest.update(f"{path}|missing;".encode())
    return digest.hexdigest()[:16]
