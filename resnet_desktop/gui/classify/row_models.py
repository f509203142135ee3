"""Which model made each row of the table, and whether the table mixes label sets.

A row's model is known by name (``ModelInfo.source``, a cluster run's ``model_id``, the index's
description). Two models share a label set when their class lists are the same (resnet18 and
resnet50 on ImageNet do; a fine-tuned "patterns" model does not): Organize builds one folder per
label and Export writes the labels as they are, so rows from two label sets must not be mixed
without the person knowing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from resnet_desktop.core.inference.records import Prediction


@dataclass(frozen=True)
class RowModel:
    """The model behind a row: ``name`` as the Model column shows it, ``label_set`` a digest of its classes
    (``"?" + name`` when the classes are not known: only rows of the same name then share it)."""

    name: str
    label_set: str

    @classmethod
    def of(cls, name: str, categories: Sequence[str]) -> RowModel:
        return cls(name, label_digest(categories))

    @classmethod
    def unknown(cls, name: str) -> RowModel:
        return cls(name, "?" + name)


def label_digest(categories: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(categories).encode()).hexdigest()[:16]


def consistent(rows: Iterable[Prediction], categories: Sequence[str]) -> bool:
    """Whether every (index, label) of ``rows`` is what ``categories`` says: then the rows can be taken to
    come from that label set (a results file names its model, not its classes)."""
    count = len(categories)
    seen = False
    for row in rows:
        for score in row.scores:
            if not 0 <= score.index < count or categories[score.index] != score.label:
                return False
            seen = True
    return seen


def summary(counts: Counter[RowModel]) -> str:
    """``resnet18 (3 rows), patterns (5 rows)``: biggest first."""
    return ", ".join(f"{m.name} ({n} row{'s' if n != 1 else ''})" for m, n in counts.most_common())


def label_sets(models: Iterable[RowModel]) -> set[str]:
    return {m.label_set for m in models}
