"""What a fine-tuning run yields: progress events, and the result (the trained model, its metrics,
how it was made), which writes the model file only when asked to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from resnet_desktop.core.finetune.metrics import ValPrediction
from resnet_desktop.core.finetune.settings import FineTuneSettings

if TYPE_CHECKING:
    from resnet_desktop.core.models.modelfile import ModelFileMeta
    from resnet_desktop.core.models.spec import Preprocessing


@dataclass(frozen=True)
class TrainProgress:
    """One progress event. ``phase``: "load", "features", "select", "train" or "finetune".

    ``step``/``steps`` count the fits of "select" (cross-validating the head's L2 strength)."""

    phase: str
    message: str = ""
    images_done: int = 0
    images_total: int = 0
    epoch: int = 0
    epochs: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    eta_s: float | None = None
    elapsed_s: float = 0.0
    step: int = 0
    steps: int = 0


@dataclass
class FineTuneResult:
    """The trained model (plain torchvision ResNet, new ``fc``), how good it is, and how it was made."""

    model: nn.Module
    arch: str
    class_names: list[str]
    preprocessing: Preprocessing
    base_weights: str | None
    settings: FineTuneSettings
    metrics: dict[str, Any]
    predictions: list[ValPrediction]
    history: list[TrainProgress] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def val_accuracy(self) -> float:
        return float(self.metrics["val_accuracy"])

    @property
    def misclassified(self) -> list[ValPrediction]:
        return [p for p in self.predictions if p.true != p.pred]

    def model_meta(self) -> ModelFileMeta:
        from resnet_desktop.core.models.modelfile import ModelFileMeta

        # File paths stay out of the sidecar: model files get shared, the training folder is private.
        metrics = {k: v for k, v in self.metrics.items() if k != "misclassified"}
        metrics["misclassified"] = len(self.metrics.get("misclassified", []))
        metrics["settings"] = {k: v for k, v in self.settings.to_dict().items() if k not in ("device", "workers")}
        return ModelFileMeta(
            arch=self.arch,
            class_names=list(self.class_names),
            preprocessing=self.preprocessing.to_dict(),
            base_weights=self.base_weights,
            metrics=metrics,
            mode=self.settings.mode,
        )

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model file and its sidecar atomically (refuses to overwrite by default)."""
        from resnet_desktop.core.models.modelfile import save_model_file

        return save_model_file(path, self.model, self.model_meta(), overwrite=overwrite)
