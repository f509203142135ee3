"""The inference front door: a loaded model placed on a device and backend, ready to classify.

``open_engine`` is how every command (classify, organize, similar, duplicates, cluster) and the app
get an ``Engine``: device, batch size, threads, and the backend/precision rule in one place. The
catalog of what can be chosen (architectures, weights entries, devices) is here too, so the app's
model picker and ``--help`` texts come from the same lists. Classifying *through the library index*
is ``core.library.api.classify_photos`` (the library sits above inference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.records import ClassScore, Prediction, Progress

if TYPE_CHECKING:  # types only: importing the engine imports torch
    from resnet_desktop.core.inference.engine import Engine as Engine
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "Catalog",
    "ClassScore",
    "Prediction",
    "Progress",
    "build_catalog",
    "engine_backend",
    "open_engine",
]

#: What runs the model on the CPU ("auto": whichever a short run measured faster; see backends.py).
BACKENDS = ("auto", "torch", "onnxruntime")
#: "fast": an int8 model on ONNX Runtime.
PRECISIONS = ("fp32", "fast")


def engine_backend(backend: str, precision: str) -> str:
    """The backend that really runs ``precision``: the int8 fast mode exists only on ONNX Runtime."""
    if backend not in BACKENDS:
        raise SettingsError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise SettingsError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return "onnxruntime" if precision == "fast" and backend == "torch" else backend


def open_engine(
    loaded: LoadedModel,
    device: str = "auto",
    *,
    backend: str = "torch",
    precision: str = "fp32",
    calibration: Path | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> Engine:
    """``loaded`` on ``device`` with the chosen backend and precision (``calibration``: a folder of the
    person's own photos for the int8 model; the bundled samples otherwise)."""
    import torch

    from resnet_desktop.core.inference.engine import Engine

    if calibration is not None and precision != "fast":
        raise SettingsError("--calibration is for --precision fast only")
    if threads is not None:
        torch.set_num_threads(threads)
    images: Sequence[Path] | None = None
    if calibration is not None:
        from resnet_desktop.core.models.quantize import calibration_images

        images = calibration_images(calibration)
    return Engine(
        loaded,
        device,
        batch_size=batch_size,
        backend=engine_backend(backend, precision),
        precision=precision,
        calibration=images,
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
