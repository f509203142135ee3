"""Validation metrics for a fine-tuned head, computed by ``core.evaluate.metrics`` (one implementation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from resnet_desktop.core.evaluate import metrics as shared


@dataclass(frozen=True)
class ValPrediction:
    """One validation image: its true and predicted class indices and the predicted probability."""

    path: Path
    true: int
    pred: int
    confidence: float


def compute_metrics(
    logits: torch.Tensor, true: torch.Tensor, paths: list[Path], class_names: list[str]
) -> tuple[list[ValPrediction], dict[str, Any]]:
    """Per-image predictions and a JSON-ready metrics dict (precision/recall/F1 0 when undefined)."""
    probs = logits.float().softmax(dim=1)
    confidence, pred = probs.max(dim=1)
    t, p = true.long().cpu().numpy(), pred.cpu().numpy()
    matrix = shared.confusion_matrix(t, p, len(class_names))
    per_class = {
        s.name: {
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
            "f1": round(s.f1, 4),
            "support": s.support,
        }
        for s in shared.per_class(matrix, class_names)
    }
    predictions = [
        ValPrediction(Path(path), int(a), int(b), float(c))
        for path, a, b, c in zip(paths, t.tolist(), p.tolist(), confidence.tolist(), strict=True)
    ]
    metrics: dict[str, Any] = {
        "val_accuracy": round(shared.accuracy(t, p), 4),
        "per_class": per_class,
        "confusion": matrix.tolist(),
        "misclassified": [
            {"path": str(v.path), "true": class_names[v.true], "pred": class_names[v.pred]}
            for v in predictions
            if v.true != v.pred
        ],
    }
    return predictions, metrics
