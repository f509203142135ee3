"""The review queue as the person works through it: which photo is current, how many are left, and
the held-out accuracy after each refit while reviewing (the figure that should climb)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from resnet_desktop.core.teach.api import ReviewItem


class ReviewQueue:
    """``items`` from the core (least sure first, then possible mistakes); ``done`` as they are answered."""

    def __init__(self) -> None:
        self.items: list[ReviewItem] = []
        self.done: set[Path] = set()
        self.accuracy: list[float] = []

    def load(self, items: Sequence[ReviewItem], *, keep_current: bool = False) -> None:
        """A fresh queue (after a refit): photos answered in this session stay answered; with
        ``keep_current`` the photo on screen stays first (it never changes under the person's eyes)."""
        current = self.current if keep_current else None
        fresh = [item for item in items if item.path not in self.done]
        if current is not None:
            fresh = [current, *(item for item in fresh if item.path != current.path)]
        self.items = fresh

    @property
    def current(self) -> ReviewItem | None:
        return self.items[0] if self.items else None

    @property
    def left(self) -> int:
        return len(self.items)

    def answered(self, path: Path) -> None:
        """The person labeled ``path``: the next one comes up."""
        self.done.add(path)
        self.items = [item for item in self.items if item.path != path]

    def measured(self, accuracy: float | None) -> None:
        if accuracy is not None and (not self.accuracy or self.accuracy[-1] != accuracy):
            self.accuracy.append(accuracy)

    def paths(self) -> list[str]:
        return [str(item.path) for item in self.items]
