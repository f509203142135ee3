"""Find, download and load model weights without ever executing code from a file.

Downloads go to torch's own hub cache (so weights fetched by torchvision elsewhere are reused),
are checked against the sha256 prefix torchvision puts in its file names, and land atomically:
a temp file in the same folder is renamed into place only when complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import pickle
import queue
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

import torch
import torch.hub
from torch import Tensor, nn

from resnet_desktop.core.atomic import AtomicFile
from resnet_desktop.core.errors import (
    CancelledError,
    NotAModelFileError,
    OutputError,
    PickledModelError,
    WeightsError,
    WeightsMissingError,
    WrongArchitectureError,
)
from resnet_desktop.core.models.spec import ARCHITECTURES

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, "int | None"], None]

OFFLINE_ENV = "RESNET_DESKTOP_OFFLINE"
CHUNK_SIZE = 256 * 1024
TIMEOUT_S = 30.0
#: How often a download waiting for the network looks at its cancel flag (seconds).
CANCEL_POLL_S = 0.1
# Same idea as torch.hub's check_hash: torchvision names files "<name>-<sha256 prefix>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_WRAPPER_KEYS = ("state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.")
_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_MAX_LISTED = 5
#: Bounds that keep a hostile file from taking the machine's memory (ImageNet-21k has 21,841 classes).
MAX_CLASSES = 100_000
MAX_PARAMETERS = 400_000_000
MAX_UNPACKED_BYTES = 4 * 2**30
_MAX_SAFETENSORS_HEADER = 100 * 2**20  # safetensors' own limit
# torch.save's legacy (pre-1.6) format starts with its magic number, pickled with protocol 2.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
# Classes whose pickle means "a whole model object was saved", not a state dict.
_MODULE_PREFIXES = ("torch.nn.modules.", "torchvision.models.", "__main__.", "timm.")

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
    """Stream ``url`` into ``out`` in chunks; return the sha256 hex digest of what was written.

    The network is read on a daemon thread and handed over through a small queue, so this call
    notices ``cancel`` within ``CANCEL_POLL_S`` even while a read (or a DNS lookup, which has no
    timeout at all) is stalled, and a stalled thread never keeps the process alive at exit.
    """
    sha = hashlib.sha256()
    done = 0
    total: int | None = None
    try:
        for kind, value in _network_chunks(url, cancel):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelledError(f"Download of {dest.name} cancelled; nothing was saved.")
            if kind == "length":
                total = value if isinstance(value, int) else None
                if progress:
                    progress(0, total)
                continue
            assert isinstance(value, bytes)
            out.write(value)
            sha.update(value)
            done += len(value)
            if progress:
                progress(done, total)
        if cancel is not None and cancel.is_set():
            raise DownloadCancelledError(f"Download of {dest.name} cancelled; nothing was saved.")
    except DownloadCancelledError:
        raise
    except urllib.error.HTTPError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the server answered {exc.code} {exc.reason}")) from exc
    except urllib.error.URLError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the network is unreachable ({exc.reason})")) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, short reads
        raise WeightsMissingError(_missing_message(url, dest, f"the download failed ({exc})")) from exc
    if total is not None and done != total:
        raise WeightsMissingError(_missing_message(url, dest, f"the download stopped after {done} of {total} bytes"))
    return sha.hexdigest()


def _network_chunks(url: str, cancel: threading.Event | None) -> Iterator[tuple[str, int | bytes | None]]:
    """``("length", n)`` then ``("data", chunk)``... read on a daemon thread; errors re-raised here.

    Waits for the next item in ``CANCEL_POLL_S`` steps, looking at ``cancel`` in between; gives up
    with ``TimeoutError`` when nothing arrives for ``TIMEOUT_S``.
    """
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=CANCEL_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        request = urllib.request.Request(url, headers={"User-Agent": "resnet-desktop"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                length = response.headers.get("Content-Length")
                if not put(("length", int(length) if length and length.isdigit() else None)):
                    return
                while not stop.is_set():
                    chunk = response.read1(CHUNK_SIZE)  # what has arrived, up to a chunk
                    if not chunk or not put(("data", chunk)):
                        break
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            put(("error", exc))

    thread = threading.Thread(target=reader, name="weights-download", daemon=True)
    thread.start()
    waited = 0.0
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            try:
                kind, value = items.get(timeout=CANCEL_POLL_S)
            except queue.Empty:
                waited += CANCEL_POLL_S
                if waited >= TIMEOUT_S:
                    raise TimeoutError(f"no data for {TIMEOUT_S:.0f} s") from None
                continue
            waited = 0.0
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            if kind == "end":
                return
            yield kind, value  # type: ignore[misc]
    finally:
        stop.set()  # the reader stops at its next chunk; a stalled one dies with the process


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
    state = _clean_state_dict(raw, path)
    check_values(state, path)
    return state


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


def apply_state_dict(model: nn.Module, state: Mapping[str, Tensor], *, source: str | Path) -> None:
    """Strictly load ``state`` into ``model``; on any mismatch say exactly what does not fit."""
    other = other_architecture(state)
    if other is not None:
        hint = other if other == "not a ResNet" else f"{other}?"
        raise WrongArchitectureError(
            f"{source}: this file is for another architecture ({hint}); ResNet Desktop runs ResNet weights "
            f"({', '.join(ARCHITECTURES)})"
        )
    problem = describe_mismatch(model, state, source=str(source))
    if problem:
        raise WeightsError(problem)
    try:
        model.load_state_dict(dict(state), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: the weights do not fit the model: {exc}") from exc
