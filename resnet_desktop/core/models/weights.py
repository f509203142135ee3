"""Find, download and load model weights without ever executing code from a file.

Downloads go to torch's own hub cache (so weights fetched by torchvision elsewhere are reused),
are checked against the sha256 prefix torchvision puts in its file names, and land atomically:
a temp file in the same folder is renamed into place only when complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import pickle
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import torch
import torch.hub
from torch import Tensor, nn

from resnet_desktop.core.atomic import AtomicFile
from resnet_desktop.core.errors import CancelledError, OutputError, WeightsError, WeightsMissingError

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, "int | None"], None]

OFFLINE_ENV = "RESNET_DESKTOP_OFFLINE"
CHUNK_SIZE = 256 * 1024
TIMEOUT_S = 30.0
# Same idea as torch.hub's check_hash: torchvision names files "<name>-<sha256 prefix>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_WRAPPER_KEYS = ("state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.")
_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_MAX_LISTED = 5

# Block counts per stage and block type of the torchvision ResNets, to name what a file holds.
_RESNET_LAYOUTS: dict[tuple[bool, tuple[int, ...]], str] = {
    (False, (2, 2, 2, 2)): "resnet18",
    (False, (3, 4, 6, 3)): "resnet34",
    (True, (3, 4, 6, 3)): "resnet50",
    (True, (3, 4, 23, 3)): "resnet101",
    (True, (3, 8, 36, 3)): "resnet152",
}


class DownloadCancelledError(CancelledError, WeightsError):
    """The person cancelled a download; nothing was left in the cache."""


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def cache_path_for(url: str) -> Path:
    """Where torch hub keeps (or would keep) the file behind ``url``."""
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise WeightsError(f"{url}: the address does not name a file")
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _missing_message(url: str, dest: Path, why: str) -> str:
    return (
        f"Weights file {dest.name} is not available: {why}. It is expected at {dest} "
        f"(downloaded from {url}). Copy the file there, or use a weights file you have: "
        f"'resnet-desktop --weights FILE' (starts the app with it), 'resnet-desktop classify --weights FILE', "
        f"or in the app Model > Open Model File… or the 'Choose weights file…' button."
    )


def expected_hash_prefix(filename: str) -> str | None:
    """The sha256 prefix embedded in a torchvision-style file name, if there is one."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def fetch(
    url: str,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Return the cached file for ``url``, downloading it first if needed.

    Raises ``WeightsError`` when offline, unreachable, incomplete or failing the hash check, and
    ``DownloadCancelledError`` (a ``WeightsError`` and ``CancelledError``) when cancelled. In every
    failure case nothing is left in the cache folder.
    """
    dest = cache_path_for(url)
    if dest.is_file():
        logger.debug("cache hit: %s", dest)
        return dest
    if _offline():
        raise WeightsMissingError(_missing_message(url, dest, f"downloads are disabled ({OFFLINE_ENV}=1)"))
    if cancel is not None and cancel.is_set():
        raise DownloadCancelledError(f"Download of {dest.name} cancelled before it started.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(dest, overwrite=True)
    except (OSError, OutputError) as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the cache folder is not writable ({exc})")) from exc
    with out:
        digest = _download(url, dest, out.stream, progress, cancel)
        prefix = expected_hash_prefix(dest.name)
        if prefix and not digest.startswith(prefix):
            raise WeightsMissingError(
                f"Downloaded {dest.name} is corrupt: its sha256 starts with {digest[: len(prefix)]}, "
                f"expected {prefix}. Nothing was saved; try again or supply the file with --weights FILE."
            )
    logger.info("downloaded %s -> %s", url, dest)
    return dest


def _download(
    url: str,
    dest: Path,
    out: IO[bytes],
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> str:
    """Stream ``url`` into ``out`` in chunks; return the sha256 hex digest of what was written."""
    request = urllib.request.Request(url, headers={"User-Agent": "resnet-desktop"})
    sha = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                progress(0, total)
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelledError(f"Download of {dest.name} cancelled; nothing was saved.")
                chunk = response.read(CHUNK_SIZE)
                if not chunk:
                    break
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the server answered {exc.code} {exc.reason}")) from exc
    except urllib.error.URLError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the network is unreachable ({exc.reason})")) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, short reads
        raise WeightsMissingError(_missing_message(url, dest, f"the download failed ({exc})")) from exc
    if total is not None and done != total:
        raise WeightsMissingError(_missing_message(url, dest, f"the download stopped after {done} of {total} bytes"))
    return sha.hexdigest()


def _refusal_detail(exc: Exception) -> str:
    """The 'Unsupported global' line of torch's refusal, without its advice to disable safety."""
    for line in str(exc).splitlines():
        if "unsupported global" in line.lower() or "unsupported operand" in line.lower():
            return f" ({line.strip().rstrip('.')})"
    return ""


def load_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a state dict from .safetensors or .pth/.pt without executing any code in the file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            raw: object = load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own error type, plus OSError
            raise WeightsError(f"{path}: cannot read the safetensors file (truncated or corrupt): {exc}") from exc
    elif suffix in _TORCH_SUFFIXES:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if "weights only" in str(exc).lower():
                raise WeightsError(
                    f"{path}: refusing to load: the file contains code/objects that are not plain tensors"
                    f"{_refusal_detail(exc)}. Save a plain state dict (model.state_dict()) or .safetensors."
                ) from exc
            raise WeightsError(f"{path}: the file is corrupt or truncated ({exc})") from exc
        except (RuntimeError, EOFError, ValueError, OSError, KeyError, IndexError) as exc:
            raise WeightsError(f"{path}: the file is corrupt or truncated ({exc})") from exc
    else:
        raise WeightsError(f"{path}: unsupported weights file type '{path.suffix}'; use .pth, .pt or .safetensors")
    return _clean_state_dict(raw, path)


def _clean_state_dict(raw: object, path: Path) -> dict[str, Tensor]:
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


def apply_state_dict(model: nn.Module, state: Mapping[str, Tensor], *, source: str | Path) -> None:
    """Strictly load ``state`` into ``model``; on any mismatch say exactly what does not fit."""
    problem = describe_mismatch(model, state, source=str(source))
    if problem:
        raise WeightsError(problem)
    try:
        model.load_state_dict(dict(state), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: the weights do not fit the model: {exc}") from exc
