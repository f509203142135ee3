"""The one rule for what runs a model, and why: backend x precision x device (the CLI and the app).

- ``auto`` (the default) is PyTorch on a GPU; on the CPU it is whichever backend a short run
  measured faster for this architecture on this machine (measured once, remembered in the cache
  folder, keyed by architecture, crop size, library versions, core count and threads: the weights do
  not change the speed, so a new head or version costs no measurement).
- ``torch`` and ``onnxruntime`` are what they say; ONNX Runtime runs on the CPU only.
- The fast precision is the int8 model, which only ONNX Runtime runs: fast with ``torch`` is a
  contradiction and is refused, never silently turned into something else. In the app, choosing
  PyTorch turns Fast Mode off and turning Fast Mode on leaves PyTorch for ``auto`` (``menu_state``).

Torch-free: the measurement is read here; ``inference.backends`` takes it (with torch) when needed.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import platform
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import ResNetDesktopError, SettingsError
from resnet_desktop.core.models.backbone import package_version

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime")
PRECISIONS = ("fp32", "fast")
DEFAULT_BACKEND = "auto"
CHOICES_FILE = "backend-choices.json"
NAMES = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime"}
#: Plan.backend while ``auto`` has no measurement yet for this architecture and machine.
MEASURE = "measure"


def onnxruntime_installed() -> bool:
    """Whether ONNX Runtime can be imported (checked without importing it)."""
    try:
        return find_spec("onnxruntime") is not None
    except (ImportError, ValueError):  # a None entry in sys.modules (tests) or a broken install
        return False


def threads_default() -> int:
    """Model threads when not given: one per usable core (torch's own default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Measurement:
    """images/s of each backend on the same batch (model only), for one architecture on this machine."""

    torch_ips: float
    onnxruntime_ips: float
    measured_now: bool = False

    @property
    def backend(self) -> str:
        return "onnxruntime" if self.onnxruntime_ips > self.torch_ips else "torch"

    def text(self) -> str:
        return f"ONNX Runtime {self.onnxruntime_ips:.1f} vs PyTorch {self.torch_ips:.1f} images/s"


@dataclass(frozen=True)
class Plan:
    """What runs the model (``backend``: "torch", "onnxruntime", or ``MEASURE``) and why, in words."""

    requested: str
    backend: str
    precision: str
    reason: str
    measurement: Measurement | None = None

    def describe(self) -> str:
        """ "ONNX Runtime, fp32 (auto: measured on this machine: ONNX Runtime 21.0 vs PyTorch 17.2 images/s)"."""
        precision = "Fast Mode int8" if self.precision == "fast" else "fp32"
        return f"{NAMES.get(self.backend, self.backend)}, {precision} ({self.reason})"


def plan(
    requested: str,
    precision: str = "fp32",
    *,
    accelerator: str | None = None,
    measurement: Measurement | None = None,
    onnxruntime: bool | None = None,
) -> Plan:
    """Resolve ``requested`` for ``precision`` on a machine; ``accelerator`` names the GPU the device
    choice resolves to (None: the CPU). Contradictions raise ``SettingsError`` with what to do instead."""
    if requested not in BACKENDS:
        raise SettingsError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise SettingsError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    has_ort = onnxruntime_installed() if onnxruntime is None else onnxruntime
    missing = "ONNX Runtime is not installed; install it with: pip install onnxruntime"
    if precision == "fast":
        if requested == "torch":
            raise SettingsError(
                "fast mode is the int8 model, which only ONNX Runtime runs; choose the auto or onnxruntime backend"
            )
        if accelerator is not None:
            raise SettingsError(f"fast mode runs on the CPU; {accelerator} runs fp32 on PyTorch (choose --device cpu)")
        if not has_ort:
            raise SettingsError(missing)
        why = "you chose ONNX Runtime" if requested == "onnxruntime" else "auto: Fast Mode runs on ONNX Runtime"
        return Plan(requested, "onnxruntime", "fast", why)
    if requested == "torch":
        return Plan(requested, "torch", "fp32", "you chose PyTorch")
    if requested == "onnxruntime":
        if accelerator is not None:
            raise SettingsError("the ONNX Runtime backend runs on the CPU; choose --device cpu or the torch backend")
        if not has_ort:
            raise SettingsError(missing)
        return Plan(requested, "onnxruntime", "fp32", "you chose ONNX Runtime")
    if accelerator is not None:
        return Plan(requested, "torch", "fp32", f"auto: the GPU ({accelerator}) runs PyTorch")
    if not has_ort:
        return Plan(requested, "torch", "fp32", "auto: ONNX Runtime is not installed")
    if measurement is None:
        return Plan(requested, MEASURE, "fp32", "auto: not measured on this machine yet")
    return Plan(requested, measurement.backend, "fp32", f"auto: measured {measurement.text()}", measurement)


def menu_state(backend: str, fast: bool, *, changed: str) -> tuple[str, bool]:
    """The app's Backend menu after the person changed ``changed`` ("backend" or "fast"): never a
    contradiction. Choosing PyTorch turns Fast Mode off; turning Fast Mode on with PyTorch chosen
    moves the choice to Auto (which runs Fast Mode on ONNX Runtime)."""
    if backend == "torch" and fast:
        return (backend, False) if changed == "backend" else (DEFAULT_BACKEND, True)
    return backend, fast


# -- the measurement, remembered per architecture and machine ------------------------------------


def _choices_path() -> Path:
    from resnet_desktop.core.inference.graph_store import cache_dir

    return cache_dir() / CHOICES_FILE


def measurement_key(arch: str, crop: int, threads: int) -> str:
    versions = f"torch{package_version('torch')}|ort{package_version('onnxruntime')}"
    return f"{arch}|{crop}|{versions}|cores{os.cpu_count()}|threads{threads}|{platform.machine()}"


def _read() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_choices_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: measure again
    return data if isinstance(data, dict) else {}


def remembered(arch: str, crop: int, threads: int) -> Measurement | None:
    """The measurement taken earlier for this architecture, machine and library versions, if any."""
    entry = _read().get(measurement_key(arch, crop, threads))
    if not isinstance(entry, dict):
        return None
    try:
        return Measurement(float(str(entry["torch_ips"])), float(str(entry["onnxruntime_ips"])))
    except (KeyError, TypeError, ValueError):
        return None  # a damaged entry: measure again


def _save(data: dict[str, dict[str, object]]) -> None:
    path = _choices_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, json.dumps(data, indent=1).encode(), overwrite=True)
    except (OSError, ResNetDesktopError) as exc:
        logger.warning("could not remember the backend measurement in %s: %s", path, exc)


def record(arch: str, crop: int, threads: int, torch_ips: float, onnxruntime_ips: float) -> Measurement:
    data = _read()
    data[measurement_key(arch, crop, threads)] = {
        "torch_ips": torch_ips,
        "onnxruntime_ips": onnxruntime_ips,
        "backend": "onnxruntime" if onnxruntime_ips > torch_ips else "torch",
    }
    _save(data)
    return Measurement(torch_ips, onnxruntime_ips, measured_now=True)


def _machine_fingerprint() -> str:
    """What decides whether ``--device auto`` finds a GPU, readable without torch."""
    nodes = ",".join(sorted(glob.glob("/dev/nvidia[0-9]*")))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return f"{platform.system()}|{platform.machine()}|torch{package_version('torch')}|{nodes}|{visible}"


def auto_accelerator() -> tuple[bool, str | None]:
    """(known, accelerator name or None) of ``--device auto`` on this machine, as the last torch
    run found it; (False, None) when no torch run has looked yet (then torch has to look)."""
    entry = _read().get("device|" + _machine_fingerprint())
    if not isinstance(entry, dict) or "accelerator" not in entry:
        return False, None
    name = entry["accelerator"]
    return True, str(name) if name else None


def record_auto_accelerator(name: str | None) -> None:
    """Remember what ``--device auto`` resolved to (called where torch resolved it)."""
    data = _read()
    key = "device|" + _machine_fingerprint()
    if data.get(key) != {"accelerator": name}:
        data[key] = {"accelerator": name}
        _save(data)
