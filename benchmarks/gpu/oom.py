"""The engine's out-of-memory path, forced: a batch that does not fit must be halved until it does
(every image still classified, the same answers), and when not even one image fits the engine
must continue on the CPU with a notice.

On CUDA the memory is really short: ``torch.cuda.set_per_process_memory_fraction`` caps the
process a little above what it already holds. On a CPU (``--tiny``) nothing can run out, so the
model is wrapped to raise CUDA's own out-of-memory error for batches above a limit; the halving
code in the engine is the same either way.
"""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from benchmarks.gpu.agreement import calibrate_batchnorm
from benchmarks.gpu.plan import random_model
from resnet_desktop.core.inference.engine import Engine

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

#: On CUDA: the batch asked for, and the memory left beyond what the process holds. 1024 images
#: need 0.6 GiB for the float input alone, twice that with its channels_last copy: it cannot fit.
CUDA_BATCH = 1024
CUDA_BUDGET_BYTES = 1024**3


class _OutOfMemoryAbove(torch.nn.Module):
    """Raises ``torch.cuda.OutOfMemoryError`` for batches above ``limit`` (CPU stand-in for a full GPU)."""

    def __init__(self, inner: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.inner = inner
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError(f"simulated: batch {x.shape[0]} > {self.limit}")
        return self.inner(x)


def _top1(engine: Engine, paths: list[Path]) -> list[int]:
    results = list(engine.classify(paths, topk=1))
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(paths)} files failed: {failed[0]}")
    return [r.top1.index for r in results if r.top1 is not None]


def _cap_memory(device: torch.device, extra_bytes: int) -> None:
    """Let the process allocate at most ``extra_bytes`` beyond what it holds now."""
    gc.collect()
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    allowed = torch.cuda.memory_allocated(device) + extra_bytes
    torch.cuda.set_per_process_memory_fraction(min(1.0, allowed / total), device)


def _uncap(device: torch.device) -> None:
    torch.cuda.set_per_process_memory_fraction(1.0, device)
    gc.collect()
    torch.cuda.empty_cache()


def oom_figures(arch: str, cpu_batch: int, paths: list[Path], device: torch.device) -> dict[str, Any]:
    """Ask for a batch that does not fit; report what the engine made of it."""
    loaded = random_model(arch)
    calibrate_batchnorm(loaded, paths[:32])  # different photos, different answers: "the same top-1" means something
    batch = CUDA_BATCH if device.type == "cuda" else cpu_batch
    unconstrained = _top1(Engine(loaded, device, batch_size=min(batch, 64)), paths)
    out: dict[str, Any] = {"arch": arch, "requested_batch": batch, "images": len(paths)}
    if device.type == "cuda":
        out["method"] = f"real: memory capped at {CUDA_BUDGET_BYTES / 1024**2:.0f} MiB above what the process held"
        _cap_memory(device, CUDA_BUDGET_BYTES)
        try:
            engine = Engine(loaded, device, batch_size=batch)  # the warm-up forward already halves
            answers = _top1(engine, paths * max(1, batch // len(paths)))
        finally:
            _uncap(device)
    else:
        limit = max(1, batch // 4)
        out["method"] = f"simulated on {device.type}: the model raises CUDA's out-of-memory error above batch {limit}"
        wrapped = dataclasses.replace(loaded, model=_OutOfMemoryAbove(loaded.model, limit))
        engine = Engine(wrapped, device, batch_size=batch)
        answers = _top1(engine, paths)
    halvings, size = 0, batch
    while size > engine.forward_batch_size:
        size, halvings = size // 2, halvings + 1
    same = sum(a == b for a, b in zip(answers, unconstrained, strict=False))
    out.update(
        forward_batch_after=engine.forward_batch_size,
        halvings=halvings,
        device_after=engine.device.type,
        classified=len(answers),
        # Near-ties can flip between batch sizes in bf16; in fp32 on the CPU every answer must match.
        same_top1_as_unconstrained=same / len(unconstrained),
        notices=list(engine.notices),
    )
    out["cpu_fallback"] = _cpu_fallback(loaded, paths, device) if device.type == "cuda" else None
    return out


def _cpu_fallback(loaded: LoadedModel, paths: list[Path], device: torch.device) -> dict[str, Any]:
    """Not even one image fits: the engine must finish on the CPU and say so."""
    engine = Engine(loaded, device, batch_size=4)
    _cap_memory(device, 1024 * 1024)  # 1 MiB: less than one activation of the first convolution
    try:
        answers = _top1(engine, paths[:4])
    finally:
        _uncap(device)
    return {
        "device_after": engine.device.type,
        "classified": len(answers),
        "notices": list(engine.notices),
    }
