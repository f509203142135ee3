"""Torch-free names of the model zoo and the preprocessing recipe a model expects.

Everything here imports neither torch nor torchvision, so the GUI thread, the CLI's ``--help``
and the model-file reader can use it cheaply; ``zoo`` turns these names into real models.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.core.errors import WeightsError

if TYPE_CHECKING:
    from torchvision.transforms._presets import ImageClassification

ARCHITECTURES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
#: ResNet v1 (stride 2 in each downsampling bottleneck's first 1x1 conv, as in He et al. 2015), built
#: from torchvision's v1.5 models by ``models.variants``. No ImageNet weights ship for them: they are
#: for speed comparison and for weights a person supplies.
V1_ARCHITECTURES = ("resnet50-v1", "resnet101-v1", "resnet152-v1")
V1_SUFFIX = "-v1"
DEFAULT_ARCH = "resnet50"
DEFAULT_WEIGHTS = "IMAGENET1K_V2"
RANDOM_WEIGHTS = "random"
RANDOM_SEED = 0
#: torchvision's ``InterpolationMode`` values, so a saved recipe can be checked without importing it.
#: Bounds on a saved recipe: beyond them a file asks for gigabytes per image (crop 4000) or
#: divides by almost zero (std 1e-300), so it is refused when read, never half-way through a run.
MAX_IMAGE_SIDE = 1024
MAX_ABS_MEAN = 10.0
STD_RANGE = (1e-3, 100.0)
INTERPOLATIONS = ("nearest", "nearest-exact", "bilinear", "bicubic", "box", "hamming", "lanczos")
#: What ``export`` writes, and at which numeric precision.
EXPORT_FORMATS = ("onnx", "torchscript")
EXPORT_PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8-static")
#: What a weights or model file may be called (the one list). A ``.json`` is our model file's sidecar
#: (its weights are the ``.safetensors`` next to it).
FILE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors", ".json")
#: torchvision's entry names ("DEFAULT", "IMAGENET1K_V2", "ResNet50_Weights.IMAGENET1K_V1"): never a file.
_ENTRY_NAME = re.compile(r"^(DEFAULT|IMAGENET\w*|\w+_Weights\.\w+)$", re.IGNORECASE)


def looks_like_file(text: str) -> bool:
    """Whether weights text names a file (the one rule): a folder separator, a weights suffix, or an
    existing path that is not a weights name ("random" and "IMAGENET1K_V1" are names, whatever is on disk)."""
    text = text.strip()
    if not text or text.lower() == RANDOM_WEIGHTS or _ENTRY_NAME.match(text):
        return False
    if "/" in text or "\\" in text or text.lower().endswith(FILE_SUFFIXES):
        return True
    return Path(text).expanduser().exists()


def check_arch(arch: str, *, variants: bool = False) -> None:
    """Refuse an architecture we do not know, listing the ones we do (``variants``: v1 names too)."""
    known = ARCHITECTURES + V1_ARCHITECTURES if variants else ARCHITECTURES
    if arch not in known:
        raise WeightsError(f"Unknown architecture '{arch}'; choose one of {', '.join(known)}")


def is_v1(arch: str) -> bool:
    """True for the ResNet v1 names (``resnet50-v1``...)."""
    return arch in V1_ARCHITECTURES


def base_arch(arch: str) -> str:
    """The torchvision architecture a name is built from (``resnet50-v1`` -> ``resnet50``)."""
    return arch.removesuffix(V1_SUFFIX) if is_v1(arch) else arch


def _shown(value: object) -> str:
    """A value for a message, cut short (a sidecar may hold a 5,000-digit number)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to turn into text
        text = "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."


def _size(value: Any) -> int:
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)


@dataclass(frozen=True)
class Preprocessing:
    """The resize/crop/normalise recipe a model expects, in a form that can be saved to JSON."""

    resize_size: int
    crop_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"

    @classmethod
    def from_transforms(cls, t: ImageClassification) -> Preprocessing:
        """Read the values off torchvision's ImageClassification preset (never hand-written)."""
        interpolation = getattr(t.interpolation, "value", t.interpolation)
        mean = tuple(float(x) for x in t.mean)
        std = tuple(float(x) for x in t.std)
        return cls(
            resize_size=_size(t.resize_size),
            crop_size=_size(t.crop_size),
            mean=(mean[0], mean[1], mean[2]),
            std=(std[0], std[1], std[2]),
            interpolation=str(interpolation),
        )

    def reference_transforms(self) -> ImageClassification:
        """A torchvision ImageClassification doing exactly this preprocessing."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms._presets import ImageClassification

        return ImageClassification(
            crop_size=self.crop_size,
            resize_size=self.resize_size,
            mean=self.mean,
            std=self.std,
            interpolation=InterpolationMode(self.interpolation),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "resize_size": self.resize_size,
            "crop_size": self.crop_size,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }

    @classmethod
    def from_dict(cls, data: object, *, source: str = "preprocessing") -> Preprocessing:
        """Validate and build from saved JSON; ``WeightsError`` names ``source`` and the wrong value."""
        if not isinstance(data, dict):
            raise WeightsError(f"{source}: preprocessing must be an object")
        missing = [k for k in ("resize_size", "crop_size", "mean", "std") if k not in data]
        if missing:
            raise WeightsError(f"{source}: preprocessing lacks {', '.join(missing)}")
        sizes: dict[str, int] = {}
        for key in ("resize_size", "crop_size"):
            value = data[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_IMAGE_SIDE:
                raise WeightsError(
                    f"{source}: preprocessing {key} must be a whole number from 1 to {MAX_IMAGE_SIDE}, "
                    f"got {_shown(value)}"
                )
            sizes[key] = value
        triples: dict[str, tuple[float, float, float]] = {}
        for key in ("mean", "std"):
            value = data[key]
            numbers = isinstance(value, list) and len(value) == 3
            if not numbers or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
                raise WeightsError(f"{source}: preprocessing {key} must be a list of 3 numbers, got {_shown(value)}")
            try:
                floats = tuple(float(x) for x in value)
            except OverflowError:  # a 400-digit integer
                floats = (math.inf,)
            if not all(math.isfinite(x) for x in floats):
                raise WeightsError(f"{source}: preprocessing {key} must be finite numbers, got {_shown(value)}")
            triples[key] = (floats[0], floats[1], floats[2])
        if not all(abs(x) <= MAX_ABS_MEAN for x in triples["mean"]):
            raise WeightsError(
                f"{source}: preprocessing mean values must lie between -{MAX_ABS_MEAN:g} and {MAX_ABS_MEAN:g}"
            )
        low, high = STD_RANGE
        if not all(low <= x <= high for x in triples["std"]):
            raise WeightsError(f"{source}: preprocessing std values must lie between {low:g} and {high:g}")
        interpolation = data.get("interpolation", "bilinear")
        if not isinstance(interpolation, str) or interpolation not in INTERPOLATIONS:
            raise WeightsError(f"{source}: preprocessing interpolation {_shown(interpolation)} is not a known mode")
        return cls(
            resize_size=sizes["resize_size"],
            crop_size=sizes["crop_size"],
            mean=triples["mean"],
            std=triples["std"],
            interpolation=str(interpolation),
        )
