"""The inference front door: a model placed on a device and backend, ready to classify.

``open_classifier`` is how ``classify`` and the app get a classifier for a model reference: the
torch-free ONNX Runtime runner when the graph cache allows it, else an ``Engine``; ``open_engine``
places a model already loaded with torch (organize, similar, duplicates, cluster). Both follow the
one backend/precision rule (``backend_rule``: ``auto`` by default, fast mode only on ONNX Runtime and
only when its gate passes). Importing this module is cheap (the window imports it before it is
shown): the classifier, fast-mode and cache modules load on first use. The catalog of what can be
chosen (architectures, weights entries, devices) is here too, so the app's model picker and
``--help`` texts come from the same lists. Classifying *through the library index* is
``core.library.api.classify_photos`` (the library sits above inference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.backend_rule import BACKENDS, DEFAULT_BACKEND, PRECISIONS, Plan, menu_state
from resnet_desktop.core.inference.backend_rule import plan as backend_plan
from resnet_desktop.core.inference.records import ClassScore, Prediction, Progress

if TYPE_CHECKING:  # the engine imports torch; the others numpy, Pillow and ONNX Runtime's helpers
    from resnet_desktop.core.inference.classifier import Classifier as Classifier
    from resnet_desktop.core.inference.classifier import Opened as Opened
    from resnet_desktop.core.inference.classifier import open_classifier as open_classifier
    from resnet_desktop.core.inference.classifier import open_torch_free as open_torch_free
    from resnet_desktop.core.inference.engine import Engine as Engine
    from resnet_desktop.core.inference.fast import FastModeRefused as FastModeRefused
    from resnet_desktop.core.inference.fast import PhotoSet as PhotoSet
    from resnet_desktop.core.inference.fast import labeled_photos as labeled_photos
    from resnet_desktop.core.inference.fast import split_photos as split_photos
    from resnet_desktop.core.inference.graph_store import StoredModel as StoredModel
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel

#: Names served on first use (PEP 562), so importing the front door stays cheap.
_LAZY = {
    "Classifier": "resnet_desktop.core.inference.classifier",
    "Opened": "resnet_desktop.core.inference.classifier",
    "open_classifier": "resnet_desktop.core.inference.classifier",
    "open_torch_free": "resnet_desktop.core.inference.classifier",
    "FastModeRefused": "resnet_desktop.core.inference.fast",
    "PhotoSet": "resnet_desktop.core.inference.fast",
    "labeled_photos": "resnet_desktop.core.inference.fast",
    "split_photos": "resnet_desktop.core.inference.fast",
    "StoredModel": "resnet_desktop.core.inference.graph_store",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "PRECISIONS",
    "Catalog",
    "ClassScore",
    "Classifier",
    "FastModeRefused",
    "Opened",
    "PhotoSet",
    "StoredModel",
    "Plan",
    "Prediction",
    "Progress",
    "backend_plan",
    "build_catalog",
    "cached_catalog",
    "fast_photos",
    "labeled_photos",
    "menu_state",
    "open_classifier",
    "open_engine",
    "open_torch_free",
    "split_photos",
]


def fast_photos(ref: ModelRef, precision: str, folder: Path | None, inputs: Sequence[Path]) -> PhotoSet | None:
    """The photos fast mode calibrates and verifies on: ``folder`` (labeled when its subfolders are
    class names); else None when ``ref`` has a verified fast model already (it is reused); else the
    photos of ``inputs``. ``folder`` without the fast precision is refused."""
    if precision != "fast":
        if folder is not None:
            raise SettingsError("--calibration is for --precision fast only")
        return None
    from resnet_desktop.core.images import discover
    from resnet_desktop.core.inference import graph_store
    from resnet_desktop.core.inference.fast import labeled_photos, split_photos

    if folder is not None:
        return labeled_photos(folder)

    stored = graph_store.find(ref)
    if stored is not None and stored.verified_fast() is not None:
        return None
    return split_photos(list(discover(list(inputs))))


def open_engine(
    loaded: LoadedModel,
    device: str = "auto",
    *,
    backend: str = DEFAULT_BACKEND,
    precision: str = "fp32",
    photos: PhotoSet | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
    ref: ModelRef | None = None,
    say: Callable[[str], None] | None = None,
) -> Engine:
    """``loaded`` (already in memory, for jobs that need the torch model anyway) on ``device`` with the
    backend and precision the one rule (``backend_rule``) resolves; fast mode needs ``photos`` or a
    verified fast model of ``ref``. Classifying alone should use ``open_classifier`` (torch-free when it can)."""
    import torch

    from resnet_desktop.core.inference.engine import Engine

    if threads is not None:
        torch.set_num_threads(threads)
    return Engine(
        loaded,
        device,
        batch_size=batch_size,
        backend=backend,
        precision=precision,
        photos=photos,
        ref=ref,
        say=say,
    )


@dataclass(frozen=True)
class Catalog:
    """What can be chosen: known once torch/torchvision are imported (off the GUI thread)."""

    architectures: tuple[str, ...]
    default_arch: str
    default_weights: str
    random_weights: str
    #: arch -> [(weights name, description)], torchvision's entries.
    weights: dict[str, list[tuple[str, str]]]
    #: [(device id, human name)], best first ("auto" is not listed).
    devices: list[tuple[str, str]]
    #: Library versions for Help > About.
    versions: dict[str, str]


CATALOG_FILE = "catalog.json"


def _catalog_key() -> str:
    from resnet_desktop.core.models.backbone import package_version

    return f"torch{package_version('torch')}|torchvision{package_version('torchvision')}"


def cached_catalog(extra_versions: dict[str, str] | None = None) -> Catalog | None:
    """The catalog the last torch start built, if the libraries are unchanged: a torch-free start
    (a cached ONNX Runtime model) lists models and devices without importing torch."""
    import json
    import sys

    from resnet_desktop.core.inference.graph_store import cache_dir

    try:
        data = json.loads((cache_dir() / CATALOG_FILE).read_text(encoding="utf-8"))
        if data.get("key") != _catalog_key():
            return None
        return Catalog(
            architectures=tuple(str(a) for a in data["architectures"]),
            default_arch=str(data["default_arch"]),
            default_weights=str(data["default_weights"]),
            random_weights=str(data["random_weights"]),
            weights={str(k): [(str(n), str(t)) for n, t in v] for k, v in data["weights"].items()},
            devices=[(str(i), str(n)) for i, n in data["devices"]],
            versions={
                **{str(k): str(v) for k, v in data["versions"].items()},
                **(extra_versions or {}),
                "Python": sys.version.split()[0],
            },
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _remember_catalog(catalog: Catalog) -> None:
    import json

    from resnet_desktop.core.atomic import write_bytes
    from resnet_desktop.core.errors import ResNetDesktopError
    from resnet_desktop.core.inference.graph_store import cache_dir

    data = {
        "key": _catalog_key(),
        "architectures": list(catalog.architectures),
        "default_arch": catalog.default_arch,
        "default_weights": catalog.default_weights,
        "random_weights": catalog.random_weights,
        "weights": catalog.weights,
        "devices": catalog.devices,
        "versions": {k: v for k, v in catalog.versions.items() if k in ("torch", "torchvision")},
    }
    path = cache_dir() / CATALOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, json.dumps(data).encode(), overwrite=True)
    except (OSError, ResNetDesktopError):
        pass  # only a faster next start is lost


def build_catalog(extra_versions: dict[str, str] | None = None) -> Catalog:
    import sys

    import torch
    import torchvision

    from resnet_desktop.core.devices import available_devices
    from resnet_desktop.core.models import zoo

    weights: dict[str, list[tuple[str, str]]] = {}
    for info in zoo.list_weights():
        default = " (default)" if info.is_default else ""
        text = f"{info.name}{default}: top-1 {info.acc1:.1f}%, {info.file_size_mb:.0f} MB"
        weights.setdefault(info.arch, []).append((info.name, text))
    versions = {"Python": sys.version.split()[0], **(extra_versions or {})}
    versions.update({"torch": torch.__version__, "torchvision": torchvision.__version__})
    catalog = Catalog(
        architectures=tuple(zoo.ARCHITECTURES),
        default_arch=zoo.DEFAULT_ARCH,
        default_weights=zoo.DEFAULT_WEIGHTS,
        random_weights=zoo.RANDOM_WEIGHTS,
        weights=weights,
        devices=[(d.id, d.name) for d in available_devices()],
        versions=versions,
    )
    _remember_catalog(catalog)
    return catalog
