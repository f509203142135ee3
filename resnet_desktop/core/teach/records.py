"""What the teach room hands to its front ends: plain, typed, immutable records.

Scores for a whole library are arrays (``Scores``), not one object per photo: re-scoring 100,000
photos after each label must not build 100,000 Python objects.
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
    #: Folders the set scores and reviews; empty: the whole library.
    scope: tuple[Path, ...]
    taught: bool
    active_version: int | None
    versions: int

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


@dataclass(frozen=True)
class Label:
    """A labeled photo: by content (``sha256``), with where it was when labeled as the fallback."""

    path: Path
    class_name: str
    sha256: str
    source: str


@dataclass(frozen=True)
class PhotoKey:
    """How a label finds its photo: the content hash, and path + inode for when an edit changes it."""

    sha256: str
    path: str
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True)
class LabelChange:
    """What one labeling action did (``skipped``: photos that could not be read, with the reason)."""

    labeled: int = 0
    cleared: int = 0
    unchanged: int = 0
    skipped: tuple[tuple[Path, str], ...] = ()


@dataclass(frozen=True)
class ImportReport:
    set_name: str
    classes: tuple[str, ...]
    added: int
    changed: int
    unchanged: int
    skipped: tuple[tuple[Path, str], ...]
    seconds: float


@dataclass(frozen=True)
class ClassFigures:
    """Held-out figures of one class, and the confidence below which its predictions are "uncertain"."""

    name: str
    labeled: int
    held_out: int
    precision: float | None
    recall: float | None
    threshold: float


@dataclass(frozen=True)
class FitReport:
    """One refit: the classes it knows, how it was trained and how good it is on held-out labels."""

    classes: tuple[str, ...]
    trained_on: int
    held_out: int
    held_out_accuracy: float | None
    per_class: tuple[ClassFigures, ...]
    regularisation: float
    #: Labeled photos whose out-of-fold prediction is another class (possible mistakes).
    disagreements: int
    #: Labels whose photo has no embedding (not embedded yet, or not found: an unmounted drive).
    without_embedding: int
    seconds: float


@dataclass(frozen=True)
class HeadReady:
    """A refit's first event: the head is trained and can score (out-of-fold figures follow)."""

    classes: tuple[str, ...]
    trained_on: int
    seconds: float


@dataclass(frozen=True)
class Scored:
    """One photo's answer: the predicted class, its confidence, and whether it is below the class's
    threshold (``uncertain``); ``label`` is the person's own, when the photo has one."""

    path: Path
    predicted: str
    confidence: float
    margin: float
    uncertain: bool
    label: str | None


@dataclass(frozen=True)
class Scores:
    """The set's scope scored by its current head: ``predicted[i]`` indexes ``classes`` for ``paths[i]``."""

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
        """Photos predicted per class (uncertain ones included)."""
        found = np.bincount(self.predicted, minlength=len(self.classes)) if len(self) else np.zeros(len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, found, strict=True)}

    def row(self, i: int) -> Scored:
        label = int(self.labeled[i])
        return Scored(
            path=Path(self.paths[i]),
            predicted=self.classes[int(self.predicted[i])],
            confidence=float(self.confidence[i]),
            margin=float(self.margin[i]),
            uncertain=bool(self.uncertain[i]),
            label=self.classes[label] if label >= 0 else None,
        )

    def of(self, path: str | Path) -> Scored | None:
        """The answer for one photo of the scope (None: not in the scope, or no embedding yet)."""
        if not self._rows and len(self):
            self._rows.update((p, i) for i, p in enumerate(self.paths))
        i = self._rows.get(str(path))
        return self.row(i) if i is not None else None


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
    """Two versions on the same held-out labels (the set's current ones)."""

    first: int
    second: int
    held_out: int
    first_accuracy: float | None
    second_accuracy: float | None
    #: Held-out photos the two versions predict differently.
    differ: int


@dataclass(frozen=True)
class EmbedCounts:
    """Photos the teach run needed: embedded now, or their stored embedding reused."""

    computed: int
    reused: int
    failed: tuple[tuple[Path, str], ...] = ()
    #: What a person should know (the index could not store the embeddings...).
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeachReport:
    set_name: str
    fit: FitReport
    embeddings: EmbedCounts
    scored: dict[str, int]
    version: VersionInfo | None
    output: Path | None
    seconds: float
