"""The evaluation report: every number about one model on one labeled folder, and its JSON form.

Rows of the confusion matrix are the classes the folder contains (in the model's class order);
columns are those classes, then either the model's other classes by name (small models) or one
"other" column (ImageNet: the ~990 classes the folder does not contain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from resnet_desktop.core.evaluate import metrics as m

#: Models with at most this many classes show each absent class as its own matrix column.
MAX_NAMED_COLUMNS = 20
OTHER = "other"
REPORT_FORMAT = "resnet-desktop-evaluation"


@dataclass(frozen=True)
class ImageResult:
    """One scored image. ``true``/``pred`` are matrix row/column numbers; ``*_index`` model classes."""

    path: Path
    true: int
    pred: int
    true_index: int
    pred_index: int
    confidence: float
    p_true: float
    top5: tuple[int, ...]

    @property
    def correct(self) -> bool:
        return self.true_index == self.pred_index

    @property
    def loss(self) -> float:
        return float(m.losses([self.p_true])[0])


@dataclass
class EvaluationReport:
    """How one model did on one labeled folder."""

    model: dict[str, Any]
    folder: Path
    rows: list[str]
    row_indices: list[int]
    columns: list[str]
    column_indices: list[int | None]
    row_folders: dict[str, list[str]]
    images: list[ImageResult]
    confusion: np.ndarray
    per_class: list[m.ClassStats]
    averages: dict[str, dict[str, float]]
    top1: float
    top5: float
    top5_k: int
    calibration: m.Calibration
    sweep: list[m.SweepRow]
    suggested_threshold: float
    suggested_reason: str
    target_accuracy: float
    most_confused: list[tuple[str, str, int]]
    top_losses: list[int]
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def scored(self) -> int:
        return len(self.images)

    @property
    def confidently_wrong(self) -> list[int]:
        """The top losses that are mistakes, worst first (a correct image is never "wrong")."""
        return [i for i in self.top_losses if not self.images[i].correct]

    @property
    def images_per_second(self) -> float:
        return (self.scored + len(self.failed)) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def ece(self) -> float:
        return self.calibration.ece

    def cell(self, row: int, column: int) -> list[ImageResult]:
        """The images of one confusion-matrix cell (true row, predicted column), most confident first."""
        chosen = [r for r in self.images if r.true == row and r.pred == column]
        return sorted(chosen, key=lambda r: -r.confidence)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``evaluate --format json``, the GUI's export); keys documented in the README."""
        categories: list[str] = self.model.get("categories") or []

        def name(index: int) -> str:
            return categories[index] if index < len(categories) else f"class {index}"

        def image(r: ImageResult) -> dict[str, Any]:
            return {
                "path": str(r.path),
                "true": self.rows[r.true],
                "predicted": name(r.pred_index),
                "confidence": r.confidence,
                "p_true": r.p_true,
                "loss": r.loss,
                "correct": r.correct,
                "top5": [name(i) for i in r.top5],
            }

        model = {k: v for k, v in self.model.items() if k != "categories"}
        report: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "format_version": 1,
            "model": model,
            "folder": str(self.folder),
            "images": self.scored,
            "failed": [{"path": str(p), "error": e} for p, e in self.failed],
            "top1_accuracy": self.top1,
            "top5_accuracy": self.top5,
            "top5_k": self.top5_k,
            "classes": [
                {"class": s.name, "folders": self.row_folders.get(s.name, []), **_stats(s)} for s in self.per_class
            ],
            "averages": self.averages,
            "confusion": {"rows": self.rows, "columns": self.columns, "matrix": self.confusion.tolist()},
            "most_confused": [{"true": t, "predicted": p, "count": c} for t, p, c in self.most_confused],
            "top_losses": [image(self.images[i]) for i in self.top_losses],
            "calibration": {
                "ece": self.calibration.ece,
                "bins": [m.rounded(b) for b in self.calibration.bins],
            },
            "threshold_sweep": [m.rounded(r) for r in self.sweep],
            "suggested_threshold": self.suggested_threshold,
            "suggested_threshold_reason": self.suggested_reason,
            "target_accuracy": self.target_accuracy,
            "unmatched_folders": self.unmatched,
            "notes": self.notes,
            "elapsed_s": self.elapsed_s,
            "images_per_second": self.images_per_second,
            "predictions": [image(r) for r in self.images],
        }
        return dict(m.rounded(report))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _stats(s: m.ClassStats) -> dict[str, Any]:
    return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}


def columns_for(row_indices: list[int], categories: list[str]) -> tuple[list[str], list[int | None]]:
    """Matrix columns: the row classes, then the absent classes by name or one "other"."""
    names = [categories[i] for i in row_indices]
    indices: list[int | None] = list(row_indices)
    absent = [i for i in range(len(categories)) if i not in set(row_indices)]
    if not absent:
        return names, indices
    if len(categories) <= MAX_NAMED_COLUMNS:
        return names + [categories[i] for i in absent], indices + list(absent)
    return [*names, OTHER], [*indices, None]


def build_report(
    *,
    model: dict[str, Any],
    folder: Path,
    rows: list[str],
    row_indices: list[int],
    row_folders: dict[str, list[str]],
    images: list[ImageResult],
    columns: list[str],
    column_indices: list[int | None],
    target_accuracy: float = m.DEFAULT_TARGET_ACCURACY,
    top_losses: int = 20,
    num_classes: int,
) -> EvaluationReport:
    """Every metric from the per-image results (``core.evaluate.metrics`` does the arithmetic)."""
    true = np.array([r.true for r in images], dtype=np.int64)
    pred = np.array([r.pred for r in images], dtype=np.int64)
    confidence = np.array([r.confidence for r in images], dtype=np.float64)
    correct = np.array([r.correct for r in images], dtype=bool)
    p_true = np.array([r.p_true for r in images], dtype=np.float64)
    matrix = m.confusion_matrix(true, pred, len(rows), len(columns))
    stats = m.per_class(matrix, rows)
    k = min(5, num_classes)
    top5 = np.array([r.top5[:k] for r in images], dtype=np.int64).reshape(len(images), k)
    true_index = np.array([r.true_index for r in images], dtype=np.int64)
    sweep = m.threshold_sweep(confidence, correct)
    threshold, reason = m.suggest_threshold(sweep, target_accuracy)
    return EvaluationReport(
        model=model,
        folder=folder,
        rows=rows,
        row_indices=row_indices,
        columns=columns,
        column_indices=column_indices,
        row_folders=row_folders,
        images=images,
        confusion=matrix,
        per_class=stats,
        averages=m.averages(stats),
        top1=float(correct.mean()) if images else 0.0,
        top5=m.topk_accuracy(true_index, top5),
        top5_k=k,
        calibration=m.calibration(confidence, correct),
        sweep=sweep,
        suggested_threshold=threshold,
        suggested_reason=reason,
        target_accuracy=target_accuracy,
        most_confused=m.most_confused(matrix, rows, columns),
        top_losses=m.top_losses(p_true, top_losses),
    )
