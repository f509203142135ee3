"""How fast a model is on this machine: load time, images/s, batch-1 latency, peak memory, size.

``bench()`` is the generator behind ``resnet-desktop bench`` and the GUI's Speed tab. Inputs are
synthetic uint8 images fed through the engine's own path (normalise, device copy, BatchNorm-folded
model), so decoding is left out and only the model is timed. When a model's weights file is not on
this machine, seeded random weights are used: the time does not depend on the values.
"""

from __future__ import annotations

import copy
import math
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from resnet_desktop.core.errors import CancelledError, WeightsError
from resnet_desktop.core.evaluate.records import BenchProgress, SpeedResult
from resnet_desktop.core.models import spec
from resnet_desktop.core.models.ref import ModelRef, load

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import LoadedModel

#: The source's published comparison (NVIDIA's ResNet-50 v1.5 notes), shown next to v1 timings.
V1_NOTE = (
    "ResNet v1: torchvision ships no ImageNet weights for it (random weights here, for speed and for your own "
    "weights). Published: v1.5 is about +0.5% top-1 and about 5% slower than v1."
)
RANDOM_NOTE = "random weights (no weights file on this machine): speed does not depend on the values"


class PeakMemory:
    """Most memory used above the level at ``start()``: CUDA allocations, or the process's resident set.

    On Linux the resident-set peak is reset through ``/proc/self/clear_refs``; elsewhere the CPU
    figure is only known when this run raised the process's lifetime peak (else ``None``).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.baseline = 0
        self.cpu_reset = False

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
            return
        self.baseline = _rss_bytes()
        self.cpu_reset = _reset_rss_peak()

    def peak_mb(self) -> float | None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return (torch.cuda.max_memory_allocated(self.device) - self.baseline) / 2**20
        peak = _rss_peak_bytes()
        if peak is None or (not self.cpu_reset and peak <= self.baseline):
            return None
        return max(0, peak - self.baseline) / 2**20


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _rss_bytes() -> int:
    current = _status_kb("VmRSS")
    if current is not None:
        return current
    return _maxrss_bytes() or 0


def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value if sys.platform == "darwin" else value * 1024)


def _reset_rss_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_peak_bytes() -> int | None:
    peak = _status_kb("VmHWM")
    return peak if peak is not None else _maxrss_bytes()


def gflops(loaded: LoadedModel) -> float:
    """Multiply-adds of one forward at the model's crop size, in billions (torchvision's "GFLOPS").

    Counted from one no-grad forward of a zero image: each convolution's and linear layer's output
    size times its inputs per output, which is everything ``torch.utils.flop_counter`` counts in a
    ResNet (the tests hold it to torchvision's published figures). That counter is not used because
    it imports ``torch._dynamo`` (+147 MB resident for good). Hooks count only this thread's calls,
    so a classification running meanwhile on the same model is not counted.
    """
    model = loaded.model
    if any(module.training for module in model.modules()):  # a forward in train mode would update BatchNorm
        model = copy.deepcopy(model).eval()
    thread = threading.get_ident()
    macs = 0

    def count(module: torch.nn.Module, _inputs: object, output: object) -> None:
        nonlocal macs
        if threading.get_ident() != thread or not isinstance(output, torch.Tensor):
            return
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            macs += output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        elif isinstance(module, torch.nn.Linear):
            macs += output.numel() * module.in_features

    layers = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)
    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, layers)]
    crop = loaded.preprocessing.crop_size
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    try:
        with torch.no_grad():
            model(torch.zeros((1, 3, crop, crop), device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
    return macs / 1e9


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _pixels(count: int, crop: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, crop, crop), dtype=torch.uint8, generator=generator)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("The benchmark was cancelled.")


def time_throughput(engine: Engine, batches: int, cancel: threading.Event | None = None) -> float:
    """Images per second through ``engine.logits`` at the engine's batch size (after one warm-up batch)."""
    pixels = _pixels(engine.batch_size, engine.preprocessing.crop_size)
    engine.logits(pixels)
    started = time.perf_counter()
    for _ in range(batches):
        _check(cancel)
        engine.logits(pixels)
    elapsed = time.perf_counter() - started
    return batches * engine.batch_size / elapsed if elapsed > 0 else 0.0


def time_latency(engine: Engine, repeats: int, cancel: threading.Event | None = None) -> list[float]:
    """Milliseconds per call of ``engine.logits`` on one image (after two warm-up calls)."""
    pixels = _pixels(1, engine.preprocessing.crop_size, seed=1)
    for _ in range(2):
        engine.logits(pixels)
    times = []
    for _ in range(repeats):
        _check(cancel)
        started = time.perf_counter()
        engine.logits(pixels)  # returns CPU logits, so the device has finished
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_choice(choice: ModelRef) -> ModelRef:
    """What ``bench`` loads for a reference: the cached default weights if present, else random."""
    if choice.weights is not None or choice.file is not None:
        return choice
    from resnet_desktop.core.models.zoo import cached_default_weights

    arch = choice.default_arch
    return ModelRef(arch, cached_default_weights(arch) or spec.RANDOM_WEIGHTS)


def _published(loaded: LoadedModel) -> tuple[float | None, float | None, str | None]:
    from resnet_desktop.core.models import zoo

    if spec.is_v1(loaded.arch) or loaded.arch not in spec.ARCHITECTURES:
        return None, None, None
    name = loaded.weights_name if loaded.weights_name not in (None, spec.RANDOM_WEIGHTS) else "DEFAULT"
    if loaded.custom_file is not None:
        return None, None, None
    try:
        info = zoo.get_weights_info(loaded.arch, str(name))
    except WeightsError:  # a base-weights name we cannot look up just has no published figure
        return None, None, None
    return info.acc1, info.acc5, info.name


def file_size_mb(loaded: LoadedModel) -> float | None:
    """The weights file's size: the custom file, else torchvision's published size, else None (random)."""
    if loaded.custom_file is not None:
        try:
            return loaded.custom_file.stat().st_size / 2**20
        except OSError:
            return None
    value = loaded.meta.get("file_size_mb")
    return float(value) if value is not None else None


def measure(
    choice: ModelRef,
    device: str = "auto",
    *,
    batch_size: int | None = None,
    batches: int = 3,
    repeats: int = 20,
    cancel: threading.Event | None = None,
) -> SpeedResult:
    """Load ``choice`` (see ``bench_choice``), place it on ``device`` and time it."""
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.inference.engine import Engine

    resolved = bench_choice(choice)
    memory = PeakMemory(resolve_device(device))
    memory.start()
    started = time.perf_counter()
    loaded = load(resolved, cancel=cancel)
    engine = Engine(loaded, device, batch_size=batch_size)
    load_s = time.perf_counter() - started
    _check(cancel)
    rate = time_throughput(engine, batches, cancel)
    latency = time_latency(engine, repeats, cancel)
    peak = memory.peak_mb()
    acc1, acc5, entry = _published(loaded)
    random_weights = loaded.weights_name == spec.RANDOM_WEIGHTS
    notes = [V1_NOTE] if spec.is_v1(loaded.arch) else []
    if random_weights and not spec.is_v1(loaded.arch):
        notes.append(RANDOM_NOTE)
    return SpeedResult(
        label=choice.label(),
        arch=loaded.arch,
        weights=loaded.weights_name or (loaded.custom_file.name if loaded.custom_file else ""),
        random_weights=random_weights,
        device=engine.device_name,
        batch_size=engine.batch_size,
        load_s=load_s,
        images_per_second=rate,
        latency_p50_ms=float(np.percentile(latency, 50)),
        latency_p95_ms=float(np.percentile(latency, 95)),
        peak_memory_mb=peak,
        params=parameters(loaded.model),
        gflops=gflops(loaded),
        file_size_mb=file_size_mb(loaded),
        published_acc1=acc1,
        published_acc5=acc5,
        published_entry=entry,
        note=" ".join(notes),
    )


def bench(
    choices: Sequence[ModelRef],
    device: str = "auto",
    *,
    batch_size: int | None = None,
    batches: int = 3,
    repeats: int = 20,
    cancel: threading.Event | None = None,
) -> Iterator[BenchProgress | SpeedResult]:
    """For each choice: a ``BenchProgress``, then its ``SpeedResult`` (one model in memory at a time)."""
    for index, choice in enumerate(choices):
        _check(cancel)
        yield BenchProgress(choice.label(), "measuring", index, len(choices))
        yield measure(choice, device, batch_size=batch_size, batches=batches, repeats=repeats, cancel=cancel)
