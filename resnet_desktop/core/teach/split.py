"""Which labels train, which are held out, which are out of fold: all decided by content hash, so the
split never changes when labels are added (a held-out label stays held out: honest accuracy), and
which labels train when there are more than ``MAX_TRAINING`` (memory stays bounded at 100k labels).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Folds for out-of-fold predictions; fold 0 is the held-out split (~20% of each class).
FOLDS = 5
HELD_OUT_FOLD = 0
#: A class holds labels out only when at least this many of its labels still train.
MIN_TRAINING_PER_CLASS = 2
#: Labels used at most (training + held out): beyond it each class keeps its share, chosen by hash.
MAX_LABELS = 20_000
#: A class keeps at least this many labels when the cap applies (small classes are never dropped).
MIN_KEPT_PER_CLASS = 100


def fold_of(sha256: str) -> int:
    """A label's fold: digits 8-16 of its content hash (uniform, and independent of ``rank_of``)."""
    return int(sha256[8:16], 16) % FOLDS


def rank_of(sha256: str) -> int:
    """A label's place in the order the cap keeps labels in."""
    return int(sha256[:8], 16)


@dataclass(frozen=True)
class Split:
    """Rows of the labels used (``rows`` index the caller's list): their fold and whether held out."""

    rows: np.ndarray
    folds: np.ndarray
    held_out: np.ndarray


def cap(shas: Sequence[str], classes: Sequence[str], limit: int = MAX_LABELS) -> np.ndarray:
    """The rows kept under ``limit``: each class its share (at least ``MIN_KEPT_PER_CLASS``), lowest hash rank first."""
    if len(shas) <= limit:
        return np.arange(len(shas))
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(classes):
        by_class[name].append(i)
    kept: list[int] = []
    for members in by_class.values():
        share = max(MIN_KEPT_PER_CLASS, round(limit * len(members) / len(shas)))
        kept.extend(sorted(members, key=lambda i: rank_of(shas[i]))[:share])
    return np.array(sorted(kept), dtype=np.int64)


def split(shas: Sequence[str], classes: Sequence[str], limit: int = MAX_LABELS) -> Split:
    """Capped rows, their folds, and the held-out ones: fold 0 of each class that keeps at least
    ``MIN_TRAINING_PER_CLASS`` labels in training (a class of 3 labels trains on all of them)."""
    rows = cap(shas, classes, limit)
    folds = np.array([fold_of(shas[i]) for i in rows], dtype=np.int64)
    names = [classes[i] for i in rows]
    training: dict[str, int] = defaultdict(int)
    for name, fold in zip(names, folds.tolist(), strict=True):
        training[name] += fold != HELD_OUT_FOLD
    held = np.array(
        [
            fold == HELD_OUT_FOLD and training[name] >= MIN_TRAINING_PER_CLASS
            for name, fold in zip(names, folds, strict=True)
        ],
        dtype=bool,
    )
    return Split(rows=rows, folds=folds, held_out=held)
