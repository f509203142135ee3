"""``ModelRef``: the one parsed "which model" value, in the style of torchvision's weights API.

Text becomes a model reference here and nowhere else: the CLI's ``--model``/``--weights`` (every
command), ``evaluate``/``bench``'s repeated ``--model ARCH[:WEIGHTS]``, the app's model chooser and
its remembered settings, the model lab's list. One suffix list says what is a file, one rule says
which architecture a weights file is (our model files name theirs; a plain state dict is read off
its layers), and one :func:`load` builds the model.

Parsing is torch-free (cheap on the GUI thread and in ``--help``); :func:`load` imports torch.

    ModelRef.parse("resnet18")                      # ImageNet default weights of resnet18
    ModelRef.parse("resnet50", "IMAGENET1K_V1")     # a named torchvision entry
    ModelRef.parse("resnet18:random")               # ARCH:WEIGHTS in one string
    ModelRef.parse(None, "pets.safetensors")        # a file: its architecture is detected
    ModelRef.parse("resnet34", "resnet34-ft.pth")   # a file, architecture checked against it
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import WeightsError, WrongArchitectureError
from resnet_desktop.core.models import spec
from resnet_desktop.core.models.spec import FILE_SUFFIXES as FILE_SUFFIXES
from resnet_desktop.core.models.spec import V1_SUFFIX as V1_SUFFIX
from resnet_desktop.core.models.spec import looks_like_file as looks_like_file

if TYPE_CHECKING:  # types only: zoo imports torch
    from resnet_desktop.core.models.weights import ProgressFn
    from resnet_desktop.core.models.zoo import LoadedModel as LoadedModel

KNOWN_ARCHITECTURES = spec.ARCHITECTURES + spec.V1_ARCHITECTURES
DEFAULT_WEIGHTS = "DEFAULT"


@dataclass(frozen=True)
class ModelRef:
    """Which model: an architecture (``None``: the default, or a file's own) and either a torchvision
    weights entry name / ``"random"`` (``weights``; ``None``: the architecture's default) or a file."""

    arch: str | None = None
    weights: str | None = None
    file: Path | None = None

    def __post_init__(self) -> None:
        if self.weights is not None and self.file is not None:
            raise WeightsError("give either a weights name or a weights file, not both")
        if self.arch is not None and self.arch not in KNOWN_ARCHITECTURES:
            raise WeightsError(
                f"unknown model {self.arch!r}; choose one of {', '.join(KNOWN_ARCHITECTURES)} or a model file"
            )

    # -- parsing ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, model: str | None = None, weights: str | None = None) -> ModelRef:
        """``--model`` and ``--weights`` as a person types them (either may be absent).

        ``model`` is an architecture, ``ARCH:WEIGHTS``, or a model/weights file; ``weights`` is a
        torchvision entry name, ``random`` or a file. Raises ``WeightsError`` naming what is wrong.
        """
        model = model.strip() if model is not None and model.strip() else None
        weights = weights.strip() if weights is not None and weights.strip() else None
        if model is None:
            return cls._with_weights(None, weights)
        arch, sep, rest = model.partition(":")
        if sep and arch in KNOWN_ARCHITECTURES and rest.strip():
            if weights is not None:
                raise WeightsError(f"{model!r} already names its weights; leave out --weights {weights}")
            return cls._with_weights(arch, rest.strip())
        if model in KNOWN_ARCHITECTURES:
            return cls._with_weights(model, weights)
        if looks_like_file(model):
            if weights is not None:
                raise WeightsError(f"{model} is a model file; give --weights only with an architecture name")
            return cls(file=Path(model).expanduser())
        raise WeightsError(
            f"unknown model {model!r}; choose one of {', '.join(KNOWN_ARCHITECTURES)} "
            "(optionally ARCH:WEIGHTS) or a model file"
        )

    @classmethod
    def _with_weights(cls, arch: str | None, weights: str | None) -> ModelRef:
        if weights is None:
            return cls(arch=arch)
        if looks_like_file(weights):
            return cls(arch=arch, file=Path(weights).expanduser())
        if weights.lower() == spec.RANDOM_WEIGHTS:
            return cls(arch=arch, weights=spec.RANDOM_WEIGHTS)
        return cls(arch=arch, weights=weights)

    # -- reading it back ---------------------------------------------------------------------

    @property
    def is_file(self) -> bool:
        return self.file is not None

    @property
    def is_random(self) -> bool:
        return self.weights == spec.RANDOM_WEIGHTS

    @property
    def default_arch(self) -> str:
        """The architecture to build when none is given and no file brings its own."""
        return self.arch or spec.DEFAULT_ARCH

    @property
    def weights_or_file(self) -> str | None:
        """The weights as given: the file's path, the entry name, or None for the default."""
        return str(self.file) if self.file is not None else self.weights

    def weights_text(self) -> str:
        """What ``--weights`` would say: the file, the entry name, or the architecture's default."""
        if self.file is not None:
            return str(self.file)
        if self.weights is not None:
            return self.weights
        arch = self.arch or spec.DEFAULT_ARCH
        return spec.RANDOM_WEIGHTS if spec.is_v1(arch) else DEFAULT_WEIGHTS

    def text(self) -> str:
        """One string :meth:`parse` reads back to an equal reference (settings, the lab's list)."""
        if self.file is not None:
            return f"{self.arch}:{self.file}" if self.arch else str(self.file)
        arch = self.arch or spec.DEFAULT_ARCH
        return f"{arch}:{self.weights}" if self.weights else arch

    def label(self) -> str:
        """A short name for tables, charts and the status bar (a file by its name, not its folder)."""
        if self.file is not None:
            return f"{self.arch}:{self.file.name}" if self.arch else self.file.name
        return self.text()

    def describe(self) -> str:
        """For a person: "resnet50 IMAGENET1K_V1", "pets.safetensors", "default model"."""
        if self.file is not None:
            return self.file.name
        if self.arch is None and self.weights is None:
            return "default model"
        arch = self.arch or spec.DEFAULT_ARCH
        return f"{arch} {self.weights}" if self.weights else arch


def detect_arch(path: Path) -> str | None:
    """The architecture of a weights or model file: our model file's sidecar says it; a plain state
    dict is read off its layers (None when it is no torchvision ResNet). Imports torch for .pth files."""
    from resnet_desktop.core.models import modelfile

    if path.suffix.lower() == ".json":
        path = path.with_suffix(modelfile.WEIGHTS_SUFFIX)
    if modelfile.is_model_file(path):
        return modelfile.read_meta(path).arch
    from resnet_desktop.core.models import weights as weights_io

    return weights_io.guess_resnet_arch(weights_io.load_state_dict(path))


def resolve(ref: ModelRef) -> ModelRef:
    """``ref`` with the architecture of its file filled in (the one guessing rule).

    An architecture given with a plain weights file of another ResNet is refused, saying which
    one the file holds (v1 and v1.5 ResNets have the same layers, so ``resnet50-v1`` takes a
    resnet50 file); a file that is no ResNet keeps ``arch`` None and is refused when loaded.
    """
    if ref.file is None:
        return ref
    detected = detect_arch(ref.file)
    if detected is None:
        return ref
    if ref.arch is not None and spec.base_arch(ref.arch) != detected:
        from resnet_desktop.core.models import modelfile

        if modelfile.is_model_file(ref.file):
            return ModelRef(arch=detected, file=ref.file)  # our model file's own architecture wins
        raise WrongArchitectureError(
            f"{ref.file}: these are {detected} weights, but the chosen architecture is {ref.arch}; "
            f"leave out --model (the architecture is detected) or choose --model {detected}"
        )
    return ref if ref.arch is not None else ModelRef(arch=detected, file=ref.file)


def load(
    ref: ModelRef,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Build the model ``ref`` names, downloading torchvision weights with ``progress`` if needed.

    Raises ``WeightsError`` (or a subclass) with a message for a person; never runs code from a file.
    """
    from resnet_desktop.core.models import zoo

    if ref.file is not None:
        # zoo reads the file once: a model file's sidecar names its architecture, a plain state
        # dict is checked against ``ref.arch`` or, without one, loaded as the ResNet its layers show.
        return zoo.load_model(ref.arch, ref.file, progress=progress, cancel=cancel)
    return zoo.load_model(ref.default_arch, ref.weights_text(), progress=progress, cancel=cancel)


def ref_of(loaded: LoadedModel) -> ModelRef:
    """The reference that loads ``loaded`` again (its architecture made explicit)."""
    if loaded.custom_file is not None:
        return ModelRef(arch=loaded.arch, file=loaded.custom_file)
    return ModelRef(arch=loaded.arch, weights=loaded.weights_name)
