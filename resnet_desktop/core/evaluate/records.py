"""The model lab's records and tables, torch-free: what ``evaluate`` and ``bench`` yield and how
the CLI and the GUI show them (one set of columns and cell texts, so the two cannot differ).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from resnet_desktop.core.csvcells import SafeWriter, write_dicts
from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.models import spec


@dataclass
class SpeedResult:
    """One model's measurements (times in seconds or milliseconds, memory in MiB)."""

    label: str
    arch: str
    weights: str
    random_weights: bool
    device: str
    batch_size: int
    load_s: float
    images_per_second: float
    latency_p50_ms: float
    latency_p95_ms: float
    peak_memory_mb: float | None
    params: int
    gflops: float
    file_size_mb: float | None
    published_acc1: float | None
    published_acc5: float | None
    published_entry: str | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class BenchProgress:
    """Where a run is: which model (``index`` of ``total``) and which step."""

    label: str
    step: str
    index: int
    total: int


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


def ratios(results: Sequence[SpeedResult]) -> list[float]:
    """Each result's images/s relative to the first one (the run's baseline)."""
    if not results or results[0].images_per_second <= 0:
        return [0.0 for _ in results]
    base = results[0].images_per_second
    return [r.images_per_second / base for r in results]


def v1_pairs(results: Sequence[SpeedResult]) -> list[tuple[SpeedResult, SpeedResult]]:
    """(v1, v1.5) pairs of the same depth that were both measured."""
    by_arch = {r.arch: r for r in results}
    return [
        (by_arch[a], by_arch[spec.base_arch(a)])
        for a in spec.V1_ARCHITECTURES
        if a in by_arch and spec.base_arch(a) in by_arch
    ]


def results_csv(results: Sequence[SpeedResult]) -> str:
    """One row per model, the ``SpeedResult`` fields as columns (the CLI's ``--format csv``, the GUI's export)."""
    rows = [r.to_dict() for r in results]
    out = io.StringIO()
    write_dicts(out, rows)  # neutralised cells: a model's name is text a person chose
    return out.getvalue()


#: The bench table's columns (CLI table and GUI Speed tab).
SPEED_HEADER = (
    "model",
    "weights",
    "images/s",
    "vs first",
    "p50 ms",
    "p95 ms",
    "load s",
    "peak MiB",
    "params (M)",
    "GFLOPs",
    "published top-1/top-5",
)


def speed_cells(results: Sequence[SpeedResult]) -> list[list[str]]:
    """One row of texts per result, in ``SPEED_HEADER`` order."""
    rows = []
    for r, ratio in zip(results, ratios(results), strict=True):
        published = (
            f"{r.published_acc1:.1f}/{r.published_acc5:.1f} ({r.published_entry})" if r.published_acc1 else "none"
        )
        weights = f"{r.weights} (random)" if r.random_weights and r.weights != "random" else r.weights
        rows.append(
            [
                r.label,
                weights,
                f"{r.images_per_second:.1f}",
                f"{ratio:.2f}x",
                f"{r.latency_p50_ms:.1f}",
                f"{r.latency_p95_ms:.1f}",
                f"{r.load_s:.2f}",
                "n/a" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}",
                f"{r.params / 1e6:.1f}",
                f"{r.gflops:.2f}",
                published,
            ]
        )
    return rows
