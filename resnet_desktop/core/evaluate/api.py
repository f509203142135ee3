"""The model lab's front door: evaluate models on a labeled folder, compare them, time them.

Use cases: ``evaluate_models`` (one report per model and a comparison row each; the GUI can hand in
models it already has) and ``bench``; their records and tables (``core.evaluate.records``, ``text``)
are torch-free, so importing this module does not import torch: the generators import it when run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.evaluate.labels import read_mapping
from resnet_desktop.core.evaluate.records import (
    COLUMNS,
    SPEED_HEADER,
    BenchProgress,
    ComparisonRow,
    ModelProgress,
    SpeedResult,
    cell_text,
    comparison_csv,
    ratios,
    results_csv,
    speed_cells,
)
from resnet_desktop.core.evaluate.report import EvaluationReport, ImageResult
from resnet_desktop.core.evaluate.text import comparison_text, report_text, speed_text
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.work import Work

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = [
    "COLUMNS",
    "SPEED_HEADER",
    "BenchProgress",
    "ComparisonRow",
    "EvaluateEvent",
    "EvaluationReport",
    "ImageResult",
    "ModelProgress",
    "SpeedResult",
    "bench",
    "cell_text",
    "comparison_csv",
    "comparison_text",
    "evaluate_models",
    "ratios",
    "read_mapping",
    "report_text",
    "results_csv",
    "speed_cells",
    "speed_text",
]

EvaluateEvent = ModelProgress | EvaluationReport | ComparisonRow


def evaluate_models(
    refs: Sequence[ModelRef],
    folder: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    mapping_file: Path | None = None,
    target_accuracy: float | None = None,
    top_losses: int = 20,
    latency_repeats: int | None = None,
    preloaded: Mapping[ModelRef, LoadedModel] | None = None,
    on_loaded: Callable[[str, LoadedModel], object] | None = None,
    threads: int | None = None,
    cancel: threading.Event | None = None,
) -> Work[EvaluateEvent, None]:
    """For each model: ``ModelProgress`` events, its ``EvaluationReport``, then its ``ComparisonRow``.

    ``preloaded`` models are used instead of loading them again (the app's current model);
    ``on_loaded(label, model)`` sees each model (the lab keeps them for Grad-CAM).
    """
    from resnet_desktop.core.evaluate.compare import LATENCY_REPEATS, compare_models
    from resnet_desktop.core.evaluate.metrics import DEFAULT_TARGET_ACCURACY
    from resnet_desktop.core.models.ref import load

    mapping = read_mapping(mapping_file) if mapping_file is not None else None
    _set_threads(threads)
    known = preloaded or {}

    def loader(ref: ModelRef) -> LoadedModel:
        model = known.get(ref) or load(ref, cancel=cancel)
        if on_loaded is not None:
            on_loaded(ref.label(), model)
        return model

    yield from compare_models(
        refs,
        folder,
        device=device,
        batch_size=batch_size,
        mapping=mapping,
        target_accuracy=DEFAULT_TARGET_ACCURACY if target_accuracy is None else target_accuracy,
        top_losses=top_losses,
        latency_repeats=LATENCY_REPEATS if latency_repeats is None else latency_repeats,
        cancel=cancel,
        loader=loader,
    )


def bench(
    refs: Sequence[ModelRef],
    device: str = "auto",
    *,
    batch_size: int | None = None,
    batches: int = 3,
    repeats: int = 20,
    threads: int | None = None,
    cancel: threading.Event | None = None,
) -> Work[BenchProgress | SpeedResult, None]:
    """``BenchProgress`` then a ``SpeedResult`` for each model (synthetic inputs: the model alone is timed)."""
    from resnet_desktop.core.evaluate.speed import bench as run_bench

    _set_threads(threads)
    yield from run_bench(refs, device, batch_size=batch_size, batches=batches, repeats=repeats, cancel=cancel)


def _set_threads(threads: int | None) -> None:
    """CPU threads for the model (process-wide: for the CLI, which runs nothing else at the time)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
