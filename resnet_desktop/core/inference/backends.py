"""Which backend runs the engine's model: PyTorch, ONNX Runtime, or ``auto`` (measured per machine).

``auto`` runs a short calibration once (the same batch through both backends, best of a few
runs) and remembers the faster one in the cache folder, keyed by the weights hash, the crop size,
the torch and onnxruntime versions and the core count, so it is measured again only when one of
them changes. On a GPU, or when ONNX Runtime is missing or cannot run the model, ``auto`` means
PyTorch (with a notice saying why, where a person would want to know).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import ResNetDesktopError, SettingsError

if TYPE_CHECKING:
    from resnet_desktop.core.inference.onnx_backend import OnnxRuntimeBackend
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime")
#: Timed calls per backend in the calibration (after one warm-up each); the best one counts.
CALIBRATION_RUNS = 2
CHOICES_FILE = "backend-choices.json"


def onnxruntime_version() -> str | None:
    """The installed ONNX Runtime's version, or None when it cannot be imported."""
    try:
        module = importlib.import_module("onnxruntime")
    except ImportError:
        return None
    return str(getattr(module, "__version__", "unknown"))


@dataclass(frozen=True)
class Choice:
    """What ``auto`` decided and the measurement behind it (images/s of each backend)."""

    backend: str
    torch_ips: float
    onnxruntime_ips: float
    measured_now: bool


def _choices_path() -> Path:
    from resnet_desktop.core.inference.onnx_backend import cache_dir

    return cache_dir() / CHOICES_FILE


def _read_choices(path: Path) -> dict[str, dict[str, float | str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: measure again
    return data if isinstance(data, dict) else {}


def calibration_key(loaded: LoadedModel, threads: int) -> str:
    from resnet_desktop.core.inference.onnx_backend import model_key

    versions = f"torch{torch.__version__}|ort{onnxruntime_version()}"
    return f"{model_key(loaded)}|{loaded.preprocessing.crop_size}|{versions}|cores{os.cpu_count()}|threads{threads}"


def _best_rate(run: Callable[[], object], images: int) -> float:
    run()  # warm-up: first-call allocations and kernel selection
    best = float("inf")
    for _ in range(CALIBRATION_RUNS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return images / best if best > 0 else 0.0


def measure(
    torch_forward: Callable[[torch.Tensor], object], ort: OnnxRuntimeBackend, batch: int, crop: int
) -> tuple[float, float]:
    """images/s of each backend on the same random batch (model only, no decoding)."""
    x = torch.randn((batch, 3, crop, crop), generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last)

    def run_torch() -> object:
        with torch.inference_mode():
            return torch_forward(x)

    return _best_rate(run_torch, batch), _best_rate(lambda: ort.run(x), batch)


def remembered(loaded: LoadedModel, threads: int) -> Choice | None:
    """The choice measured earlier for this model, machine and library versions, if any."""
    entry = _read_choices(_choices_path()).get(calibration_key(loaded, threads))
    if not isinstance(entry, dict) or entry.get("backend") not in ("torch", "onnxruntime"):
        return None
    try:
        return Choice(str(entry["backend"]), float(entry["torch_ips"]), float(entry["onnxruntime_ips"]), False)
    except (KeyError, TypeError, ValueError):
        return None  # a damaged entry: measure again


def choose(
    loaded: LoadedModel,
    torch_forward: Callable[[torch.Tensor], object],
    ort: OnnxRuntimeBackend,
    *,
    batch: int,
    threads: int,
) -> Choice:
    """The faster backend for this model on this machine: from the cache, or measured now and cached."""
    known_choice = remembered(loaded, threads)
    if known_choice is not None:
        return known_choice
    path = _choices_path()
    key = calibration_key(loaded, threads)
    known = _read_choices(path)
    torch_ips, ort_ips = measure(torch_forward, ort, batch, loaded.preprocessing.crop_size)
    backend = "onnxruntime" if ort_ips > torch_ips else "torch"
    known[key] = {"backend": backend, "torch_ips": torch_ips, "onnxruntime_ips": ort_ips, "arch": loaded.arch}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, json.dumps(known, indent=1).encode(), overwrite=True)
    except (OSError, ResNetDesktopError) as exc:
        logger.warning("could not remember the backend choice in %s: %s", path, exc)
    logger.info(
        "auto backend for %s: %s (torch %.1f, onnxruntime %.1f images/s)", loaded.arch, backend, torch_ips, ort_ips
    )
    return Choice(backend, torch_ips, ort_ips, True)


@dataclass
class Selection:
    """The backend the engine runs (``ort`` is None for PyTorch) and what a person should know."""

    name: str
    ort: OnnxRuntimeBackend | None
    notices: list[str]
    choice: Choice | None = None


def select(
    loaded: LoadedModel,
    requested: str,
    device: torch.device,
    torch_forward: Callable[[torch.Tensor], object],
    *,
    batch: int,
    precision: str = "fp32",
    calibration: Sequence[Path] | None = None,
) -> Selection:
    """Resolve ``requested`` ("auto", "torch", "onnxruntime") for this model and device."""
    if requested not in BACKENDS:
        raise SettingsError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if precision != "fp32" and requested == "torch":
        raise SettingsError(f"the {precision!r} precision runs on ONNX Runtime; choose the onnxruntime backend")
    if requested == "torch":
        return Selection("torch", None, [])
    if device.type != "cpu":
        if requested == "onnxruntime":
            raise SettingsError("the ONNX Runtime backend runs on the CPU; choose --device cpu or the torch backend")
        return Selection("torch", None, [])  # auto on an accelerator: PyTorch (bf16, cuDNN)
    if onnxruntime_version() is None:
        message = "ONNX Runtime is not installed; install it with: pip install onnxruntime"
        if requested == "onnxruntime" or precision != "fp32":
            raise SettingsError(message)
        return Selection("torch", None, [f"{message}. Running on PyTorch instead."])
    from resnet_desktop.core.inference.onnx_backend import OnnxRuntimeBackend

    threads = torch.get_num_threads()
    if requested == "auto" and precision == "fp32":
        earlier = remembered(loaded, threads)
        if earlier is not None and earlier.backend == "torch":
            return Selection("torch", None, [], earlier)  # measured before: no graph, no session needed
    try:
        ort = OnnxRuntimeBackend(loaded, threads=threads, precision=precision, calibration=calibration)
    except ResNetDesktopError as exc:
        if requested == "onnxruntime" or precision != "fp32":
            raise
        return Selection("torch", None, [f"ONNX Runtime cannot run this model ({exc}); running on PyTorch."])
    notices = []
    if ort.agreement is not None:
        notices.append(f"Fast (int8) model, agreement with fp32 PyTorch: {ort.agreement.summary()}")
    if requested == "onnxruntime" or precision != "fp32":
        return Selection("onnxruntime", ort, notices)
    choice = choose(loaded, torch_forward, ort, batch=batch, threads=threads)
    if choice.backend == "torch":
        return Selection("torch", None, notices, choice)
    return Selection("onnxruntime", ort, notices, choice)
