"""Training a linear head on cached, standardised backbone features.

The head *is* multinomial logistic regression (cross-entropy + L2 on standardised features). With
the default ``lbfgs`` optimiser the L2 strength is chosen as ``sklearn``'s ``LogisticRegressionCV``
does (stratified k-fold cross-validation over the same C grid, warm-started along the path, folds
grouped by source image so augmented views never leak), averaged over 3 fold assignments because
one split of a few hundred images picks C almost at random. The head is then refitted on all
training features with full-batch L-BFGS (one "epoch" is a few iterations), stopping once the
validation loss stops improving; it keeps its last iterate, the cross-validated L2 being its
regulariser (rolling back to an earlier iterate under-fits; figures in docs/PERFORMANCE.md).
``adamw`` is plain mini-batch training with the person's learning rate and batch size; it rolls
back to the lowest-validation-loss epoch.

The teach room uses the same objective and optimiser (``fit_lbfgs``, ``choose_c``): a refit after
each label change starts from the previous head (a warm start: the objective is convex, so only the
time changes) with the regularisation fixed, and re-chooses it now and then on a subsample.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from resnet_desktop.core.errors import CancelledError, SettingsError

logger = logging.getLogger(__name__)

#: The inverse-regularisation grid searched by cross-validation (sklearn's C, logspace(-4, 2, 7)).
C_GRID = tuple(10.0**e for e in range(-4, 3))
#: L-BFGS iterations per grid point; warm starts along the path make a few dozen enough.
CV_ITERATIONS = 40
CV_FOLDS = 5
#: Independent fold assignments averaged; one 5-fold split of a few hundred images is noisy.
CV_REPEATS = 3
LBFGS_ITERS_PER_EPOCH = 10
STD_FLOOR = 1e-6


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run on ``count`` intra-op threads and restore the count after (None: leave it alone).

    A head on cached features is a few hundred small matmuls, where thread hand-offs dominate on a
    busy machine. The setting is process-wide, so only callers that run nothing else in parallel
    ask for it (see ``FineTuneSettings.head_threads``).
    """
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class HeadConfig:
    """How to train the head. ``weight_decay=None`` lets cross-validation choose (lbfgs)."""

    optimizer: str = "lbfgs"
    epochs: int = 30
    learning_rate: float = 1e-3
    batch_size: int = 64
    weight_decay: float | None = None
    patience: int = 5
    balance: bool = False
    seed: int = 0
    threads: int | None = None  # see torch_threads()
    #: Return the lowest-validation-loss epoch (True) or the last one (False). None: True for
    #: adamw; False for lbfgs, whose regularisation is the cross-validated L2 (see module doc).
    restore_best: bool | None = None


@dataclass(frozen=True)
class EpochStats:
    """One epoch's numbers, for curves and the epoch table."""

    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    elapsed_s: float


@dataclass(frozen=True)
class SelectStep:
    """Cross-validating the L2 strength (lbfgs): ``done`` of ``total`` fits, reported as they finish so a
    progress bar can move during what is most of a small run's time."""

    done: int
    total: int
    elapsed_s: float


@dataclass
class Head:
    """The trained head on *raw* features (standardisation folded in) and how it was chosen."""

    linear: nn.Linear
    weight_decay: float
    stopped_epoch: int
    best_epoch: int


class Standardizer:
    """Per-feature mean/std from the training features; folded into the Linear at the end."""

    def __init__(self, features: torch.Tensor) -> None:
        self.mean = features.mean(dim=0)
        self.std = features.std(dim=0, unbiased=False).clamp_min(STD_FLOOR)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def fold(self, linear: nn.Linear) -> nn.Linear:
        """``W (x - m) / s + b`` == ``(W / s) x + (b - (W / s) m)``: a plain Linear on raw features."""
        weight = linear.weight.detach() / self.std
        bias = linear.bias.detach() - weight @ self.mean
        folded = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            folded.weight.copy_(weight)
            folded.bias.copy_(bias)
        return folded


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``n / (classes * n_c)``: each class contributes equally to the loss."""
    counts = torch.bincount(labels, minlength=num_classes).float().clamp_min(1)
    return counts.sum() / (num_classes * counts)


def _loss(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return F.cross_entropy(linear(x), y, weight=weight)


def _evaluate(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> tuple[float, float]:
    with torch.no_grad():
        logits = linear(x)
        loss = F.cross_entropy(logits, y, weight=weight).item()
        acc = (logits.argmax(1) == y).float().mean().item()
    return loss, acc


def _zero_linear(in_features: int, num_classes: int) -> nn.Linear:
    """Zero init: the objective is convex, so this start is as good as any and is deterministic."""
    linear = nn.Linear(in_features, num_classes)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


def warm_up() -> None:
    """Build the trainer's optimizer once, untrained. torch's optimizers import ``torch._dynamo`` when
    the first one is built (~1 s, 147 MB); call this where that second goes unnoticed (a teach room
    opening) rather than in the person's first Learn."""
    _lbfgs(nn.Linear(1, 1), 1)


def _lbfgs(linear: nn.Linear, iterations: int) -> torch.optim.LBFGS:
    return torch.optim.LBFGS(
        linear.parameters(),
        lr=1.0,
        max_iter=iterations,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
    )


def _lbfgs_run(
    optimizer: torch.optim.LBFGS,
    linear: nn.Linear,
    x: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor | None,
    lam: float,
) -> float:
    """Minimise mean cross-entropy + lam/2 ||W||^2 (bias unpenalised, as in sklearn)."""

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = _loss(linear, x, y, weight) + 0.5 * lam * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    return float(optimizer.step(closure).detach())


def _folds(labels: torch.Tensor, groups: torch.Tensor, k: int, seed: int) -> list[torch.Tensor]:
    """Stratified, group-aware fold ids: every view of one image lands in the same fold."""
    generator = torch.Generator().manual_seed(seed)
    group_ids = torch.unique(groups)
    group_label = {int(g): int(labels[groups == g][0]) for g in group_ids}
    fold_of_group: dict[int, int] = {}
    for label in sorted(set(group_label.values())):
        members = [g for g, lab in group_label.items() if lab == label]
        order = torch.randperm(len(members), generator=generator).tolist()
        for rank, position in enumerate(order):
            fold_of_group[members[position]] = rank % k
    fold = torch.tensor([fold_of_group[int(g)] for g in groups])
    return [fold == i for i in range(k)]


def choose_weight_decay(
    x: torch.Tensor,
    y: torch.Tensor,
    groups: torch.Tensor,
    num_classes: int,
    config: HeadConfig,
    cancel: threading.Event | None = None,
    *,
    repeats: int = CV_REPEATS,
) -> float:
    """The L2 strength with the best cross-validated accuracy (log-loss breaks ties)."""
    steps = weight_decay_steps(x, y, groups, num_classes, config, cancel, repeats=repeats)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return float(stop.value)


def weight_decay_steps(
    x: torch.Tensor,
    y: torch.Tensor,
    groups: torch.Tensor,
    num_classes: int,
    config: HeadConfig,
    cancel: threading.Event | None = None,
    *,
    repeats: int = CV_REPEATS,
) -> Generator[SelectStep, None, float]:
    """``choose_weight_decay`` as a generator: a ``SelectStep`` after each fit, the strength as its value."""
    per_class = torch.bincount(y[_first_of_group(groups)], minlength=num_classes)
    k = min(CV_FOLDS, int(per_class.min()))
    if k < 2:
        return 1.0 / x.shape[0]  # sklearn's default C=1
    folds = [fold for repeat in range(repeats) for fold in _folds(y, groups, k, config.seed + repeat)]
    # Standardised once on all training features, as StandardScaler + LogisticRegressionCV does
    # (re-standardising per fold is no better).
    x = Standardizer(x)(x)
    scores: dict[float, list[tuple[float, float]]] = {c: [] for c in C_GRID}
    total, done, started = len(folds) * len(C_GRID), 0, time.perf_counter()
    for held_out in folds:
        train_mask = ~held_out
        xt, yt, xv, yv = x[train_mask], y[train_mask], x[held_out], y[held_out]
        weight = class_weights(yt, num_classes) if config.balance else None
        n_fold = int(train_mask.sum())
        linear = _zero_linear(x.shape[1], num_classes)
        for c in sorted(C_GRID):  # strong -> weak regularisation, warm-started
            if cancel is not None and cancel.is_set():
                raise CancelledError("Fine-tuning was cancelled; nothing was saved.")
            _lbfgs_run(_lbfgs(linear, CV_ITERATIONS), linear, xt, yt, weight, 1.0 / (c * n_fold))
            loss, acc = _evaluate(linear, xv, yv, weight)
            scores[c].append((acc, loss))
            done += 1
            yield SelectStep(done, total, time.perf_counter() - started)
    best = max(C_GRID, key=lambda c: (sum(a for a, _ in scores[c]), -sum(loss for _, loss in scores[c])))
    logger.info("cross-validation chose C=%g over %d folds", best, k)
    return 1.0 / (best * x.shape[0])


def choose_c(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    *,
    seed: int = 0,
    repeats: int = CV_REPEATS,
    cancel: threading.Event | None = None,
) -> float:
    """sklearn's C (inverse L2 strength, independent of the row count) by the same cross-validation
    as :func:`choose_weight_decay`; one row per image (no augmented views)."""
    groups = torch.arange(x.shape[0])
    lam = choose_weight_decay(x, y, groups, num_classes, HeadConfig(seed=seed), cancel, repeats=repeats)
    return 1.0 / (lam * x.shape[0])


def fit_lbfgs(linear: nn.Linear, x: torch.Tensor, y: torch.Tensor, lam: float, iterations: int) -> float:
    """Up to ``iterations`` L-BFGS steps on the head's objective from ``linear``'s current weights
    (``x`` standardised); the final loss. A warm start converges in a fraction of the steps."""
    return _lbfgs_run(_lbfgs(linear, iterations), linear, x, y, None, lam)


def _first_of_group(groups: torch.Tensor) -> torch.Tensor:
    first = torch.ones_like(groups, dtype=torch.bool)
    first[1:] = groups[1:] != groups[:-1]
    return first


def _train_head(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    train_groups: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    num_classes: int,
    config: HeadConfig,
    cancel: threading.Event | None = None,
) -> Iterator[EpochStats | SelectStep | Head]:
    scale = Standardizer(train_x)
    xt, xv = scale(train_x), scale(val_x)
    weight = class_weights(train_y, num_classes) if config.balance else None
    if config.optimizer == "lbfgs":
        lam = config.weight_decay
        if lam is None:
            lam = yield from weight_decay_steps(train_x, train_y, train_groups, num_classes, config, cancel)
    elif config.optimizer == "adamw":
        lam = 1e-4 if config.weight_decay is None else config.weight_decay
    else:
        raise SettingsError(f"unknown optimizer {config.optimizer!r}; use lbfgs or adamw")
    linear = _zero_linear(train_x.shape[1], num_classes)
    step = _epoch_fn(linear, xt, train_y, weight, lam, config)
    best_loss, best_state, best_epoch, bad = math.inf, None, 0, 0
    started = time.perf_counter()
    epoch = 0
    previous = math.inf
    for epoch in range(1, config.epochs + 1):
        if cancel is not None and cancel.is_set():
            raise CancelledError("Fine-tuning was cancelled; nothing was saved.")
        step()
        train_loss, train_acc = _evaluate(linear, xt, train_y, weight)
        val_loss, val_acc = _evaluate(linear, xv, val_y, weight)
        yield EpochStats(epoch, config.epochs, train_loss, train_acc, val_loss, val_acc, time.perf_counter() - started)
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, bad = val_loss, epoch, 0
            best_state = {k: v.clone() for k, v in linear.state_dict().items()}
        else:
            bad += 1
            if bad >= config.patience:
                logger.info("early stop at epoch %d (best %d)", epoch, best_epoch)
                break
        if config.optimizer == "lbfgs" and abs(previous - train_loss) <= 1e-7 * max(1.0, abs(train_loss)):
            logger.info("L-BFGS converged at epoch %d", epoch)
            break
        previous = train_loss
    restore = config.restore_best if config.restore_best is not None else config.optimizer != "lbfgs"
    if restore and best_state is not None:
        linear.load_state_dict(best_state)
    yield Head(linear=scale.fold(linear), weight_decay=lam, stopped_epoch=epoch, best_epoch=best_epoch)


def _epoch_fn(
    linear: nn.Linear, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None, lam: float, config: HeadConfig
) -> Callable[[], object]:
    """One epoch of the chosen optimiser, as a closure over its state."""
    if config.optimizer == "lbfgs":
        lbfgs = _lbfgs(linear, LBFGS_ITERS_PER_EPOCH)
        return lambda: _lbfgs_run(lbfgs, linear, x, y, weight, lam)
    optimizer = torch.optim.AdamW(linear.parameters(), lr=config.learning_rate, weight_decay=lam)
    generator = torch.Generator().manual_seed(config.seed)

    def epoch() -> None:
        order = torch.randperm(x.shape[0], generator=generator)
        for start in range(0, x.shape[0], config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            _loss(linear, x[batch], y[batch], weight).backward()
            optimizer.step()

    return epoch


def train_head(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    train_groups: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    num_classes: int,
    config: HeadConfig,
    cancel: threading.Event | None = None,
) -> Iterator[EpochStats | SelectStep | Head]:
    """Yield :class:`SelectStep` per cross-validation fit (lbfgs choosing its L2 strength),
    :class:`EpochStats` per epoch, then the :class:`Head`. Raises CancelledError.

    With ``config.threads`` set, runs on that many threads between events (see
    :func:`torch_threads`); the count is restored while the caller handles each event.
    """
    steps = _train_head(train_x, train_y, train_groups, val_x, val_y, num_classes, config, cancel)
    while True:
        with torch_threads(config.threads):
            item = next(steps, None)
        if item is None:
            return
        yield item
