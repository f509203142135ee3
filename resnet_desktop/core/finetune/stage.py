"""Last-stage mode: layer4 + the head trained end to end on cached layer3 feature maps.

layer1-3 stay frozen, so their outputs are computed once (float16 cache) and each epoch only
runs layer4. layer4's BatchNorm layers stay in eval mode (running statistics frozen, affine
parameters trained): small fine-tuning batches give noisy batch statistics. The backbone gets a
lower learning rate than the head (``backbone_lr_factor``). The base model is never modified:
layer4 is copied.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from resnet_desktop.core.devices import resolve_device
from resnet_desktop.core.errors import CancelledError
from resnet_desktop.core.finetune.head import EpochStats, Standardizer, class_weights

if TYPE_CHECKING:
    from resnet_desktop.core.finetune.settings import FineTuneSettings

POOL_CHUNK = 64
STAGE_LR_FACTOR = 0.1


def pool_maps(model: nn.Module, maps: torch.Tensor) -> torch.Tensor:
    """Frozen layer4 + avgpool over cached layer3 maps: the pooled features the head starts from."""
    layer4 = model.get_submodule("layer4").eval()
    avgpool = model.get_submodule("avgpool")
    chunks = []
    with torch.inference_mode():
        for start in range(0, maps.shape[0], POOL_CHUNK):
            x = maps[start : start + POOL_CHUNK].float()
            chunks.append(torch.flatten(avgpool(layer4(x)), 1))
    return torch.cat(chunks) if chunks else torch.empty((0, 0))


class _Scaled(nn.Module):
    """The head on standardised features while training (sensible learning rates whatever the
    backbone's feature scale); folded back into one Linear at the end."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, folded: nn.Linear, scale: Standardizer) -> None:
        super().__init__()
        self.register_buffer("mean", scale.mean.clone())
        self.register_buffer("std", scale.std.clone())
        self.linear = nn.Linear(folded.in_features, folded.out_features)
        with torch.no_grad():
            self.linear.weight.copy_(folded.weight * scale.std)
            self.linear.bias.copy_(folded.bias + folded.weight @ scale.mean)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x - self.mean) / self.std)

    def folded(self) -> nn.Linear:
        scale = Standardizer.__new__(Standardizer)
        scale.mean, scale.std = self.mean.cpu(), self.std.cpu()
        return scale.fold(self.linear.cpu())


def _forward(layer4: nn.Module, fc: nn.Module, maps: torch.Tensor) -> torch.Tensor:
    logits: torch.Tensor = fc(torch.flatten(F.adaptive_avg_pool2d(layer4(maps), 1), 1))
    return logits


def _evaluate(
    layer4: nn.Module,
    fc: nn.Module,
    maps: torch.Tensor,
    labels: torch.Tensor,
    device: torch.device,
    weight: torch.Tensor | None,
) -> tuple[float, float, torch.Tensor]:
    with torch.no_grad():
        logits = torch.cat(
            [
                _forward(layer4, fc, maps[s : s + POOL_CHUNK].to(device).float()).cpu()
                for s in range(0, maps.shape[0], POOL_CHUNK)
            ]
        )
    loss = F.cross_entropy(logits, labels, weight=weight).item()
    acc = (logits.argmax(1) == labels).float().mean().item()
    return loss, acc, logits


def train_last_stage(
    base: nn.Module,
    head: nn.Linear,
    scale: Standardizer,
    train_maps: torch.Tensor,
    train_y: torch.Tensor,
    val_maps: torch.Tensor,
    val_y: torch.Tensor,
    settings: FineTuneSettings,
    num_classes: int,
    cancel: threading.Event | None = None,
) -> Iterator[EpochStats | tuple[nn.Module, nn.Linear, torch.Tensor]]:
    """Yield EpochStats per epoch, then ``(layer4, fc, val_logits)`` of the best epoch (CPU)."""
    device = resolve_device(settings.device)
    layer4 = copy.deepcopy(base.get_submodule("layer4")).float().to(device).eval()
    fc = _Scaled(head, scale).to(device)
    for p in [*layer4.parameters(), *fc.parameters()]:
        p.requires_grad_(True)
    # The head arrives converged (head-only training ran first, as in fastai's fine_tune), so the
    # end-to-end phase nudges rather than retrains: a tenth of the head learning rate.
    head_lr = settings.learning_rate * STAGE_LR_FACTOR
    decay = 1e-4 if settings.weight_decay is None else settings.weight_decay
    optimizer = torch.optim.AdamW(
        [
            {"params": layer4.parameters(), "lr": head_lr * settings.backbone_lr_factor},
            {"params": fc.parameters(), "lr": head_lr},
        ],
        weight_decay=decay,
    )
    weight = class_weights(train_y, num_classes) if settings.balance else None
    weight_dev = weight.to(device) if weight is not None else None
    generator = torch.Generator().manual_seed(settings.seed)
    best_loss, _, best_logits = _evaluate(layer4, fc, val_maps, val_y, device, weight)
    best = (copy.deepcopy(layer4).cpu(), copy.deepcopy(fc).cpu())
    bad = 0
    started = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(train_maps.shape[0], generator=generator)
        total_loss = total_right = 0.0
        for start in range(0, len(order), settings.batch_size):
            if cancel is not None and cancel.is_set():
                raise CancelledError("Fine-tuning was cancelled; nothing was saved.")
            batch = order[start : start + settings.batch_size]
            x = train_maps[batch].to(device).float()
            y = train_y[batch].to(device)
            optimizer.zero_grad()
            logits = _forward(layer4, fc, x)
            loss = F.cross_entropy(logits, y, weight=weight_dev)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            total_right += (logits.argmax(1) == y).sum().item()
        val_loss, val_acc, val_logits = _evaluate(layer4, fc, val_maps, val_y, device, weight)
        n = max(1, len(order))
        yield EpochStats(
            epoch, settings.epochs, total_loss / n, total_right / n, val_loss, val_acc, time.perf_counter() - started
        )
        if val_loss < best_loss - 1e-6 or math.isinf(best_loss):
            best_loss, best_logits, bad = val_loss, val_logits, 0
            best = (copy.deepcopy(layer4).cpu(), copy.deepcopy(fc).cpu())
        else:
            bad += 1
            if bad >= settings.patience:
                break
    layer4_best, fc_best = best
    yield layer4_best.eval(), fc_best.folded(), best_logits
