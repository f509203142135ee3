"""Which backend runs the engine's model: the rule (``backend_rule``) applied with torch at hand.

``auto`` without a remembered measurement runs a short one (the same batch through both backends,
best of a few runs) and remembers it per architecture and machine (``backend_rule.record``). On a
GPU ``auto`` means PyTorch; when ONNX Runtime is missing or cannot run the model, ``auto`` means
PyTorch with a notice saying why. Fast mode never falls back silently: its refusal is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from resnet_desktop.core.errors import ResNetDesktopError
from resnet_desktop.core.inference import backend_rule
from resnet_desktop.core.inference.backend_rule import BACKENDS as BACKENDS
from resnet_desktop.core.inference.backend_rule import Measurement, Plan
from resnet_desktop.core.inference.fast import FastModeRefused
from resnet_desktop.core.models.backbone import package_version

if TYPE_CHECKING:
    from resnet_desktop.core.inference.fast import PhotoSet, Say
    from resnet_desktop.core.inference.onnx_backend import OnnxRuntimeBackend
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Timed calls per backend in the measurement (after one warm-up each); the best one counts.
CALIBRATION_RUNS = 2


def onnxruntime_version() -> str | None:
    """The installed ONNX Runtime's version, or None when it is not installed."""
    return package_version("onnxruntime") if backend_rule.onnxruntime_installed() else None


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


@dataclass
class Selection:
    """The backend the engine runs (``ort`` is None for PyTorch), why, and what a person should know."""

    name: str
    ort: OnnxRuntimeBackend | None
    notices: list[str]
    plan: Plan | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def choice(self) -> Measurement | None:
        return self.plan.measurement if self.plan is not None else None


def select(
    loaded: LoadedModel,
    requested: str,
    device: torch.device,
    torch_forward: Callable[[], Callable[[torch.Tensor], object]],
    *,
    batch: int,
    precision: str = "fp32",
    photos: PhotoSet | None = None,
    refs: Sequence[ModelRef] = (),
    workers: int | None = None,
    say: Say | None = None,
) -> Selection:
    """Resolve ``requested`` ("auto", "torch", "onnxruntime") for this model, precision and device.

    ``torch_forward`` places the PyTorch model (only called when PyTorch runs or is measured).
    """
    accelerator = str(device) if device.type != "cpu" else None
    threads = torch.get_num_threads()
    crop = loaded.preprocessing.crop_size
    # only "auto" on the CPU chooses by a measurement (a GPU runs PyTorch; a named backend is not chosen)
    remembered = (
        backend_rule.remembered(loaded.arch, crop, threads) if requested == "auto" and not accelerator else None
    )
    plan = backend_rule.plan(requested, precision, accelerator=accelerator, measurement=remembered)
    if plan.backend == "torch":
        notices = []
        if requested == "auto" and not backend_rule.onnxruntime_installed():
            notices.append("ONNX Runtime is not installed (pip install onnxruntime). Running on PyTorch instead.")
        return Selection("torch", None, notices, plan)
    from resnet_desktop.core.inference.onnx_backend import OnnxRuntimeBackend

    try:
        ort = OnnxRuntimeBackend(
            loaded,
            threads=threads,
            precision=precision,
            photos=photos,
            refs=refs,
            batch_size=batch,
            workers=workers,
            say=say,
        )
    except FastModeRefused:
        raise
    except ResNetDesktopError as exc:
        if requested == "onnxruntime" or precision != "fp32":
            raise
        fallback = Plan(requested, "torch", "fp32", f"auto: ONNX Runtime cannot run this model ({exc})")
        return Selection("torch", None, [f"ONNX Runtime cannot run this model ({exc}); running on PyTorch."], fallback)
    notices = []
    if ort.gate is not None:
        notices.append(f"Fast Mode (int8): {ort.gate.figure()} of yours.")
    if plan.backend == backend_rule.MEASURE:
        torch_ips, ort_ips = measure(torch_forward(), ort, batch, crop)
        measurement = backend_rule.record(loaded.arch, crop, threads, torch_ips, ort_ips)
        logger.info("auto backend for %s: %s", loaded.arch, measurement.text())
        plan = backend_rule.plan(requested, precision, accelerator=None, measurement=measurement)
        if plan.backend == "torch":
            return Selection("torch", None, notices, plan)
    return Selection("onnxruntime", ort, notices, plan)
