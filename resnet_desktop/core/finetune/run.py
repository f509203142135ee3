"""Fine-tuning a ResNet on a labeled folder: the one generator the CLI and the wizard drive.

``fine_tune()`` validates the folder, splits it (stratified, seeded), computes frozen-backbone
features once (plus augmented views), trains a new head on them (``finetune_head``), optionally
trains layer4 + head end to end on cached layer3 maps (``finetune_stage``), evaluates on the
validation images and returns a :class:`FineTuneResult` holding a plain torchvision ResNet with a
new ``fc`` (``core.work``'s convention: progress events are yielded, the result is returned).
Nothing is written to disk until ``FineTuneResult.save()``; a cancelled or failed run therefore
leaves nothing behind. The events and the result are defined in ``result``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from resnet_desktop.core.errors import CancelledError, DatasetError
from resnet_desktop.core.finetune.data import (
    DatasetScan,
    scan_dataset,
    stratified_split,
)
from resnet_desktop.core.finetune.features import (
    ExtractProgress,
    FeatureSet,
    extract,
    feature_engine,
    layer3_backbone,
    pooled_backbone,
)
from resnet_desktop.core.finetune.head import EpochStats, Head, HeadConfig, SelectStep, train_head
from resnet_desktop.core.finetune.metrics import ValPrediction, compute_metrics
from resnet_desktop.core.finetune.result import FineTuneResult, TrainProgress
from resnet_desktop.core.finetune.settings import MODES, FineTuneSettings
from resnet_desktop.core.work import Work, drive

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Largest layer3 cache (bytes, float16) last-stage mode will hold in memory.
STAGE_CACHE_LIMIT = 3 * 1024**3

__all__ = [
    "MODES",
    "DatasetScan",
    "FineTuneResult",
    "FineTuneSettings",
    "TrainProgress",
    "ValPrediction",
    "fine_tune",
    "run_fine_tune",
    "scan_dataset",
]


def _cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("Fine-tuning was cancelled; nothing was saved.")


def _base_weights_name(loaded: LoadedModel) -> str | None:
    if loaded.custom_file is not None:
        return str(loaded.custom_file)
    return loaded.weights_name


def fine_tune(
    dataset: DatasetScan | str | Path,
    settings: FineTuneSettings | None = None,
    *,
    loaded: LoadedModel | None = None,
    cancel: threading.Event | None = None,
) -> Work[TrainProgress, FineTuneResult]:
    """Yield :class:`TrainProgress` events; return the :class:`FineTuneResult`.

    Raises DatasetError for unusable folders (before any heavy work), CancelledError when
    ``cancel`` is set. ``loaded`` (e.g. the model already open in the GUI) is used read-only.
    """
    settings = settings or FineTuneSettings()
    settings.check()
    scan = dataset if isinstance(dataset, DatasetScan) else scan_dataset(dataset)
    scan.validate()
    samples = scan.samples()
    labels = [label for _, label in samples]
    split = stratified_split(labels, settings.val_split, settings.seed)
    started = time.perf_counter()
    if loaded is None:
        from resnet_desktop.core.models.ref import load

        yield TrainProgress("load", f"Loading {settings.describe_base()}")
        loaded = load(settings.base(), cancel=cancel)
    settings.arch = loaded.arch  # a weights file's own architecture, for the report and the saved file
    _cancelled(cancel)
    run = _Run(scan, samples, split.train, split.val, settings, loaded, cancel, started)
    return (yield from run.go())


class _Run:
    """One fine-tuning run's state; split into steps so each stays short."""

    def __init__(
        self,
        scan: DatasetScan,
        samples: list[tuple[Path, int]],
        train_idx: list[int],
        val_idx: list[int],
        settings: FineTuneSettings,
        loaded: LoadedModel,
        cancel: threading.Event | None,
        started: float,
    ) -> None:
        self.scan = scan
        self.settings = settings
        self.loaded = loaded
        self.cancel = cancel
        self.started = started
        self.train_paths = [samples[i][0] for i in train_idx]
        self.train_labels = torch.tensor([samples[i][1] for i in train_idx])
        self.val_paths = [samples[i][0] for i in val_idx]
        self.val_labels = torch.tensor([samples[i][1] for i in val_idx])
        self.num_classes = len(scan.classes)
        self.history: list[TrainProgress] = []
        self.skipped: list[tuple[Path, str]] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    # -- features ------------------------------------------------------------------------------

    def _extract(
        self, backbone: nn.Module, dtype: torch.dtype
    ) -> Iterator[TrainProgress | tuple[FeatureSet, FeatureSet]]:
        engine = feature_engine(self.loaded, backbone, self.settings.device, self.settings.workers)
        total = len(self.train_paths) + len(self.val_paths)
        yield TrainProgress(
            "features", f"Computing features on {engine.device_name}", 0, total, elapsed_s=self.elapsed()
        )
        sets: list[FeatureSet] = []
        feature_started = time.perf_counter()
        done = 0
        for paths, views in ((self.train_paths, self.settings.augment), (self.val_paths, 0)):
            for item in extract(
                engine,
                paths,
                views=views,
                seed=self.settings.seed,
                cancel=self.cancel,
                dtype=dtype,
                progress_done=done,
                progress_total=total,
            ):
                if isinstance(item, ExtractProgress):
                    spent = time.perf_counter() - feature_started
                    eta = spent / item.done * (item.total - item.done) if item.done else None
                    yield TrainProgress(
                        "features",
                        f"Computing features ({item.done}/{item.total} images)",
                        item.done,
                        item.total,
                        eta_s=eta,
                        elapsed_s=self.elapsed(),
                    )
                else:
                    sets.append(item)
            done += len(paths)
        yield sets[0], sets[1]

    def _usable(
        self, features: FeatureSet, labels: torch.Tensor, which: str
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[Path]]:
        """Drop files that failed to decode; returns features, labels per row, group per row, paths."""
        for index, reason in sorted(features.errors.items()):
            self.skipped.append((features.paths[index], reason))
        rows_labels = labels[features.owner] if features.owner.numel() else torch.empty(0, dtype=torch.long)
        present = (
            torch.bincount(rows_labels, minlength=self.num_classes)
            if rows_labels.numel()
            else torch.zeros(self.num_classes)
        )
        missing = [self.scan.classes[i] for i in range(self.num_classes) if present[i] == 0]
        if which == "training" and missing:
            raise DatasetError(
                f"After skipping unreadable files, no training images are left for class(es) "
                f"{', '.join(repr(m) for m in missing)}; add readable images to those folders."
            )
        if not rows_labels.numel():
            raise DatasetError("After skipping unreadable files, no validation images are left; add readable images.")
        if missing:  # validation metrics for those classes will show support 0
            logger.warning("no readable validation images for %s", ", ".join(missing))
        return features.features, rows_labels, features.owner, features.paths

    # -- the run ---------------------------------------------------------------------------------

    def go(self) -> Work[TrainProgress, FineTuneResult]:
        stage = self.settings.mode == "last-stage"
        if stage:
            self._check_stage_memory()
        backbone = layer3_backbone(self.loaded.model) if stage else pooled_backbone(self.loaded.model)
        dtype = torch.float16 if stage else torch.float32
        sets: tuple[FeatureSet, FeatureSet] | None = None
        for item in self._extract(backbone, dtype):
            if isinstance(item, TrainProgress):
                yield self._record(item)
            else:
                sets = item
        assert sets is not None
        train_x, train_y, train_groups, _ = self._usable(sets[0], self.train_labels, "training")
        val_x, val_y, val_owner, val_paths = self._usable(sets[1], self.val_labels, "validation")
        val_image_paths = [val_paths[int(i)] for i in val_owner]
        if stage:
            from resnet_desktop.core.finetune.stage import pool_maps

            train_maps, val_maps = train_x, val_x
            train_x = pool_maps(self.loaded.model, train_maps)
            val_x = pool_maps(self.loaded.model, val_maps)
        head: Head | None = None
        yield self._record(
            TrainProgress(
                "select" if self.settings.optimizer == "lbfgs" else "train",
                "Training the new head",
                elapsed_s=self.elapsed(),
            )
        )
        for step in train_head(
            train_x, train_y, train_groups, val_x, val_y, self.num_classes, self._head_config(), self.cancel
        ):
            if isinstance(step, EpochStats):
                yield self._record(self._epoch_event("train", step))
            elif isinstance(step, SelectStep):
                yield self._select_event(step)
            else:
                head = step
        assert head is not None
        _cancelled(self.cancel)
        layer4 = None
        fc = head.linear
        if stage:
            from resnet_desktop.core.finetune.head import Standardizer
            from resnet_desktop.core.finetune.stage import train_last_stage

            for stage_step in train_last_stage(
                self.loaded.model,
                fc,
                Standardizer(train_x),
                train_maps,
                train_y,
                val_maps,
                val_y,
                self.settings,
                self.num_classes,
                self.cancel,
            ):
                if isinstance(stage_step, EpochStats):
                    yield self._record(self._epoch_event("finetune", stage_step))
                else:
                    layer4, fc, val_logits = stage_step
        else:
            with torch.no_grad():
                val_logits = fc(val_x)
        _cancelled(self.cancel)
        model = self._assemble(fc, layer4)
        predictions, metrics = compute_metrics(val_logits, val_y, val_image_paths, self.scan.classes)
        metrics.update(
            train_images=len(self.train_paths),
            val_images=len(self.val_paths),
            skipped=len(self.skipped),
            weight_decay=head.weight_decay,
            best_epoch=head.best_epoch,
            elapsed_s=round(self.elapsed(), 2),
        )
        return FineTuneResult(
            model=model,
            arch=self.loaded.arch,
            class_names=list(self.scan.classes),
            preprocessing=self.loaded.preprocessing,
            base_weights=_base_weights_name(self.loaded),
            settings=self.settings,
            metrics=metrics,
            predictions=predictions,
            history=self.history,
            skipped=self.skipped,
        )

    def _record(self, event: TrainProgress) -> TrainProgress:
        if event.epoch:
            self.history.append(event)
        return event

    def _head_config(self) -> HeadConfig:
        s = self.settings
        return HeadConfig(
            optimizer=s.optimizer,
            epochs=s.epochs,
            learning_rate=s.learning_rate,
            batch_size=s.batch_size,
            weight_decay=s.weight_decay,
            patience=s.patience,
            balance=s.balance,
            seed=s.seed,
            threads=s.head_threads,
        )

    def _select_event(self, step: SelectStep) -> TrainProgress:
        per_fit = step.elapsed_s / step.done
        return TrainProgress(
            "select",
            f"Choosing the regularisation strength (cross-validation: fit {step.done} of {step.total})",
            eta_s=per_fit * (step.total - step.done),
            elapsed_s=self.elapsed(),
            step=step.done,
            steps=step.total,
        )

    def _epoch_event(self, phase: str, stats: EpochStats) -> TrainProgress:
        per_epoch = stats.elapsed_s / stats.epoch
        return TrainProgress(
            phase,
            f"Epoch {stats.epoch}/{stats.epochs}",
            len(self.train_paths) + len(self.val_paths),
            len(self.train_paths) + len(self.val_paths),
            stats.epoch,
            stats.epochs,
            stats.train_loss,
            stats.val_loss,
            stats.train_acc,
            stats.val_acc,
            eta_s=per_epoch * (stats.epochs - stats.epoch),
            elapsed_s=self.elapsed(),
        )

    def _check_stage_memory(self) -> None:
        model = self.loaded.model
        channels = int(model.get_parameter("layer4.0.conv1.weight").shape[1])
        side = -(-self.loaded.preprocessing.crop_size // 16)
        rows = len(self.train_paths) * (1 + self.settings.augment) + len(self.val_paths)
        needed = rows * channels * side * side * 2
        if needed > STAGE_CACHE_LIMIT:
            raise DatasetError(
                f"Last-stage training would cache {needed / 1024**3:.1f} GiB of layer3 features for "
                f"{rows} images/views (limit {STAGE_CACHE_LIMIT / 1024**3:.0f} GiB); "
                "use head-only mode or fewer augmentations."
            )

    def _assemble(self, fc: nn.Linear, layer4: nn.Module | None) -> nn.Module:
        """A fresh torchvision ResNet: the base backbone, the new layer4 if trained, the new fc."""
        from resnet_desktop.core.models.zoo import build_model

        model = build_model(self.loaded.arch, self.num_classes)
        state = {k: v for k, v in self.loaded.model.state_dict().items() if not k.startswith("fc.")}
        if layer4 is not None:
            state.update({f"layer4.{k}": v for k, v in layer4.state_dict().items()})
        state.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
        state = {k: (v.float() if v.is_floating_point() else v).detach().cpu().contiguous() for k, v in state.items()}
        model.load_state_dict(state)
        return model.eval()


def run_fine_tune(
    dataset: DatasetScan | str | Path,
    settings: FineTuneSettings | None = None,
    *,
    loaded: LoadedModel | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
) -> FineTuneResult:
    """Drive :func:`fine_tune` to the end, passing each event to ``progress``."""
    return drive(fine_tune(dataset, settings, loaded=loaded, cancel=cancel), progress)
