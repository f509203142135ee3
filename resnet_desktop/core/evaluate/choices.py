"""A model to evaluate or time, written as one string: ``ARCH``, ``ARCH:WEIGHTS`` or a model file.

``resnet50``, ``resnet50:IMAGENET1K_V1``, ``resnet50-v1:random``, ``~/models/pets.safetensors``,
``resnet18:weights.pth``. The CLI's repeated ``--model`` and the GUI's model list both use it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.models import spec

if TYPE_CHECKING:
    from resnet_desktop.core.models.weights import ProgressFn
    from resnet_desktop.core.models.zoo import LoadedModel

_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors", ".json")
KNOWN_ARCHITECTURES = spec.ARCHITECTURES + spec.V1_ARCHITECTURES


@dataclass(frozen=True)
class ModelChoice:
    """``arch`` None: the default (or a model file's own); ``weights`` None: the arch's default."""

    arch: str | None = None
    weights: str | None = None

    @property
    def is_file(self) -> bool:
        return self.weights is not None and _looks_like_file(self.weights)

    def label(self) -> str:
        """A short name for tables and charts."""
        if self.is_file:
            name = Path(str(self.weights)).name
            return f"{self.arch}:{name}" if self.arch else name
        arch = self.arch or spec.DEFAULT_ARCH
        return f"{arch}:{self.weights}" if self.weights else arch


def _looks_like_file(text: str) -> bool:
    text = text.strip()
    return "/" in text or "\\" in text or text.lower().endswith(_FILE_SUFFIXES) or Path(text).expanduser().exists()


def parse_choice(text: str, default_weights: str | None = None) -> ModelChoice:
    """Read one model string; ``WeightsError`` names what is wrong with it."""
    text = text.strip()
    if not text:
        raise WeightsError("An empty model name was given.")
    arch, sep, rest = text.partition(":")
    if sep and arch in KNOWN_ARCHITECTURES:
        return ModelChoice(arch, rest.strip() or default_weights)
    if text in KNOWN_ARCHITECTURES:
        return ModelChoice(text, default_weights)
    if _looks_like_file(text):
        return ModelChoice(None, text)
    raise WeightsError(
        f"Unknown model {text!r}; give one of {', '.join(KNOWN_ARCHITECTURES)} (optionally ARCH:WEIGHTS) "
        "or a model file"
    )


def load_choice(
    choice: ModelChoice,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Load the model a choice names (downloading torchvision weights with progress if needed).

    A plain weights file without an architecture is loaded as the architecture its keys show.
    """
    from resnet_desktop.core.models import weights as weights_io
    from resnet_desktop.core.models import zoo

    arch = choice.arch
    weights = choice.weights
    if weights is None:
        weights = spec.RANDOM_WEIGHTS if arch is not None and spec.is_v1(arch) else "DEFAULT"
    if arch is None and choice.is_file:
        path = Path(weights).expanduser()
        from resnet_desktop.core.models import modelfile

        if not modelfile.is_model_file(path) and path.suffix.lower() != ".json":
            arch = weights_io.guess_resnet_arch(weights_io.load_state_dict(path))
            if arch is None:
                raise WeightsError(f"{path}: these weights are not a torchvision ResNet; say which with ARCH:FILE")
    return zoo.load_model(arch or spec.DEFAULT_ARCH, weights, progress=progress, cancel=cancel)


def cached_default_weights(arch: str) -> str | None:
    """The arch's default torchvision weights name when its file is already on this machine, else None."""
    from resnet_desktop.core.models import weights as weights_io
    from resnet_desktop.core.models import zoo

    if spec.is_v1(arch):
        return None
    info = zoo.get_weights_info(arch, "DEFAULT")
    return info.name if weights_io.cache_path_for(info.url).is_file() else None
