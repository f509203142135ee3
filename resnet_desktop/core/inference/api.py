"""The inference front door: a model placed on a device and backend, ready to classify.

``open_classifier`` is how ``classify`` and the app get a classifier for a model reference: the
torch-free ONNX Runtime runner when the graph cache allows it, else an ``Engine``; ``open_engine``
places a model already loaded with torch (organize, similar, duplicates, cluster). Both follow the one
backend/precision rule (``backend_rule``: ``auto`` by default, fast mode only on ONNX Runtime and
only when its gate passes). The
catalog of what can be chosen (architectures, weights entries, devices) is here too, so the app's
model picker and ``--help`` texts come from the same lists. Classifying *through the library index*
is ``core.library.api.classify_photos`` (the library sits above inference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.backend_rule import BACKENDS, DEFAULT_BACKEND, PRECISIONS, Plan, menu_state
from resnet_desktop.core.inference.backend_rule import plan as backend_plan
from resnet_desktop.core.inference.classifier import Classifier, Opened, open_classifier, open_torch_free
from resnet_desktop.core.inference.fast import FastModeRefused, PhotoSet, labeled_photos, split_photos
from resnet_desktop.core.inference.records import ClassScore, Prediction, Progress

if TYPE_CHECKING:  # types only: importing the engine imports torch
    from resnet_desktop.core.inference.engine import Engine as Engine
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel

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
    "Plan",
    "Prediction",
    "Progress",
    "backend_plan",
    "build_catalog",
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
    if folder is not None:
        return labeled_photos(folder)
    from resnet_desktop.core.images import discover
    from resnet_desktop.core.inference import graph_store

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
    return Catalog(
        architectures=tuple(zoo.ARCHITECTURES),
        default_arch=zoo.DEFAULT_ARCH,
        default_weights=zoo.DEFAULT_WEIGHTS,
        random_weights=zoo.RANDOM_WEIGHTS,
        weights=weights,
        devices=[(d.id, d.name) for d in available_devices()],
        versions=versions,
    )
