"""What the teach room asks of the core: one typed interface, called on the room's one worker thread.

The core's teach front door (``core.teach.api``, issue 23) opens a store and a library index that
belong to the thread that opened them (sqlite3's rule), and keeps a session whose caches make a
refit cost a second. ``TeachBackend`` is that front door seen from the room: every method is a use
case of issue 23, named as there; long ones are ``core.work`` generators. The room never calls it
on the GUI thread (``TeachController`` does, on its worker).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.teach.records import (
    ClassInfo,
    EmbedCounts,
    FitReport,
    HeadReady,
    LabelChange,
    LabelSetInfo,
    ReviewItem,
    Scores,
    VersionComparison,
    VersionInfo,
)


class TeachBackend(Protocol):
    """The teach use cases for one process (the store and the index opened on first use)."""

    # -- label sets and classes (store writes: one short transaction each) ------------------------

    def list_sets(self) -> list[LabelSetInfo]: ...

    def set_info(self, set_name: str) -> LabelSetInfo: ...

    def create_set(
        self, name: str, classes: Sequence[str], *, base: ModelRef | None, scope: Sequence[Path]
    ) -> LabelSetInfo: ...

    def add_class(self, set_name: str, name: str, colour: str | None = None) -> ClassInfo: ...

    def rename_class(self, set_name: str, name: str, new_name: str) -> None: ...

    def recolour_class(self, set_name: str, name: str, colour: str | None) -> None: ...

    def delete_class(self, set_name: str, name: str) -> int:
        """Delete a class with its labels; how many labels went."""
        ...

    # -- labels ----------------------------------------------------------------------------------

    def label_photos(self, set_name: str, paths: Sequence[Path], class_name: str | None) -> LabelChange:
        """Label ``paths`` as ``class_name`` (None clears their labels)."""
        ...

    def labels(self, set_name: str) -> dict[str, str]:
        """The person's labels: path -> class (for badges before anything is learned)."""
        ...

    def photos(self, set_name: str) -> list[str]:
        """The photos of the set's scope (folders, or the whole library), in the grid's order."""
        ...

    # -- learning --------------------------------------------------------------------------------

    def prepare(self, set_name: str, cancel: threading.Event) -> Work[Step, EmbedCounts]:
        """Bind the set to its base model and embed the scope's photos that have no embedding yet."""
        ...

    def refit(self, set_name: str, cancel: threading.Event) -> Work[HeadReady | Step, FitReport]:
        """Refit after a label change: ``HeadReady`` first (score now), then the out-of-fold figures."""
        ...

    def scores(self, set_name: str) -> Scores: ...

    def review_queue(self, set_name: str, n: int) -> list[ReviewItem]: ...

    def grad_cam(self, set_name: str, path: Path, class_name: str, cancel: threading.Event) -> np.ndarray:
        """Grad-CAM of ``class_name`` under the current head, over the photo: (H, W, 3) uint8."""
        ...

    # -- versions --------------------------------------------------------------------------------

    def save_version(self, set_name: str) -> VersionInfo: ...

    def list_versions(self, set_name: str) -> list[VersionInfo]: ...

    def activate_version(self, set_name: str, number: int) -> VersionInfo: ...

    def compare_versions(self, set_name: str, first: int, second: int) -> VersionComparison: ...

    def active_model(self, set_name: str) -> ModelRef:
        """The active version as a model reference (what "Organize by these classes" runs)."""
        ...

    def close(self) -> None:
        """Close the store and the index (on the worker thread, before it ends)."""
        ...
