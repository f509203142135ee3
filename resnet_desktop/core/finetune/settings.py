"""Fine-tuning settings (torch-free, so the wizard can build them on the GUI thread)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.finetune.data import DEFAULT_VAL_SPLIT
from resnet_desktop.core.models.ref import ModelRef

MODES = ("head", "last-stage")
OPTIMIZERS = ("lbfgs", "adamw")


@dataclass
class FineTuneSettings:
    """Everything that decides a run; saved in the model file's metrics for reproducibility."""

    #: None with a weights file: the file's own architecture (filled in once the base model loaded).
    arch: str | None = "resnet50"
    weights: str = "DEFAULT"
    mode: str = "head"
    val_split: float = DEFAULT_VAL_SPLIT
    epochs: int = 30
    learning_rate: float = 1e-3
    batch_size: int = 64
    augment: int = 0
    balance: bool = False
    seed: int = 0
    optimizer: str = "lbfgs"
    weight_decay: float | None = None
    patience: int = 5
    backbone_lr_factor: float = 0.1
    device: str = "auto"
    workers: int | None = None
    #: torch intra-op threads while the head trains (tiny matmuls: 1 is fastest on a busy box).
    #: Process-wide, so only for callers that run nothing else at the time (the CLI);
    #: None leaves the process setting alone (the GUI classifies in parallel).
    head_threads: int | None = None

    def check(self) -> None:
        """Refuse settings that cannot work, with the reason."""
        if self.mode not in MODES:
            raise SettingsError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0 < self.val_split < 1:
            raise SettingsError(f"the validation split must be between 0 and 1, not {self.val_split}")
        if self.epochs < 1 or self.batch_size < 1 or self.augment < 0 or self.patience < 1:
            raise SettingsError("epochs, batch size and patience must be at least 1 and augment at least 0")
        if self.optimizer not in OPTIMIZERS:
            raise SettingsError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.learning_rate <= 0:
            raise SettingsError("the learning rate must be positive")

    def base(self) -> ModelRef:
        """The base model (``weights`` may be a file: of ``arch``, or of any ResNet when ``arch`` is None)."""
        return ModelRef.parse(self.arch, self.weights)

    def describe_base(self) -> str:
        """ "resnet50 (DEFAULT)", "resnet18 (base.pth)", or just "base.pth" before its architecture is known."""
        file = self.base().file
        if file is not None:
            return f"{self.arch} ({file.name})" if self.arch else file.name
        return f"{self.arch} ({self.weights})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
