"""Learning a label set's head from stored embeddings: the fine-tuning head trainer (standardised
multinomial logistic regression, L-BFGS; ``finetune.head``), warm-started from the previous head
with the regularisation fixed, then out-of-fold heads for "possible mistakes" and for each class's
confidence threshold.

Heads are kept in raw feature space (standardisation folded in), so a warm start carries over
whatever the standardiser of the next fit is, and scoring is one matrix product in numpy (torch is
imported by the fits only: scoring, and the app's teach room until it learns, need none).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from resnet_desktop.core.work import check_cancel

#: L-BFGS steps per fit at most; a warm start after one more label needs a few.
ITERATIONS = 100
#: Torch threads for a fit: a head is many small products, where thread hand-offs cost more than
#: they give on a shared machine (``finetune.head.torch_threads``; the GUI thread is idle meanwhile).
THREADS = 1
#: C (sklearn's inverse regularisation) until the first search has run: sklearn's default.
DEFAULT_C = 1.0
#: Rows the regularisation search runs on (its cost grows with them; C barely moves beyond).
SEARCH_ROWS = 2_000
#: Fold assignments the search averages: the fine-tuning trainer's 3 (one split of a few hundred
#: labels picks C almost at random), so teach and finetune choose alike on the same photos.
SEARCH_REPEATS = 3
#: The precision a class's threshold aims at on out-of-fold predictions.
TARGET_PRECISION = 0.95
#: Out-of-fold predictions of a class needed before its threshold is trusted; below, ``DEFAULT_THRESHOLD``.
MIN_THRESHOLD_SUPPORT = 5
DEFAULT_THRESHOLD = 0.5
#: Rows converted from float16 at a time: a few MB, so the float32 copy stays in the cache.
_CHUNK = 2048


@dataclass(frozen=True)
class Head:
    """A linear head on raw embeddings: ``logits = x @ weight.T + bias`` over ``classes``."""

    classes: tuple[str, ...]
    weight: np.ndarray
    bias: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        """float32 logits of float16 or float32 rows, converted a chunk at a time (bounded memory),
        on one BLAS thread (``THREADS``: a thin product, where hand-offs cost more than they give)."""
        out = np.empty((x.shape[0], len(self.classes)), np.float32)
        buffer = np.empty((min(_CHUNK, x.shape[0]), x.shape[1]), np.float32)
        weight = np.ascontiguousarray(self.weight.T, dtype=np.float32)
        with _blas_threads(THREADS):
            for start in range(0, x.shape[0], _CHUNK):
                rows = min(_CHUNK, x.shape[0] - start)
                np.copyto(buffer[:rows], x[start : start + rows])
                np.matmul(buffer[:rows], weight, out=out[start : start + rows])
        out += self.bias
        return out

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    c: float,
    warm: Head | None = None,
    *,
    iterations: int = ITERATIONS,
) -> Head:
    """The head over the classes present in ``y`` (indexes into ``classes``), from ``warm`` when given."""
    import torch
    from torch import nn

    from resnet_desktop.core.finetune.head import Standardizer, fit_lbfgs, torch_threads

    present = np.unique(y)
    names = tuple(classes[i] for i in present)
    remap = np.full(len(classes), -1, np.int64)
    remap[present] = np.arange(len(present))
    features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    scaler = Standardizer(features)
    linear = nn.Linear(features.shape[1], len(names))
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
        if warm is not None and warm.weight.shape[1] == features.shape[1]:
            for row, name in enumerate(names):
                if name in warm.classes:
                    w = torch.from_numpy(warm.weight[warm.classes.index(name)])
                    # raw (W, b) -> standardised: W s, b + W m
                    linear.weight[row] = w * scaler.std
                    linear.bias[row] = float(warm.bias[warm.classes.index(name)]) + float(w @ scaler.mean)
    lam = 1.0 / (c * features.shape[0])
    targets = torch.from_numpy(remap[y])
    with torch_threads(THREADS):
        fit_lbfgs(linear, scaler(features), targets, lam, iterations)
    folded = scaler.fold(linear)
    return Head(names, folded.weight.detach().numpy().copy(), folded.bias.detach().numpy().copy())


def choose_regularisation(
    x: np.ndarray, y: np.ndarray, order: np.ndarray, *, cancel: threading.Event | None = None
) -> float:
    """C by the trainer's cross-validation on at most ``SEARCH_ROWS`` rows (taken in ``order``, per class)."""
    import torch

    from resnet_desktop.core.finetune.head import choose_c, torch_threads

    rows = _subsample(y, order, SEARCH_ROWS)
    present, targets = np.unique(y[rows], return_inverse=True)
    features = torch.from_numpy(np.ascontiguousarray(x[rows], dtype=np.float32))
    check_cancel(cancel)
    with torch_threads(THREADS):
        targets_t = torch.from_numpy(targets.astype(np.int64))
        return choose_c(features, targets_t, len(present), repeats=SEARCH_REPEATS, cancel=cancel)


def _blas_threads(threads: int) -> contextlib.AbstractContextManager[object]:
    """At most ``threads`` BLAS threads inside; without threadpoolctl (a bare benchmark machine), as is."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(threads, user_api="blas")


def _subsample(y: np.ndarray, order: np.ndarray, limit: int) -> np.ndarray:
    if len(y) <= limit:
        return np.arange(len(y))
    kept: list[np.ndarray] = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        share = max(5, round(limit * len(members) / len(y)))
        kept.append(members[np.argsort(order[members], kind="stable")][:share])
    return np.sort(np.concatenate(kept))


def thresholds(classes: Sequence[str], predicted: np.ndarray, confidence: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per class, the lowest confidence at which its out-of-fold predictions are at least
    ``TARGET_PRECISION`` right (1.0 when they never are: every such prediction is "uncertain")."""
    out = np.full(len(classes), DEFAULT_THRESHOLD, np.float32)
    for k in range(len(classes)):
        mine = predicted == k
        if int(mine.sum()) < MIN_THRESHOLD_SUPPORT:
            continue
        order = np.argsort(-confidence[mine], kind="stable")
        right = (truth[mine] == k)[order]
        precision = np.cumsum(right) / np.arange(1, len(right) + 1)
        good = np.flatnonzero(precision >= TARGET_PRECISION)
        out[k] = float(confidence[mine][order][good[-1]]) if len(good) else 1.0
    return out
