"""Our fine-tuned model format: ``name.safetensors`` weights plus a ``name.json`` sidecar.

safetensors cannot carry code, so opening a model file someone sent you is safe; the sidecar
says what the weights mean (architecture, class names, preprocessing) in plain, readable JSON.
Both files are written atomically and together, and never over an existing file by accident.

Format version 1 holds the whole network. Version 2 (a *head file*: what a label set's version
is) holds only ``fc.weight``/``fc.bias`` plus, in the sidecar, a reference to its backbone: a
torchvision weights name or ``random`` (found through the usual download cache), or a weights
file by path and SHA-256 (looked for there, then next to the model file). ``zoo`` loads both.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop import __version__
from resnet_desktop.core.atomic import AtomicFile, atomic_group, check_writable
from resnet_desktop.core.errors import IncompleteModelError, WeightsError
from resnet_desktop.core.models.spec import ARCHITECTURES, Preprocessing

if TYPE_CHECKING:
    from torch import Tensor, nn

logger = logging.getLogger(__name__)

FORMAT_NAME = "resnet-desktop-model"
FORMAT_VERSION = 2
#: The version a whole-network file is written as (readers older than format 2 keep opening them).
WHOLE_NETWORK_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
#: Our headers are tens of KB; a bigger one is not ours (and is not worth reading to find out).
_MAX_HEADER = 16 * 2**20
MAX_SIDECAR_BYTES = 4 * 2**20
MAX_CLASSES = 100_000  # the same bound as weights.MAX_CLASSES (this module stays torch-free)
MAX_NAME_CHARS = 500
_REQUIRED = ("format", "format_version", "arch", "class_names", "preprocessing")


def sidecar_path(path: str | Path) -> Path:
    """The JSON file that describes the weights at ``path``."""
    return Path(path).with_suffix(".json")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BackboneRef:
    """Where a head file's backbone comes from: a torchvision weights name or ``random`` (``weights``),
    or a weights file (``file``, where it was when the head was saved, and its ``sha256``)."""

    weights: str | None = None
    file: str | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "file": self.file, "sha256": self.sha256}

    @property
    def file_name(self) -> str | None:
        return Path(self.file).name if self.file else None

    def describe(self) -> str:
        return self.file_name or self.weights or "?"

    @classmethod
    def from_dict(cls, data: object, where: Path) -> BackboneRef:
        if not isinstance(data, dict):
            raise WeightsError(f"{where}: backbone must be a JSON object")
        values: dict[str, str | None] = {}
        for key in ("weights", "file", "sha256"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not value or len(value) > 4096):
                raise WeightsError(f"{where}: backbone {key} must be a non-empty string")
            values[key] = value
        if (values["weights"] is None) == (values["file"] is None):
            raise WeightsError(f"{where}: the backbone must name either torchvision weights or a weights file")
        sha = values["sha256"]
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            raise WeightsError(f"{where}: backbone sha256 must be 64 hexadecimal digits")
        return cls(values["weights"], values["file"], sha)


@dataclass
class ModelFileMeta:
    """What the sidecar says. ``preprocessing`` is ``zoo.Preprocessing.to_dict()``."""

    arch: str
    class_names: list[str]
    preprocessing: dict[str, Any]
    base_weights: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    mode: str = "head"
    created: str = field(default_factory=_now)
    app_version: str = __version__
    #: Set for a head file (format 2): the weights hold only ``fc``, the backbone comes from here.
    backbone: BackboneRef | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {"backbone": self.backbone.to_dict()} if self.backbone is not None else {}
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION if self.backbone is not None else WHOLE_NETWORK_VERSION,
            "arch": self.arch,
            "base_weights": self.base_weights,
            "class_names": list(self.class_names),
            "preprocessing": dict(self.preprocessing),
            "metrics": dict(self.metrics),
            "mode": self.mode,
            "created": self.created,
            "app_version": self.app_version,
            **extra,
        }


def is_model_file(path: str | Path) -> bool:
    """True when ``path`` should be read as our model file: it has a sidecar next to it, or it is
    a ``.safetensors`` we wrote (its header says so) whose sidecar is missing (then loading it
    says it is incomplete instead of guessing "class 0", "class 1"...)."""
    return sidecar_path(path).is_file() or written_by_us(path)


def written_by_us(path: str | Path) -> bool:
    """Whether the safetensors header of ``path`` carries our format name (reads the header only)."""
    path = Path(path)
    if path.suffix.lower() != WEIGHTS_SUFFIX or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 2 <= size <= _MAX_HEADER:
                return False
            header = json.loads(fh.read(size))
    except (OSError, ValueError, RecursionError):
        return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(meta, dict) and meta.get("format") == FORMAT_NAME


def _validate(data: object, where: Path) -> ModelFileMeta:
    """Turn sidecar JSON into ModelFileMeta, or say exactly what is wrong with it."""
    if not isinstance(data, dict):
        raise WeightsError(f"{where}: not a ResNet Desktop model description (expected a JSON object)")
    if data.get("format") != FORMAT_NAME:
        raise WeightsError(
            f"{where}: not a ResNet Desktop model description (format is {data.get('format')!r}, "
            f"expected {FORMAT_NAME!r}); rename or remove it to load the weights as a plain state dict"
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise WeightsError(f"{where}: the model description lacks {', '.join(missing)}")
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 1000:
        raise WeightsError(f"{where}: invalid format_version (expected a small whole number)")
    if version > FORMAT_VERSION:
        raise WeightsError(
            f"{where}: written by a newer ResNet Desktop (format version {version}, this one reads "
            f"up to {FORMAT_VERSION}); update the app to open it"
        )
    if not isinstance(data["arch"], str) or data["arch"] not in ARCHITECTURES:
        known = ", ".join(ARCHITECTURES)
        raise WeightsError(f"{where}: unknown architecture {str(data['arch'])[:40]!r}; expected one of {known}")
    names = data["class_names"]
    if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
        raise WeightsError(f"{where}: class_names must be a non-empty list of non-empty strings")
    if len(names) > MAX_CLASSES:
        raise WeightsError(f"{where}: {len(names):,} class names; at most {MAX_CLASSES:,} are supported")
    if any(len(n) > MAX_NAME_CHARS for n in names):
        raise WeightsError(f"{where}: a class name is longer than {MAX_NAME_CHARS} characters")
    if len(set(names)) != len(names):
        raise WeightsError(f"{where}: class_names contains duplicates")
    if not isinstance(data["preprocessing"], dict):
        raise WeightsError(f"{where}: preprocessing must be a JSON object")
    metrics = data.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise WeightsError(f"{where}: metrics must be a JSON object")
    Preprocessing.from_dict(data["preprocessing"], source=str(where))  # bounds checked before any use
    backbone = None
    if version >= 2 and data.get("backbone") is not None:
        backbone = BackboneRef.from_dict(data["backbone"], where)
    base = data.get("base_weights")
    return ModelFileMeta(
        arch=data["arch"],
        class_names=list(names),
        preprocessing=dict(data["preprocessing"]),
        base_weights=str(base) if base is not None else None,
        metrics=metrics,
        mode=str(data.get("mode", "head")),
        created=str(data.get("created", "")),
        app_version=str(data.get("app_version", "")),
        backbone=backbone,
    )


def read_meta(path: str | Path) -> ModelFileMeta:
    """Read and validate the sidecar of the model file at ``path``."""
    side = sidecar_path(path)
    try:
        if side.stat().st_size > MAX_SIDECAR_BYTES:
            raise WeightsError(
                f"{side}: the model description is {side.stat().st_size:,} bytes; ours are a few KB "
                f"(limit {MAX_SIDECAR_BYTES:,}), so this is not one"
            )
        text = side.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IncompleteModelError(
            f"{Path(path)}: the model file is incomplete (model description missing: {side.name}, which "
            f"holds its class names and preprocessing); the save was interrupted or the .json was not "
            f"copied with it. Copy {side.name} next to it, or fine-tune again"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{side}: cannot read the model description: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{side}: the model description is not valid JSON ({exc})") from exc
    except RecursionError:
        raise WeightsError(f"{side}: the model description is nested too deeply to be one of ours") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise WeightsError(f"{side}: the model description holds an unreadable value ({exc})") from None
    return _validate(data, side)


def model_file_source(path: Path, meta: ModelFileMeta) -> str:
    """How a loaded model file is named in status lines and results (torch and torch-free alike)."""
    return f"{path.name} ({meta.arch}, {len(meta.class_names)} classes, fine-tuned)"


def check_state_matches(meta: ModelFileMeta, state: Mapping[str, Tensor], path: str | Path) -> None:
    """The classifier's output rows must match the class names, or labels would be wrong."""
    fc = state.get("fc.weight")
    if fc is None or fc.dim() != 2:
        raise WeightsError(f"{path}: the weights have no classifier layer (fc.weight)")
    if fc.shape[0] != len(meta.class_names):
        raise WeightsError(
            f"{path}: the classifier has {fc.shape[0]} outputs but {sidecar_path(path).name} "
            f"lists {len(meta.class_names)} class names; the two files do not belong together"
        )
    if meta.backbone is not None and set(state) != {"fc.weight", "fc.bias"}:
        raise WeightsError(
            f"{path}: a head file holds only fc.weight and fc.bias (its backbone is {meta.backbone.describe()}); "
            "this one holds other weights too, so it is not one"
        )


def save_model_file(
    path: str | Path,
    model: nn.Module | Mapping[str, Tensor],
    meta: ModelFileMeta,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``path`` (.safetensors) and its sidecar: both files, or neither (the sidecar lands last)."""
    from safetensors.torch import save
    from torch import nn

    path = Path(path)
    if path.suffix.lower() != WEIGHTS_SUFFIX:
        raise WeightsError(f"{path}: model files must end in {WEIGHTS_SUFFIX}")
    side = sidecar_path(path)
    state = model.state_dict() if isinstance(model, nn.Module) else dict(model)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    data = meta.to_dict()
    _validate(data, side)
    check_state_matches(meta, tensors, path)
    for dest in (path, side):
        check_writable(dest, overwrite=overwrite)
    with atomic_group(AtomicFile(path, overwrite=overwrite), AtomicFile(side, overwrite=overwrite, text=True)) as (
        weights_out,
        side_out,
    ):
        weights_out.stream.write(save(tensors, metadata={"format": FORMAT_NAME}))
        json.dump(data, side_out.stream, indent=2, ensure_ascii=False)
        side_out.stream.write("\n")
    logger.info("saved model file %s (+ %s)", path, side.name)
    return path
