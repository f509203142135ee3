"""Fine-tuning on scikit-learn's digits drawn as images: head-only vs one inference pass, and the
trained head's fast path against its fp32 CPU reference.

The ratio is ``benchmarks/finetune.py``'s (the inference pass timed before and after fine-tuning,
the faster one used); the backbone is a random ResNet with BatchNorm statistics calibrated on the
digits, so its pooled features carry the digits' structure.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.finetune import inference_pass
from benchmarks.gpu.agreement import calibrate_batchnorm, compare, fast_path_logits, reference_logits_batch
from benchmarks.gpu.plan import random_model
from resnet_desktop.core.finetune.api import FineTuneSettings, fine_tune, scan_dataset
from resnet_desktop.core.finetune.synthetic import make_digits_folder
from resnet_desktop.core.work import drive


def digits_figures(arch: str, per_class: int | None, folder: Path, device: torch.device) -> dict[str, Any]:
    if not folder.exists():
        make_digits_folder(folder, per_class=per_class)
    samples = scan_dataset(folder).samples()
    paths = [path for path, _ in samples]
    labels = torch.tensor([label for _, label in samples])
    loaded = random_model(arch)
    spread = min(16, len(paths))  # a few images of every digit
    calibrate_batchnorm(loaded, [paths[i * len(paths) // spread] for i in range(spread)])
    before = inference_pass(loaded, paths, str(device))
    settings = FineTuneSettings(arch=arch, weights="random", device=str(device), head_threads=1)  # as the CLI
    started = time.perf_counter()
    result = drive(fine_tune(folder, settings, loaded=loaded))
    tune_s = time.perf_counter() - started
    after = inference_pass(loaded, paths, str(device))
    tuned = dataclasses.replace(loaded, model=result.model, categories=list(result.class_names))
    reference = reference_logits_batch(tuned, paths)
    fast = fast_path_logits(tuned, paths, device)
    return {
        "arch": arch,
        "images": len(paths),
        "classes": len(result.class_names),
        "val_accuracy": result.val_accuracy,
        "reference_accuracy": float((reference.argmax(dim=1) == labels).float().mean()),
        "fast_accuracy": float((fast.argmax(dim=1) == labels).float().mean()),
        "finetune_s": tune_s,
        "inference_pass_s": min(before, after),
        "finetune_vs_inference": tune_s / min(before, after),
        "agreement": compare(reference, fast),
    }
