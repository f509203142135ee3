"""Load a state dict from a file without ever executing code from it, refusing what is unsafe.

``.safetensors`` (header checked first) or ``torch.load(weights_only=True)`` for ``.pth/.pt``, never
a full unpickle: whole pickled models, files with code or foreign objects, zip bombs and files that
are not weights at all are each refused with their own typed error. The loaded mapping is then
unwrapped and checked (``checks``).
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path

import torch
from torch import Tensor

from resnet_desktop.core.errors import NotAModelFileError, PickledModelError, WeightsError
from resnet_desktop.core.models.weights.checks import check_values, clean_state_dict

_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
#: Bound that keeps a hostile zip from taking the machine's memory when unpacked.
MAX_UNPACKED_BYTES = 4 * 2**30
_MAX_SAFETENSORS_HEADER = 100 * 2**20  # safetensors' own limit
# torch.save's legacy (pre-1.6) format starts with its magic number, pickled with protocol 2.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
# Classes whose pickle means "a whole model object was saved", not a state dict.
_MODULE_PREFIXES = ("torch.nn.modules.", "torchvision.models.", "__main__.", "timm.")


def _refused_global(exc: Exception) -> str | None:
    """The class or function torch refused to unpickle (only its name: never torch's advice)."""
    match = re.search(r"GLOBAL ([\w.]+)", str(exc))
    return match.group(1) if match else None


def _not_a_model(path: Path, what: str) -> NotAModelFileError:
    return NotAModelFileError(f"{path}: not a model file ({what}); choose a .pth/.pt state dict or a .safetensors file")


def _check_zip(path: Path) -> None:
    """A zip-based .pth (torch.save's format) must hold a PyTorch record and unpack to a sane size.

    Sizes come from the zip's own directory, read before anything is decompressed, so a zip bomb
    is refused without being unpacked.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_a_model(path, f"a damaged zip archive: {exc}") from exc
    if not any(e.filename.endswith("data.pkl") for e in entries):
        raise _not_a_model(path, "a zip archive, but not one written by torch.save")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise WeightsError(
            f"{path}: too large when unpacked ({unpacked / 2**30:.1f} GB, limit "
            f"{MAX_UNPACKED_BYTES / 2**30:.0f} GB); this is not a ResNet weights file"
        )


def _load_torch(path: Path) -> object:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_LEGACY_TORCH_MAGIC))
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if head.startswith(b"PK\x03\x04"):
        _check_zip(path)
    elif head != _LEGACY_TORCH_MAGIC:
        raise _not_a_model(path, "neither a PyTorch file nor safetensors")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = _refused_global(exc)
        if refused is not None and refused.startswith(_MODULE_PREFIXES):
            raise PickledModelError(
                f"{path}: this is a whole pickled model ({refused}), not a state dict: save "
                f"`model.state_dict()` (or use .safetensors); loading a whole model would run code from the file"
            ) from None
        if refused is not None:
            raise WeightsError(
                f"{path}: refusing to load: the file contains code or objects that are not plain tensors "
                f"({refused}). Save a plain state dict (model.state_dict()) or .safetensors."
            ) from None
        raise _not_a_model(path, "its contents are not a PyTorch state dict") from None
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise WeightsError(f"{path}: the file is corrupt or truncated ({_short(exc)})") from None


def _load_safetensors(path: Path) -> object:
    from safetensors.torch import load_file

    header = _safetensors_header_ok(path)
    if not header:
        raise _not_a_model(path, "not a valid safetensors file")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error type, plus OSError
        raise WeightsError(f"{path}: cannot read the safetensors file (truncated or corrupt): {_short(exc)}") from exc


def _safetensors_header_ok(path: Path) -> bool:
    """Whether the file starts with a safetensors header (a length, then a JSON object)."""
    try:
        with path.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 2 <= size <= _MAX_SAFETENSORS_HEADER:
                return False
            return isinstance(json.loads(fh.read(size)), dict)
    except (OSError, ValueError, RecursionError):
        return False


def _short(exc: BaseException) -> str:
    """The first line of an error, without any advice to turn safety off."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = lines[0].strip() if lines else type(exc).__name__
    if "weights_only" in text:
        text = type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def load_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a state dict from .safetensors or .pth/.pt without executing any code in the file.

    Refused, each with its own typed error: files that are not weights at all, whole pickled
    models, zip bombs, and weights with non-finite or non-floating values or an absurd size.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        raw = _load_safetensors(path)
    elif suffix in _TORCH_SUFFIXES:
        raw = _load_torch(path)
    else:
        raise WeightsError(f"{path}: unsupported weights file type '{path.suffix}'; use .pth, .pt or .safetensors")
    state = clean_state_dict(raw, path)
    check_values(state, path)
    return state
