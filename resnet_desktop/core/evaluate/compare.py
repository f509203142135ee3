"""Several models on the same labeled folder: one report each and one comparison table.

Each model is loaded, evaluated (its images/s is the evaluation's own, decoding included), timed
at batch 1, and dropped before the next one loads, so only one is in memory at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.evaluate import speed
from resnet_desktop.core.evaluate.metrics import DEFAULT_TARGET_ACCURACY
from resnet_desktop.core.evaluate.records import ComparisonRow, ModelProgress
from resnet_desktop.core.evaluate.report import EvaluationReport
from resnet_desktop.core.evaluate.run import evaluate_folder
from resnet_desktop.core.models.ref import ModelRef, load

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

#: Batch-1 calls timed per model in a comparison (after two warm-up calls).
LATENCY_REPEATS = 10


def compare_models(
    choices: Sequence[ModelRef],
    folder: str | Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    mapping: Mapping[str, str] | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    top_losses: int = 20,
    latency_repeats: int = LATENCY_REPEATS,
    cancel: threading.Event | None = None,
    loader: Callable[[ModelRef], LoadedModel] | None = None,
) -> Iterator[ModelProgress | EvaluationReport | ComparisonRow]:
    """For each model: progress events, its ``EvaluationReport``, then its ``ComparisonRow``.

    ``loader`` loads a reference (default ``ref.load``); the GUI passes one that reuses the model it has.
    """
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.inference.engine import Engine

    for index, choice in enumerate(choices):
        label = choice.label()
        yield ModelProgress(label, index, len(choices), "loading")
        memory = speed.PeakMemory(resolve_device(device))
        memory.start()
        loaded = loader(choice) if loader is not None else load(choice, cancel=cancel)
        engine = Engine(loaded, device, batch_size=batch_size)
        report: EvaluationReport | None = None
        for item in evaluate_folder(
            loaded,
            folder,
            engine=engine,
            mapping=mapping,
            target_accuracy=target_accuracy,
            top_losses=top_losses,
            cancel=cancel,
        ):
            if isinstance(item, EvaluationReport):
                report = item
            else:
                yield ModelProgress(label, index, len(choices), "evaluating", item)
        assert report is not None
        report.model["label"] = label
        yield report
        latency = speed.time_latency(engine, latency_repeats, cancel)
        yield ComparisonRow(
            label=label,
            top1=report.top1,
            top5=report.top5,
            ece=report.ece,
            images_per_second=report.images_per_second,
            latency_ms=float(np.percentile(latency, 50)),
            peak_memory_mb=memory.peak_mb(),
            params=speed.parameters(loaded.model),
            gflops=speed.gflops(loaded),
            file_size_mb=speed.file_size_mb(loaded),
        )
        del engine, loaded
