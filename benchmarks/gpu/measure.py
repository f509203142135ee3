"""Per model: the ceiling, the naive loop and the engine with each decoder, on each photo set.

The timing code is ``benchmarks/throughput.py``'s (``model_only``, ``naive_loop``, ``engine_run``,
``decode_ms``, ``GpuSampler``); this module only arranges the runs and collects the figures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.gpu.agreement import calibrate_batchnorm, compare_imagenet
from benchmarks.gpu.plan import Plan, random_model
from benchmarks.gpu.report import print_set
from benchmarks.throughput import GpuSampler, decode_ms, engine_run, model_only, naive_loop
from resnet_desktop.core.inference.engine import Engine

Figures = dict[str, Any]


class CpuUse:
    """This process's CPU time over a block, as a share of every core's wall time."""

    def __enter__(self) -> CpuUse:
        self._times, self._wall = os.times(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        end, wall = os.times(), time.perf_counter() - self._wall
        used = (end.user - self._times.user) + (end.system - self._times.system)
        self.share = used / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0


def precision_name(engine: Engine) -> str:
    return {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}.get(engine.autocast_dtype, "?")


def engine_figures(engine: Engine, paths: list[Path], repeat: int) -> Figures:
    """images/s (best of ``repeat``) and where the time went, for one engine over ``paths``."""
    engine_run(engine, paths[: engine.batch_size])  # warm-up: kernels, cuDNN autotuning, page cache
    best: Figures = {}
    for _ in range(max(1, repeat)):
        decoder = engine.device_decoder
        busy0, on_device0, on_cpu0 = (decoder.busy_s, decoder.on_device, decoder.on_cpu) if decoder else (0, 0, 0)
        with GpuSampler(engine.device) as gpu, CpuUse() as cpu:
            rate = engine_run(engine, paths)
        timings = engine.last_run
        assert timings is not None
        figures: Figures = {
            "images_per_s": rate,
            "images": len(paths),
            "decode_wait_share": timings.decode_wait_share,
            "gpu_busy_percent": gpu.mean,
            "gpu_busy_source": gpu.source,
            "cpu_busy_share": cpu.share,
        }
        if decoder is not None:
            figures["decode_busy_share"] = (decoder.busy_s - busy0) / timings.elapsed_s
            figures["decoded_on_device"] = decoder.on_device - on_device0
            figures["decoded_on_cpu"] = decoder.on_cpu - on_cpu0
        if rate > best.get("images_per_s", 0.0):
            best = figures
    if engine.device_decoder is None:  # core-seconds of Pillow decoding per wall second, over all cores
        per_image_s = decode_ms(engine, paths[: min(len(paths), 8)]) / 1000
        best["decode_ms_per_image_one_core"] = per_image_s * 1000
        best["decode_busy_share"] = per_image_s * best["images_per_s"] / engine.workers
    return best


def measure_arch(arch: str, plan: Plan, photos: dict[str, list[Path]], device: torch.device) -> Figures:
    """Every throughput figure for one model, and its agreement with the fp32 CPU reference."""
    loaded = random_model(arch)
    calibrate_batchnorm(loaded, photos["small"][:32])  # different photos get different classes
    pool = Engine(loaded, device)
    ceiling = model_only(pool, plan.ceiling_s)
    out: Figures = {
        "batch": pool.batch_size,
        "precision": precision_name(pool),
        "decode_workers": pool.workers,
        "ceiling_images_per_s": ceiling,
        "sets": {},
    }
    print(f"\n{arch}: batch {pool.batch_size}, {precision_name(pool)}, {pool.workers} decode workers", flush=True)
    print(f"  model only (ceiling, channels_last)    {ceiling:9.1f} images/s", flush=True)
    naive_model = random_model(arch)  # naive_loop moves its model to the device
    gpu_decode = Engine(loaded, device, decoder="device")
    for name, files in photos.items():
        naive_paths = files[: plan.naive[name]]
        naive_loop(naive_model, naive_paths[:2], device)  # warm-up
        naive_rate, naive_share = naive_loop(naive_model, naive_paths, device)
        naive = {"images_per_s": naive_rate, "images": len(naive_paths), "decode_share": naive_share}
        figures: Figures = {"naive": naive}
        run_paths = files * plan.passes[name]
        for label, engine in (("pool", pool), ("device", gpu_decode)):
            result = engine_figures(engine, run_paths, plan.repeat)
            result["vs_naive"] = result["images_per_s"] / naive_rate
            result["vs_ceiling"] = result["images_per_s"] / ceiling
            figures[label] = result
        out["sets"][name] = figures
        print_set(name, figures)
    del naive_model, pool, gpu_decode
    if device.type == "cuda":
        torch.cuda.empty_cache()
    subset = [p for name, files in photos.items() for p in files[: plan.agreement[name]]]
    out["agreement"] = compare_imagenet(loaded, subset, device)
    return out
