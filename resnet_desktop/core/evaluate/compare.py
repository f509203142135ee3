"""Several models on the same labeled folder: one report each and one comparison table.

Each model is loaded, evaluated (its images/s is the evaluation's own, decoding included), timed
at batch 1, and dropped before the next one loads, so only one is in memory at a time.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_desktop.core.csvcells import SafeWriter
from resnet_desktop.core.evaluate import speed
from resnet_desktop.core.evaluate.choices import ModelChoice, load_choice
from resnet_desktop.core.evaluate.metrics import DEFAULT_TARGET_ACCURACY
from resnet_desktop.core.evaluate.report import EvaluationReport
from resnet_desktop.core.evaluate.run import evaluate_folder
from resnet_desktop.core.inference.records import Progress

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

#: Batch-1 calls timed per model in a comparison (after two warm-up calls).
LATENCY_REPEATS = 10


@dataclass(frozen=True)
class ModelProgress:
    """Progress of model ``index`` of ``total``: ``step`` is "loading" or "evaluating" (with ``progress``)."""

    label: str
    index: int
    total: int
    step: str
    progress: Progress | None = None


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the comparison table."""

    label: str
    top1: float
    top5: float
    ece: float
    images_per_second: float
    latency_ms: float
    peak_memory_mb: float | None
    params: int
    gflops: float
    file_size_mb: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


COLUMNS = (
    ("label", "model"),
    ("top1", "top-1"),
    ("top5", "top-5"),
    ("ece", "ECE"),
    ("images_per_second", "images/s"),
    ("latency_ms", "ms/image (batch 1)"),
    ("peak_memory_mb", "peak MiB"),
    ("params", "params (M)"),
    ("gflops", "GFLOPs"),
    ("file_size_mb", "file MiB"),
)


def compare_models(
    choices: Sequence[ModelChoice],
    folder: str | Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    mapping: Mapping[str, str] | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    top_losses: int = 20,
    latency_repeats: int = LATENCY_REPEATS,
    cancel: threading.Event | None = None,
    loader: Callable[[ModelChoice], LoadedModel] | None = None,
) -> Iterator[ModelProgress | EvaluationReport | ComparisonRow]:
    """For each model: progress events, its ``EvaluationReport``, then its ``ComparisonRow``.

    ``loader`` loads a choice (default ``load_choice``); the GUI passes one that reuses the model it has.
    """
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.inference.engine import Engine

    for index, choice in enumerate(choices):
        label = choice.label()
        yield ModelProgress(label, index, len(choices), "loading")
        memory = speed.PeakMemory(resolve_device(device))
        memory.start()
        loaded = loader(choice) if loader is not None else load_choice(choice, cancel=cancel)
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


def cell_text(row: ComparisonRow, key: str) -> str:
    """How the table shows one value (CLI and GUI alike)."""
    value = getattr(row, key)
    if value is None:
        return "n/a"
    if key in ("top1", "top5"):
        return f"{value:.1%}"
    if key == "ece":
        return f"{value:.3f}"
    if key == "params":
        return f"{value / 1e6:.1f}"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return str(value)


def comparison_csv(rows: Sequence[ComparisonRow]) -> str:
    """The comparison table as CSV (the GUI's export), raw values."""
    out = io.StringIO()
    writer = SafeWriter(out)  # a model's name can start with '=': never a live formula in a spreadsheet
    writer.writerow([key for key, _title in COLUMNS])
    for row in rows:
        data = row.to_dict()
        writer.writerow(["" if data[key] is None else data[key] for key, _title in COLUMNS])
    return out.getvalue()
