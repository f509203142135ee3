"""What each photo's badge says: the person's label, else the prediction with its confidence.

``BadgeBook`` joins three things that change at different times: the person's labels (at once, on
the keypress), the latest scores (after each refit) and the class colours. It hands the grid one
function ``badge(row)`` that reads numpy arrays, so 100,000 photos are re-badged by swapping it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from resnet_desktop.core.teach.api import ClassInfo, Scores
from resnet_desktop.gui.common.grid import Badge

#: Tableau 10: distinct to most eyes, readable with black or white text (a class without a colour of
#: its own gets the one of its position).
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def class_colour(info: ClassInfo) -> str:
    return info.colour or PALETTE[info.position % len(PALETTE)]


def label_text(class_name: str) -> str:
    return f"✓ {class_name}"


def prediction_text(class_name: str, confidence: float, uncertain: bool) -> str:
    return f"{class_name}{'?' if uncertain else ''} {confidence:.0%}"


class BadgeBook:
    """The badges of the grid's photos (``paths``, in grid order)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self._colours: dict[str, str] = {}
        self._labels: dict[int, str] = {}  # grid row -> the person's class
        self._labeled = np.zeros(len(self.paths), dtype=bool)  # the same, as a mask
        self._scores: Scores | None = None
        self._score_row = np.full(len(self.paths), -1, dtype=np.int64)  # grid row -> scores row
        self._row_of = {p: i for i, p in enumerate(self.paths)}

    # -- inputs ----------------------------------------------------------------------------------

    def set_classes(self, classes: Sequence[ClassInfo]) -> None:
        self._colours = {c.name: class_colour(c) for c in classes}

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Every label of the set (path -> class), replacing what was known."""
        self._labels = {row: labels[p] for p, row in self._row_of.items() if p in labels}
        self._labeled[:] = False
        self._labeled[list(self._labels)] = True

    def label(self, paths: Sequence[str], class_name: str | None) -> None:
        """The person just labeled (or cleared) ``paths``: shown before any refit."""
        for path in paths:
            row = self._row_of.get(path)
            if row is None:
                continue
            if class_name is None:
                self._labels.pop(row, None)
            else:
                self._labels[row] = class_name
            self._labeled[row] = class_name is not None

    def set_scores(self, scores: Scores | None) -> None:
        self._scores = scores
        self._score_row = np.full(len(self.paths), -1, dtype=np.int64)
        if scores is not None:
            for i, path in enumerate(scores.paths):
                row = self._row_of.get(path)
                if row is not None:
                    self._score_row[row] = i

    # -- outputs ---------------------------------------------------------------------------------

    def label_of(self, row: int) -> str | None:
        return self._labels.get(row)

    def row_of(self, path: str) -> int | None:
        return self._row_of.get(path)

    def prediction(self, row: int) -> tuple[str, float, bool] | None:
        """(class, confidence, uncertain) for a grid row, None before scores or without an embedding."""
        scores = self._scores
        i = int(self._score_row[row]) if scores is not None else -1
        if scores is None or i < 0:
            return None
        return scores.classes[int(scores.predicted[i])], float(scores.confidence[i]), bool(scores.uncertain[i])

    def colour(self, class_name: str) -> str:
        return self._colours.get(class_name, "#888888")

    def badge(self, row: int) -> Badge | None:
        mine = self._labels.get(row)
        if mine is not None:
            return Badge(label_text(mine), self.colour(mine), mine=True, tip=f"Labeled {mine} by you")
        found = self.prediction(row)
        if found is None:
            return None
        name, confidence, uncertain = found
        tip = f"Predicted {name} ({confidence:.0%})"
        if uncertain:
            tip += ": uncertain, below this class's threshold"
        return Badge(prediction_text(name, confidence, uncertain), self.colour(name), tip=tip)

    def predicted_counts(self) -> dict[str, int]:
        """Unlabeled photos predicted per class (the class list's "predicted" figure)."""
        scores = self._scores
        if scores is None or not len(scores):
            return {}
        rows = self._score_row[(self._score_row >= 0) & ~self._labeled]
        found = np.bincount(scores.predicted[rows], minlength=len(scores.classes))
        return {name: int(n) for name, n in zip(scores.classes, found, strict=True)}
