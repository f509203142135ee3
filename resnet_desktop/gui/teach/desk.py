"""What the teach room's worker thread holds: the person's store, the library index, one teach session
per label set, and the model a Grad-CAM is drawn with.

The core's store, index and sessions belong to the thread that opened them (sqlite3's rule), so the
room opens them on its one long-lived worker (``TeachController``), on first use, and every teach use
case is a call of ``core.teach.api`` (the CLI's front door) with them. Nothing here decides anything
about learning: it only keeps the objects the core's calls need between two of them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.api import LibraryIndex
from resnet_desktop.core.teach import api

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import LoadedModel


class TeachDesk:
    """The store and the index (opened on first use), sessions by set name, the Grad-CAM model."""

    def __init__(self) -> None:
        self._store: api.UserStore | None = None
        self._index: LibraryIndex | None = None
        self._sessions: dict[str, api.TeachSession] = {}
        self._cam: tuple[Path, LoadedModel] | None = None

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

    def grad_cam(self, set_name: str, path: Path, class_name: str, cancel: threading.Event) -> tuple[int, np.ndarray]:
        """Grad-CAM of ``class_name`` over ``path`` by the set's active version: (version, (H, W, 3) uint8).

        A refit is not a model file (only saved versions are), so the picture comes from the active
        version; none saved yet is refused with what to do."""
        from resnet_desktop.core.explain import api as explain
        from resnet_desktop.core.models.ref import load

        info = api.set_info(self.store, set_name)
        if info.active_version is None:
            raise TeachError("Grad-CAM needs a saved version: Save Version (Ctrl+S), then it shows here")
        file = api.active_model(self.store, set_name).file
        assert file is not None  # a version is always a file
        if self._cam is None or self._cam[0] != file:
            self._cam = None
            self._cam = (file, load(api.active_model(self.store, set_name), cancel=cancel))
        loaded = self._cam[1]
        if class_name not in loaded.categories:
            raise TeachError(f"Version {info.active_version} does not know the class {class_name!r}; save a version")
        explanation = explain.explain_photo(loaded, path, target=class_name, device="cpu", cancel=cancel)
        picture = explain.render(explanation, loaded.preprocessing, crop_only=True, max_side=448)
        return info.active_version, np.asarray(picture.convert("RGB"))

    def close(self) -> None:
        """Close the index and the store (on the worker thread, before it ends)."""
        self._sessions.clear()
        self._cam = None
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._store is not None:
            self._store.close()
            self._store = None
