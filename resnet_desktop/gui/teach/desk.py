"""What the teach room's worker thread holds: the person's store, the library index, one teach session
per label set (each keeps the model of its current head, which draws the review's Grad-CAM).

The core's store, index and sessions belong to the thread that opened them (sqlite3's rule), so the
room opens them on its one long-lived worker (``TeachController``), on first use, and every teach use
case is a call of ``core.teach.api`` (the CLI's front door) with them. Nothing here decides anything
about learning: it only keeps the objects the core's calls need between two of them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.api import LibraryIndex
from resnet_desktop.core.teach import api


class TeachDesk:
    """The store and the index (opened on first use), sessions by set name."""

    def __init__(self) -> None:
        self._store: api.UserStore | None = None
        self._index: LibraryIndex | None = None
        self._sessions: dict[str, api.TeachSession] = {}

    @property
    def store(self) -> api.UserStore:
        if self._store is None:
            self._store = api.open_store()
        return self._store

    @property
    def index(self) -> LibraryIndex:
        if self._index is None:
            self._index = api.open_library()
        return self._index

    def session(self, set_name: str) -> api.TeachSession:
        """The set's session (its caches make a refit cost a second); read again after a class change."""
        found = self._sessions.get(set_name)
        if found is None:
            found = self._sessions[set_name] = api.open_session(self.store, self.index, set_name)
        return found

    def forget(self, set_name: str) -> None:
        """Drop a set's session (its classes changed: the next refit starts cold on the new classes)."""
        self._sessions.pop(set_name, None)

    def labels(self, set_name: str) -> dict[str, str]:
        """The person's labels as path -> class (the grid's filled badges)."""
        return {str(label.path): label.class_name for label in api.labels_of(self.store, set_name)}

    def grad_cam(self, set_name: str, path: Path, class_name: str, cancel: threading.Event) -> np.ndarray:
        """Grad-CAM of ``class_name`` over ``path`` by the set's current head (what the badges and the
        review queue predict, from the first refit on): an (H, W, 3) uint8 picture."""
        from resnet_desktop.core.explain import api as explain

        loaded = api.current_model(self.session(set_name), cancel)
        if class_name not in loaded.categories:
            raise TeachError(f"The model has not learned the class {class_name!r} yet; label a photo as {class_name}")
        explanation = explain.explain_photo(loaded, path, target=class_name, device="cpu", cancel=cancel)
        picture = explain.render(explanation, loaded.preprocessing, crop_only=True, max_side=448)
        return np.asarray(picture.convert("RGB"))

    def close(self) -> None:
        """Close the index and the store (on the worker thread, before it ends)."""
        self._sessions.clear()
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._store is not None:
            self._store.close()
            self._store = None
