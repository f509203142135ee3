"""Opening a head file (model-file format 2): find its backbone, check it, put the head on it.

The backbone is what the head was taught on. A torchvision weights name (or ``random``) is loaded
the usual way (the download cache, ``RESNET_DESKTOP_OFFLINE`` respected). A weights file is looked
for where it was when the head was saved, then next to the head file (a folder copied to another
machine with both files in it), and must have the SHA-256 recorded: a head on other backbone
weights would give confident nonsense, so a missing or changed file is refused, saying which.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from torch import Tensor, nn

from resnet_desktop.core.errors import WeightsError, WeightsMissingError
from resnet_desktop.core.models import modelfile

if TYPE_CHECKING:
    from resnet_desktop.core.models.weights import ProgressFn


class LoadedModel(Protocol):
    """What this module reads of ``zoo.LoadedModel`` (``zoo`` imports this module, not the reverse)."""

    @property
    def model(self) -> nn.Module: ...

    @property
    def arch(self) -> str: ...

    @property
    def meta(self) -> Mapping[str, object]: ...

    @property
    def custom_file(self) -> Path | None: ...

    @property
    def weights_name(self) -> str | None: ...


def sha256_file(path: Path) -> str:
    """The SHA-256 a head file records for its backbone weights file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def backbone_file(path: Path, backbone: modelfile.BackboneRef) -> Path:
    """The backbone weights file of the head file ``path``: where it was, else next to ``path``."""
    assert backbone.file is not None and backbone.file_name is not None
    places = list(dict.fromkeys([Path(backbone.file), path.parent / backbone.file_name]))
    found = [p for p in places if p.is_file()]
    sha = f" (sha256 {backbone.sha256[:12]}…)" if backbone.sha256 else ""
    if not found:
        raise WeightsMissingError(
            f"{path.name}: its backbone weights {backbone.file_name}{sha} are not at {backbone.file} nor next "
            f"to the model file; copy {backbone.file_name} into {path.parent} (the head alone cannot classify)"
        )
    changed = []
    for candidate in found:
        try:
            if backbone.sha256 is None or sha256_file(candidate) == backbone.sha256:
                return candidate
        except OSError as exc:
            raise WeightsError(f"{candidate}: cannot read the backbone weights: {exc.strerror}") from exc
        changed.append(str(candidate))
    raise WeightsError(
        f"{path.name}: its backbone weights {' and '.join(changed)} have changed since the model was saved "
        f"(expected sha256 {backbone.sha256}); put the original {backbone.file_name} back, or teach again"
    )


class LoadModel(Protocol):
    """``zoo.load_model``'s signature (passed in: ``zoo`` imports this module)."""

    def __call__(
        self,
        arch: str | None,
        weights: str | Path,
        *,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> LoadedModel: ...


def load_head_file(
    path: Path,
    meta: modelfile.ModelFileMeta,
    state: Mapping[str, Tensor],
    load_model: LoadModel,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """The backbone named by ``meta`` (built by ``load_model``) with the head in ``state`` as its ``fc``."""
    backbone = meta.backbone
    assert backbone is not None
    if backbone.file is not None:
        weights_path = backbone_file(path, backbone)
        if modelfile.is_model_file(weights_path) and modelfile.read_meta(weights_path).backbone is not None:
            raise WeightsError(
                f"{path.name}: its backbone {weights_path.name} is itself a head file; that is not supported"
            )
        base = load_model(meta.arch, weights_path, progress=progress, cancel=cancel)
    else:
        assert backbone.weights is not None
        base = load_model(meta.arch, backbone.weights, progress=progress, cancel=cancel)
    if base.arch != meta.arch:
        raise WeightsError(f"{path.name}: its backbone is {base.arch}, but the model file says {meta.arch}")
    old = base.model.get_submodule("fc")
    weight, bias = state["fc.weight"], state["fc.bias"]
    features = int(getattr(old, "in_features", 0))
    if weight.dim() != 2 or int(weight.shape[1]) != features or tuple(bias.shape) != (int(weight.shape[0]),):
        raise WeightsError(
            f"{path.name}: the head reads {weight.shape[-1]} features but its backbone "
            f"{backbone.describe()} gives {features}; the two do not belong together"
        )
    head = nn.Linear(features, int(weight.shape[0]))
    head.load_state_dict({"weight": weight.float(), "bias": bias.float()})
    base.model.fc = head
    return base


def backbone_ref_of(loaded: LoadedModel) -> modelfile.BackboneRef:
    """How a head file taught on ``loaded``'s backbone refers to it (a head file's own backbone when
    ``loaded`` is one: a reference never points at another head)."""
    own = loaded.meta.get("backbone")
    if isinstance(own, dict) and loaded.custom_file is not None:
        return modelfile.BackboneRef.from_dict(own, loaded.custom_file)
    if loaded.custom_file is not None:
        file = Path(loaded.custom_file).absolute()
        return modelfile.BackboneRef(file=str(file), sha256=sha256_file(file))
    from resnet_desktop.core.models.spec import RANDOM_WEIGHTS

    return modelfile.BackboneRef(weights=loaded.weights_name or RANDOM_WEIGHTS)


def save_head_file(
    path: str | Path,
    weight: Tensor,
    bias: Tensor,
    *,
    base: LoadedModel | modelfile.BackboneRef,
    arch: str,
    class_names: list[str],
    preprocessing: dict[str, object],
    metrics: dict[str, object] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a head file (format 2): ``fc`` = (``weight``, ``bias``) on ``base``'s backbone."""
    backbone = base if isinstance(base, modelfile.BackboneRef) else backbone_ref_of(base)
    meta = modelfile.ModelFileMeta(
        arch=arch,
        class_names=list(class_names),
        preprocessing=dict(preprocessing),
        base_weights=backbone.describe(),
        metrics=dict(metrics or {}),
        mode="head",
        backbone=backbone,
    )
    return modelfile.save_model_file(path, {"fc.weight": weight, "fc.bias": bias}, meta, overwrite=overwrite)
