"""Validation metrics for a fine-tuned head: accuracy, per-class precision/recall, confusion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class ValPrediction:
    """One validation image: its true and predicted class indices and the predicted probability."""

    path: Path
    true: int
    pred: int
    confidence: float


def confusion_matrix(true: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``matrix[t, p]`` counts images of class ``t`` predicted as ``p``."""
    flat = true.long() * num_classes + pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def compute_metrics(
    logits: torch.Tensor, true: torch.Tensor, paths: list[Path], class_names: list[str]
) -> tuple[list[ValPrediction], dict[str, Any]]:
    """Per-image predictions and a JSON-ready metrics dict (precision/recall 0 when undefined)."""
    probs = logits.float().softmax(dim=1)
    confidence, pred = probs.max(dim=1)
    n = len(class_names)
    matrix = confusion_matrix(true, pred, n)
    tp = matrix.diag().float()
    predicted = matrix.sum(dim=0).float()
    actual = matrix.sum(dim=1).float()
    precision = torch.where(predicted > 0, tp / predicted.clamp_min(1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp_min(1), torch.zeros_like(tp))
    per_class = {
        name: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "support": int(actual[i]),
        }
        for i, name in enumerate(class_names)
    }
    predictions = [
        ValPrediction(Path(p), int(t), int(q), float(c))
        for p, t, q, c in zip(paths, true.tolist(), pred.tolist(), confidence.tolist(), strict=True)
    ]
    accuracy = float(tp.sum() / max(1, len(paths)))
    metrics: dict[str, Any] = {
        "val_accuracy": round(accuracy, 4),
        "per_class": per_class,
        "confusion": matrix.tolist(),
        "misclassified": [
            {"path": str(p.path), "true": class_names[p.true], "pred": class_names[p.pred]}
            for p in predictions
            if p.true != p.pred
        ],
    }
    return predictions, metrics
