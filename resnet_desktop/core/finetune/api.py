"""The fine-tune front door: scan a labeled folder, train a classifier on it, save the model file.

``fine_tune`` yields ``TrainProgress`` events and returns the ``FineTuneResult`` (``core.work``'s
convention); nothing is written until ``FineTuneResult.save``. Settings and records are torch-free
to import, so the wizard can build them on the GUI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.finetune.data import DatasetScan, scan_dataset
from resnet_desktop.core.finetune.settings import MODES, OPTIMIZERS, FineTuneSettings
from resnet_desktop.core.work import Work

if TYPE_CHECKING:  # these import torch
    from resnet_desktop.core.finetune.result import FineTuneResult as FineTuneResult
    from resnet_desktop.core.finetune.result import TrainProgress as TrainProgress
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = ["MODES", "OPTIMIZERS", "DatasetScan", "FineTuneSettings", "fine_tune", "scan_dataset"]


def fine_tune(
    dataset: DatasetScan | Path,
    settings: FineTuneSettings | None = None,
    *,
    loaded: LoadedModel | None = None,
    cancel: threading.Event | None = None,
) -> Work[TrainProgress, FineTuneResult]:
    """Train a classifier for the folder's classes on ``settings``' base model (or ``loaded``, used read-only)."""
    from resnet_desktop.core.finetune.run import fine_tune as run

    return (yield from run(dataset, settings, loaded=loaded, cancel=cancel))
