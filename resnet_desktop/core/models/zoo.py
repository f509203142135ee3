"""Architectures x weights: one entry ties builder, weights, transforms, categories and meta.

Everything about torchvision's weights (categories, mean/std, sizes, published accuracy) is read
from torchvision's own registry, never written down here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum, get_model_weights
from torchvision.transforms._presets import ImageClassification

from resnet_desktop.core.errors import WeightsError, WrongArchitectureError
from resnet_desktop.core.models import modelfile
from resnet_desktop.core.models import weights as weights_io
from resnet_desktop.core.models.spec import (
    ARCHITECTURES,
    DEFAULT_ARCH,
    DEFAULT_WEIGHTS,
    RANDOM_SEED,
    RANDOM_WEIGHTS,
    V1_ARCHITECTURES,
    Preprocessing,
    base_arch,
    check_arch,
    is_v1,
    looks_like_file,
)

__all__ = [  # the spec names are re-exported: "zoo" is where people look for them
    "ARCHITECTURES",
    "DEFAULT_ARCH",
    "DEFAULT_WEIGHTS",
    "RANDOM_SEED",
    "RANDOM_WEIGHTS",
    "V1_ARCHITECTURES",
    "LoadedModel",
    "Preprocessing",
    "WeightsInfo",
    "build_model",
    "check_arch",
    "get_weights_info",
    "list_weights",
    "load_model",
]

# The classic ImageNet evaluation recipe (resize 256, crop 224): used for files without their own.
_PLAIN_FILE_RECIPE = "IMAGENET1K_V1"


@dataclass(frozen=True)
class WeightsInfo:
    """One torchvision weights entry, with what the GUI shows about it."""

    arch: str
    name: str
    url: str
    categories: tuple[str, ...] = field(repr=False)
    num_params: int
    gflops: float
    acc1: float
    acc5: float
    file_size_mb: float
    enum: WeightsEnum = field(repr=False, compare=False)
    is_default: bool = False

    def transforms(self) -> ImageClassification:
        """torchvision's own reference preprocessing for this entry."""
        return self.enum.transforms()

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_transforms(self.transforms())


def _info(arch: str, member: WeightsEnum, default: WeightsEnum) -> WeightsInfo:
    meta = member.meta
    metrics = meta["_metrics"]["ImageNet-1K"]
    return WeightsInfo(
        arch=arch,
        name=member.name,
        url=member.url,
        categories=tuple(meta["categories"]),
        num_params=int(meta["num_params"]),
        gflops=float(meta["_ops"]),
        acc1=float(metrics["acc@1"]),
        acc5=float(metrics["acc@5"]),
        file_size_mb=float(meta["_file_size"]),
        enum=member,
        is_default=member is default,
    )


def list_weights(arch: str | None = None) -> list[WeightsInfo]:
    """Every ImageNet weights entry torchvision has for one (or every) supported ResNet."""
    archs = ARCHITECTURES if arch is None else (arch,)
    result: list[WeightsInfo] = []
    for name in archs:
        check_arch(name)
        enum_cls = get_model_weights(name)
        default = enum_cls.DEFAULT
        result.extend(_info(name, member, default) for member in enum_cls)
    return result


def get_weights_info(arch: str, name: str = "DEFAULT") -> WeightsInfo:
    """Look up one entry by name ("IMAGENET1K_V1", "DEFAULT", or "ResNet50_Weights.IMAGENET1K_V2")."""
    check_arch(arch)
    wanted = name.split(".")[-1].strip().upper()
    entries = list_weights(arch)
    for info in entries:
        if info.name == wanted or (wanted == "DEFAULT" and info.is_default):
            return info
    names = ", ".join(["DEFAULT", *(i.name for i in entries), RANDOM_WEIGHTS])
    raise WeightsError(f"{arch} has no weights named '{name}'; choose one of {names}, or a weights file")


def build_model(arch: str, num_classes: int = 1000) -> nn.Module:
    """A randomly initialised ResNet (never downloads anything); v1 names too (``variants``)."""
    check_arch(arch, variants=True)
    if num_classes < 1:
        raise WeightsError(f"A model needs at least one output class, got {num_classes}")
    model = torchvision.models.get_model(base_arch(arch), weights=None, num_classes=num_classes)
    if is_v1(arch):
        from resnet_desktop.core.models.variants import to_v1

        model = to_v1(model)
    return model


@dataclass
class LoadedModel:
    """A ready-to-run model (eval mode, CPU) plus everything needed to use and describe it."""

    model: nn.Module
    arch: str
    categories: list[str]
    preprocessing: Preprocessing
    source: str
    weights_name: str | None = None
    custom_file: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.categories)


def _is_path(weights: str | Path) -> bool:
    """A file when it looks like one (``ref.looks_like_file``: the one rule); else an entry name."""
    return isinstance(weights, Path) or looks_like_file(str(weights))


def cached_default_weights(arch: str) -> str | None:
    """The arch's default torchvision weights name when its file is already on this machine, else None."""
    if is_v1(arch):
        return None
    info = get_weights_info(arch, "DEFAULT")
    return info.name if weights_io.cache_path_for(info.url).is_file() else None


def _ready(model: nn.Module) -> nn.Module:
    return model.to("cpu").eval()


def load_model(
    arch: str | None = DEFAULT_ARCH,
    weights: str | Path = DEFAULT_WEIGHTS,
    *,
    progress: weights_io.ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Build ``arch`` with ``weights``: a torchvision entry name, "random", or a weights file.

    For our own model files (a sidecar JSON next to the weights) the file's architecture, class
    names and preprocessing win over ``arch``; for a plain weights file ``arch`` None means "the
    one its layers show". Callers outside ``core.models`` go through ``ref.load(ModelRef)``.
    """
    if _is_path(weights):
        return _load_file(arch, Path(weights).expanduser(), progress=progress, cancel=cancel)
    arch = arch or DEFAULT_ARCH
    check_arch(arch, variants=True)
    if str(weights).strip().lower() == RANDOM_WEIGHTS:
        return _load_random(arch)
    if is_v1(arch):
        raise WeightsError(
            f"torchvision has no ImageNet weights for {arch} (its {base_arch(arch)} weights are v1.5); "
            f"use 'random' weights to compare speed, or a weights file of your own"
        )
    info = get_weights_info(arch, str(weights))
    path = weights_io.fetch(info.url, progress=progress, cancel=cancel)
    state = weights_io.load_state_dict(path)
    model = build_model(arch, len(info.categories))
    weights_io.apply_state_dict(model, state, source=path)
    return LoadedModel(
        model=_ready(model),
        arch=arch,
        categories=list(info.categories),
        preprocessing=info.preprocessing,
        source=f"{arch} {info.name} (torchvision)",
        weights_name=info.name,
        meta={
            "num_params": info.num_params,
            "gflops": info.gflops,
            "acc1": info.acc1,
            "acc5": info.acc5,
            "file_size_mb": info.file_size_mb,
            "url": info.url,
            "file": str(path),
        },
    )


def _imagenet_entry(arch: str) -> WeightsInfo:
    return get_weights_info(base_arch(arch), _PLAIN_FILE_RECIPE)


def _load_random(arch: str) -> LoadedModel:
    """Seeded random weights: the same numbers every time, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        model = build_model(arch, 1000)
    entry = _imagenet_entry(arch)
    return LoadedModel(
        model=_ready(model),
        arch=arch,
        categories=list(entry.categories),
        preprocessing=entry.preprocessing,
        source=f"{arch} with random weights (seed {RANDOM_SEED}, predictions are meaningless)",
        weights_name=RANDOM_WEIGHTS,
        meta={"seed": RANDOM_SEED},
    )


def _load_file(
    arch: str | None,
    path: Path,
    *,
    progress: weights_io.ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    if path.suffix.lower() == ".json":
        path = path.with_suffix(".safetensors")
    if modelfile.is_model_file(path):
        return _load_model_file(path, progress=progress, cancel=cancel)
    if arch is not None:
        check_arch(arch, variants=True)
    state = weights_io.load_state_dict(path)
    guessed = weights_io.guess_resnet_arch(state)  # v1 and v1.5 state dicts have the same keys
    if arch is None:
        if guessed is None:
            weights_io.check_is_resnet(state, source=path)  # names another network ("MobileNet?")
            raise WrongArchitectureError(
                f"{path}: these weights are not one of the torchvision ResNets ({', '.join(ARCHITECTURES)}): "
                "their layers do not match any of them"
            )
        arch = guessed
    elif guessed is not None and guessed != base_arch(arch):
        raise WrongArchitectureError(
            f"{path}: these are {guessed} weights, but the chosen architecture is {arch}; "
            f"leave out --model (the architecture is detected) or choose --model {guessed}"
        )
    fc = state.get("fc.weight")
    num_classes = int(fc.shape[0]) if fc is not None and fc.dim() == 2 else 1000
    model = build_model(arch, num_classes)
    weights_io.apply_state_dict(model, state, source=path)
    entry = _imagenet_entry(arch)
    categories = list(entry.categories) if num_classes == 1000 else [f"class {i}" for i in range(num_classes)]
    return LoadedModel(
        model=_ready(model),
        arch=arch,
        categories=categories,
        preprocessing=entry.preprocessing,
        source=f"{arch} from {path.name}",
        custom_file=path,
        meta={"num_classes": num_classes, "file": str(path)},
    )


def _load_model_file(
    path: Path,
    *,
    progress: weights_io.ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    meta = modelfile.read_meta(path)
    state = weights_io.load_state_dict(path)
    modelfile.check_state_matches(meta, state, path)
    preprocessing = Preprocessing.from_dict(meta.preprocessing, source=str(modelfile.sidecar_path(path)))
    if meta.backbone is not None:
        from resnet_desktop.core.models.headfile import load_head_file

        base = load_head_file(path, meta, state, load_model, progress=progress, cancel=cancel)
        return LoadedModel(
            model=_ready(base.model),
            arch=meta.arch,
            categories=list(meta.class_names),
            preprocessing=preprocessing,
            source=f"{path.name} ({meta.arch}, {len(meta.class_names)} classes, taught on {meta.backbone.describe()})",
            weights_name=meta.backbone.weights,
            custom_file=path,
            meta=meta.to_dict(),
        )
    model = build_model(meta.arch, len(meta.class_names))
    weights_io.apply_state_dict(model, state, source=path)
    return LoadedModel(
        model=_ready(model),
        arch=meta.arch,
        categories=list(meta.class_names),
        preprocessing=preprocessing,
        source=modelfile.model_file_source(path, meta),
        weights_name=meta.base_weights,
        custom_file=path,
        meta=meta.to_dict(),
    )
