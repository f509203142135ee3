"""The records the teach room gets from the core (issue 23), as the room reads them.

Until ``core/teach/api.py`` lands on main these mirror its records field for field (same names,
same meaning); then this module re-exports the core's own and nothing else changes in the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

#: The class a person uses for "none of these": a real class, trained like the others (open set).
NONE_CLASS = "none of these"

ReviewReason = Literal["uncertain", "disagrees"]


@dataclass(frozen=True)
class ClassInfo:
    """One class of a label set: its hotkey position (0 is key 1), colour and labeled photos."""

    name: str
    position: int
    colour: str | None
    labeled: int


@dataclass(frozen=True)
class LabelSetInfo:
    name: str
    classes: tuple[ClassInfo, ...]
    labels: int
    base_model: str | None
    scope: tuple[Path, ...]
    taught: bool
    active_version: int | None
    versions: int

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


@dataclass(frozen=True)
class LabelChange:
    """What one labeling action did (``skipped``: photos that could not be read, with the reason)."""

    labeled: int = 0
    cleared: int = 0
    unchanged: int = 0
    skipped: tuple[tuple[Path, str], ...] = ()


@dataclass(frozen=True)
class ClassFigures:
    name: str
    labeled: int
    held_out: int
    precision: float | None
    recall: float | None
    threshold: float


@dataclass(frozen=True)
class FitReport:
    classes: tuple[str, ...]
    trained_on: int
    held_out: int
    held_out_accuracy: float | None
    per_class: tuple[ClassFigures, ...]
    regularisation: float
    disagreements: int
    without_embedding: int
    seconds: float


@dataclass(frozen=True)
class HeadReady:
    """A refit's first event: the head is trained and can score (out-of-fold figures follow)."""

    classes: tuple[str, ...]
    trained_on: int
    seconds: float


@dataclass(frozen=True)
class Scores:
    """The set's scope scored by its head: ``predicted[i]`` indexes ``classes`` for ``paths[i]``."""

    classes: tuple[str, ...]
    paths: tuple[str, ...]
    predicted: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    uncertain: np.ndarray
    #: Index into ``classes`` of the person's label, -1 for unlabeled photos.
    labeled: np.ndarray
    _rows: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.predicted, minlength=len(self.classes)) if len(self) else np.zeros(len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, found, strict=True)}


@dataclass(frozen=True)
class ReviewItem:
    """One photo to look at: ``uncertain`` (unlabeled, least sure first) or ``disagrees`` (a labeled
    photo whose out-of-fold prediction is another class: a possible mistake)."""

    path: Path
    predicted: str
    confidence: float
    reason: ReviewReason
    margin: float
    label: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    number: int
    file: Path
    created: float
    classes: tuple[str, ...]
    labels: int
    held_out_accuracy: float | None
    active: bool


@dataclass(frozen=True)
class VersionComparison:
    first: int
    second: int
    held_out: int
    first_accuracy: float | None
    second_accuracy: float | None
    differ: int


@dataclass(frozen=True)
class EmbedCounts:
    computed: int
    reused: int
    failed: tuple[tuple[Path, str], ...] = ()
    notices: tuple[str, ...] = ()
