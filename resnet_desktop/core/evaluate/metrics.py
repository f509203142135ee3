"""Classification metrics on plain numpy arrays: the one implementation for evaluation and fine-tuning.

Labels are dense indices: ``true`` in ``0..n-1`` (the classes that are scored), ``pred`` in
``0..m-1`` with ``m >= n`` (extra predicted columns, such as "other" for the 990 ImageNet classes a
folder does not contain, are columns only). Definitions follow scikit-learn's
``classification_report`` with ``zero_division=0`` (a test checks them against it); calibration is
the expected calibration error of Guo et al. 2017 on the top-1 confidence, equal-width bins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Guo et al. 2017 use 15 equal-width confidence bins.
DEFAULT_ECE_BINS = 15
#: Thresholds of the confidence sweep: 0.00, 0.05, ..., 0.95.
SWEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))
#: Accuracy a suggested threshold aims for on the photos it keeps.
DEFAULT_TARGET_ACCURACY = 0.9
_EPS = 1e-12


@dataclass(frozen=True)
class ClassStats:
    """Precision, recall, F1 (0 when undefined) and support of one class."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class CalibrationBin:
    """Images whose confidence is in ``(lower, upper]`` (the first bin includes 0)."""

    lower: float
    upper: float
    count: int
    confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class Calibration:
    ece: float
    bins: list[CalibrationBin]


@dataclass(frozen=True)
class SweepRow:
    """Keeping only images with confidence >= ``threshold``: how many, what share, how accurate."""

    threshold: float
    kept: int
    share_kept: float
    accuracy: float | None


def _ints(values: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def confusion_matrix(
    true: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray, rows: int, columns: int | None = None
) -> np.ndarray:
    """``matrix[t, p]`` counts images of class ``t`` predicted as ``p`` (int64, rows x columns)."""
    columns = rows if columns is None else columns
    t, p = _ints(true), _ints(pred)
    if t.shape != p.shape:
        raise ValueError(f"true and pred differ in length ({t.size} vs {p.size})")
    if t.size and (t.min() < 0 or t.max() >= rows or p.min() < 0 or p.max() >= columns):
        raise ValueError("a label is outside the matrix")
    flat = np.bincount(t * columns + p, minlength=rows * columns)
    return flat.reshape(rows, columns).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (scikit-learn's ``zero_division=0``)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    return np.divide(num, den, out=out, where=den > 0)


def per_class(matrix: np.ndarray, names: Sequence[str]) -> list[ClassStats]:
    """Stats for each row class; column ``i`` is the same class as row ``i``."""
    n = matrix.shape[0]
    if len(names) != n:
        raise ValueError(f"{len(names)} names for {n} classes")
    tp = np.diag(matrix[:, :n]).astype(np.float64)
    predicted = matrix[:, :n].sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return [
        ClassStats(names[i], float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])) for i in range(n)
    ]


def averages(stats: Sequence[ClassStats]) -> dict[str, dict[str, float]]:
    """Macro (unweighted) and support-weighted means of precision, recall and F1."""
    support = np.array([s.support for s in stats], dtype=np.float64)
    out: dict[str, dict[str, float]] = {}
    for name, weights in (("macro", np.ones_like(support)), ("weighted", support)):
        total = float(weights.sum())
        out[name] = {
            key: float(np.dot([getattr(s, key) for s in stats], weights) / total) if total else 0.0
            for key in ("precision", "recall", "f1")
        }
    return out


def accuracy(true: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray) -> float:
    t, p = _ints(true), _ints(pred)
    return float((t == p).mean()) if t.size else 0.0


def topk_accuracy(true: Sequence[int] | np.ndarray, topk: np.ndarray) -> float:
    """Share of rows whose true label is among that row of ``topk`` (N x k indices)."""
    t = _ints(true)
    if not t.size:
        return 0.0
    return float((np.asarray(topk) == t[:, None]).any(axis=1).mean())


def most_confused(
    matrix: np.ndarray, rows: Sequence[str], columns: Sequence[str], limit: int = 10
) -> list[tuple[str, str, int]]:
    """Off-diagonal cells, most images first (fastai's ``most_confused``): (true, predicted, count)."""
    cells = [
        (int(matrix[t, p]), t, p)
        for t in range(matrix.shape[0])
        for p in range(matrix.shape[1])
        if t != p and matrix[t, p] > 0
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(rows[t], columns[p], count) for count, t, p in cells[:limit]]


def losses(p_true: Sequence[float] | np.ndarray) -> np.ndarray:
    """Cross-entropy of each image: ``-log p(true class)``."""
    return -np.log(np.clip(np.asarray(p_true, dtype=np.float64), _EPS, 1.0))


def top_losses(p_true: Sequence[float] | np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` images with the highest loss (fastai's ``top_losses``), worst first."""
    values = losses(p_true)
    order = np.argsort(-values, kind="stable")
    return [int(i) for i in order[: max(0, k)]]


def calibration(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = DEFAULT_ECE_BINS
) -> Calibration:
    """Expected calibration error and the reliability diagram's bins.

    ECE = sum over bins of (images in bin / all images) * |accuracy in bin - mean confidence in bin|.
    """
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin b holds (edges[b], edges[b+1]]; a confidence of exactly 0 goes to the first bin.
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    out: list[CalibrationBin] = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            mean_conf, acc = float(conf[mask].mean()), float(hit[mask].mean())
            ece += count / conf.size * abs(acc - mean_conf)
            out.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), count, mean_conf, acc))
        else:
            out.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), 0, None, None))
    return Calibration(float(ece), out)


def threshold_sweep(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> list[SweepRow]:
    """Accuracy against the share of images kept, for each confidence threshold."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=bool).reshape(-1)
    rows = []
    for t in thresholds:
        kept = conf >= t
        n = int(kept.sum())
        rows.append(SweepRow(float(t), n, n / conf.size if conf.size else 0.0, float(hit[kept].mean()) if n else None))
    return rows


def suggest_threshold(sweep: Sequence[SweepRow], target: float = DEFAULT_TARGET_ACCURACY) -> tuple[float, str]:
    """The lowest threshold whose kept images reach ``target`` accuracy, and why it was chosen.

    When no threshold reaches it, the one with the best accuracy (the lower on ties) is suggested.
    """
    rows = [r for r in sweep if r.accuracy is not None and r.kept > 0]
    if not rows:
        return 0.0, "no images were scored"
    for row in rows:
        assert row.accuracy is not None
        if row.accuracy >= target:
            return row.threshold, (
                f"lowest threshold keeping photos at >= {target:.0%} accuracy "
                f"({row.accuracy:.1%} on the {row.share_kept:.0%} kept)"
            )
    best = max(rows, key=lambda r: (r.accuracy or 0.0, -r.threshold))
    return best.threshold, (
        f"no threshold reaches {target:.0%} accuracy; this one is the most accurate "
        f"({(best.accuracy or 0.0):.1%} on the {best.share_kept:.0%} kept)"
    )


def rounded(value: Any, digits: int = 4) -> Any:
    """Floats rounded for JSON (NaN/inf become None), recursively through dicts, lists and dataclasses."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value
