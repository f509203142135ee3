"""Pick the compute device: CUDA first, then Apple MPS, then the CPU."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import torch

from resnet_desktop.core.errors import DeviceError

AUTO = "auto"


@dataclass(frozen=True)
class DeviceInfo:
    """One device a person can choose: ``id`` goes to torch, ``name`` is shown to people."""

    id: str
    name: str


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def _cpu_name() -> str:
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def available_devices() -> list[DeviceInfo]:
    """Every usable device, best first; the CPU is always last and always present."""
    devices = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append(DeviceInfo(f"cuda:{index}", torch.cuda.get_device_name(index)))
    if _mps_available():
        devices.append(DeviceInfo("mps", "Apple GPU (MPS)"))
    devices.append(DeviceInfo("cpu", _cpu_name()))
    return devices


def resolve_device(spec: str | torch.device | None = AUTO) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:1``/``mps`` into a device that exists here."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or AUTO).strip().lower()
    if spec == AUTO:
        return torch.device(available_devices()[0].id)
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise DeviceError(f"Unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps.") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no CUDA GPU is available; use --device cpu or auto.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{spec} was requested but only {torch.cuda.device_count()} CUDA GPU(s) exist.")
    elif device.type == "mps" and not _mps_available():
        raise DeviceError("Apple MPS was requested but is not available on this machine; use cpu or auto.")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"Unsupported device {spec!r}: use auto, cpu, cuda, cuda:N or mps.")
    return device


def device_name(device: torch.device | str) -> str:
    """A human name for a device, e.g. ``NVIDIA H100 80GB HBM3 (cuda:0)``."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "mps":
        return "Apple GPU (mps)"
    return _cpu_name()
