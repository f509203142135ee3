"""Check and fit state dicts: value and size bounds, unwrapping, architecture guesses, strict apply.

Everything here works on an already loaded mapping of names to tensors; nothing reads files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from resnet_desktop.core.errors import WeightsError, WrongArchitectureError
from resnet_desktop.core.models.spec import ARCHITECTURES

_WRAPPER_KEYS = ("state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.")
_MAX_LISTED = 5
#: Bounds that keep a hostile file from taking the machine's memory (ImageNet-21k has 21,841 classes).
MAX_CLASSES = 100_000
MAX_PARAMETERS = 400_000_000

# Block counts per stage and block type of the torchvision ResNets, to name what a file holds.
_RESNET_LAYOUTS: dict[tuple[bool, tuple[int, ...]], str] = {
    (False, (2, 2, 2, 2)): "resnet18",
    (False, (3, 4, 6, 3)): "resnet34",
    (True, (3, 4, 6, 3)): "resnet50",
    (True, (3, 4, 23, 3)): "resnet101",
    (True, (3, 8, 36, 3)): "resnet152",
}


def check_values(state: Mapping[str, Tensor], path: str | Path) -> None:
    """Sizes first (a tiny file can declare a huge tensor through zero strides), then dtypes and
    finiteness, so NaN/Inf weights never turn into NaN probabilities."""
    fc = state.get("fc.weight")
    if fc is not None and fc.dim() == 2:
        if fc.shape[0] < 1:
            raise WeightsError(f"{path}: the classifier layer (fc.weight) has no outputs (0 classes)")
        if fc.shape[0] > MAX_CLASSES:
            raise WeightsError(
                f"{path}: the classifier claims {fc.shape[0]:,} classes; at most {MAX_CLASSES:,} are supported"
            )
    total = sum(t.numel() for t in state.values())
    if total > MAX_PARAMETERS:
        raise WeightsError(
            f"{path}: the weights hold {total:,} numbers; at most {MAX_PARAMETERS:,} are supported "
            f"(a ResNet-152 has about 60 million)"
        )
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue  # a counter, not a weight
        if not tensor.is_floating_point():
            raise WeightsError(f"{path}: {key} holds {str(tensor.dtype).removeprefix('torch.')} values, not weights")
        if not bool(torch.isfinite(tensor).all()):
            raise WeightsError(
                f"{path}: {key} contains NaN or infinite values; the file is damaged or its training diverged"
            )


def clean_state_dict(raw: object, path: Path) -> dict[str, Tensor]:
    """Unwrap training checkpoints and strip DataParallel / torch.compile key prefixes."""
    for _ in range(3):
        if isinstance(raw, Mapping) and not all(isinstance(v, Tensor) for v in raw.values()):
            inner = next((raw[k] for k in _WRAPPER_KEYS if isinstance(raw.get(k), Mapping)), None)
            if inner is None:
                break
            raw = inner
    if not isinstance(raw, Mapping) or not raw:
        raise WeightsError(f"{path}: does not contain a state dict (a mapping of names to tensors)")
    bad = [str(k) for k, v in raw.items() if not isinstance(v, Tensor)]
    if bad:
        raise WeightsError(f"{path}: not a state dict; these entries are not tensors: {', '.join(bad[:_MAX_LISTED])}")
    state: dict[str, Tensor] = {}
    for key, value in raw.items():
        name = str(key)
        stripped = True
        while stripped:
            stripped = False
            for prefix in _PREFIXES:
                if name.startswith(prefix):
                    name = name[len(prefix) :]
                    stripped = True
        state[name] = value
    return state


def guess_resnet_arch(state: Mapping[str, Tensor]) -> str | None:
    """Name the torchvision ResNet whose layout these keys have, or None if it is none of them."""
    bottleneck = "layer1.0.conv3.weight" in state
    counts = []
    for stage in range(1, 5):
        pattern = re.compile(rf"^layer{stage}\.(\d+)\.")
        blocks = {int(m.group(1)) for k in state if (m := pattern.match(k))}
        counts.append(len(blocks))
    name = _RESNET_LAYOUTS.get((bottleneck, tuple(counts)))
    conv1 = state.get("layer1.0.conv1.weight")
    conv2 = state.get("layer1.0.conv2.weight")
    if name is None or conv1 is None or conv2 is None:
        return None
    if conv1.shape[0] != 64 or conv2.shape[1] != 64:  # wide ResNet or ResNeXt
        return None
    return name


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def describe_mismatch(model: nn.Module, state: Mapping[str, Tensor], *, source: str) -> str | None:
    """A person-readable account of why ``state`` does not fit ``model``, or None if it fits."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: file {list(state[k].shape)} vs model {list(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({_listing(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({_listing(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches ({_listing(shapes)})")
    model_arch, file_arch = guess_resnet_arch(expected), guess_resnet_arch(state)
    hint = ""
    if file_arch and file_arch != model_arch:
        hint = f" These look like {file_arch} weights: choose the {file_arch} architecture (--model {file_arch})."
    target = f"the {model_arch} model" if model_arch else "the model"
    return f"{source}: the weights do not fit {target}: " + "; ".join(parts) + "." + hint


def other_architecture(state: Mapping[str, Tensor]) -> str | None:
    """For weights that are no ResNet at all, a guess at what they are ("MobileNet?"); else None."""
    keys = list(state)
    if any(k.startswith(("layer1.", "conv1.")) for k in keys):
        return None  # a ResNet (or close): describe_mismatch says what does not fit
    joined = "\n".join(keys)
    guesses = (
        ("denseblock", "DenseNet"),
        ("encoder.layers.", "Vision Transformer"),
        ("conv_proj.", "Vision Transformer"),
        ("stages.", "ConvNeXt/Swin"),
        (".block.", "EfficientNet"),
        (".conv.", "MobileNet"),
        ("Mixed_", "Inception"),
        ("features.", "VGG/AlexNet"),
    )
    if re.search(r"^features\.\d+\.block\.", joined, re.M):
        return "MobileNet"  # MobileNetV3; EfficientNet nests one level deeper (features.N.M.block)
    for marker, name in guesses:
        if marker in joined:
            return name
    return "not a ResNet"


def check_is_resnet(state: Mapping[str, Tensor], *, source: str | Path) -> None:
    """Refuse weights of another kind of network, naming the kind when the keys show it ("MobileNet?")."""
    other = other_architecture(state)
    if other is not None:
        hint = other if other == "not a ResNet" else f"{other}?"
        raise WrongArchitectureError(
            f"{source}: this file is for another architecture ({hint}); ResNet Desktop runs ResNet weights "
            f"({', '.join(ARCHITECTURES)})"
        )


def apply_state_dict(model: nn.Module, state: Mapping[str, Tensor], *, source: str | Path) -> None:
    """Strictly load ``state`` into ``model``; on any mismatch say exactly what does not fit."""
    check_is_resnet(state, source=source)
    problem = describe_mismatch(model, state, source=str(source))
    if problem:
        raise WeightsError(problem)
    try:
        model.load_state_dict(dict(state), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: the weights do not fit the model: {exc}") from exc
