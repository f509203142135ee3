"""Opening the library index for a use case: the one place that says what happens when it is off.

Two needs, one rule each: a job that cannot work without the index (similar photos, near-duplicates,
the index dialog, reopening a session) gets a ``LibraryIndexError`` that says how to switch it on;
a job that only goes faster with it (classify) goes on without it and says why in a notice.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.library import sessions
from resnet_desktop.core.library.index import (
    FP32,
    INDEX_ENV,
    IndexInfo,
    LibraryIndex,
    LibraryIndexError,
    ModelIdentity,
    default_index_path,
    open_index,
)
from resnet_desktop.core.library.sessions import Reopened

if TYPE_CHECKING:
    from resnet_desktop.core.library.identity import DescribedModel


def index_switched_off_message() -> str:
    return f"The library index is switched off ({INDEX_ENV}=off); unset {INDEX_ENV} to use it."


def require_index(path: Path | None = None) -> LibraryIndex:
    """The library index, open on this thread (a connection belongs to the thread that opened it)."""
    index = open_index(path)
    if index is None:
        raise LibraryIndexError(index_switched_off_message())
    return index


def optional_index(path: Path | None = None) -> tuple[LibraryIndex | None, list[str]]:
    """The library index when it can be used, else None; the notices say why not (or what happened to it)."""
    try:
        index = open_index(path)
    except LibraryIndexError as exc:
        return None, [str(exc)]
    if index is None:
        return None, []
    return index, list(index.notices)


def index_location() -> Path | None:
    """Where the index file lives (None when it is switched off)."""
    return default_index_path()


#: The last model's identity: a model file is hashed once per model, not once per job.
_last_identity: list[tuple[weakref.ref[DescribedModel], ModelIdentity]] = []


def identity_of(loaded: DescribedModel, precision: str) -> ModelIdentity:
    """What makes results of ``loaded`` (a torch model or the graph cache's description of one) run at
    ``precision`` reusable in the index (cached for the model last asked about: a model file is hashed
    once)."""
    if _last_identity and _last_identity[0][0]() is loaded:
        return _last_identity[0][1].at(precision)
    identity = ModelIdentity.of(loaded, precision)
    _last_identity[:] = [(weakref.ref(loaded), identity)]
    return identity


def your_photos(limit: int = 1000) -> list[Path]:
    """The person's own photos the index knows (classified most recently first, still on disk): what
    the app's Fast Mode calibrates and verifies on. Empty when the index is off or cannot be read."""
    index, _notices = optional_index()
    if index is None:
        return []
    with index:
        return [path for path in index.recent_files(limit) if path.is_file()]


# -- the index's own use cases (Help > Library Index…, File > Reopen…) --------------------------


def index_info() -> IndexInfo:
    """Where the index is, its size and what it holds."""
    with require_index() as index:
        return index.info()


def forget_folder(folder: Path) -> IndexInfo:
    """Forget what the index holds about the photos at or below ``folder`` (the photos are not touched)."""
    with require_index() as index:
        index.forget(folder.absolute())
        return index.info()


def clear_index() -> IndexInfo:
    """Forget every stored result and embedding (the photos are not touched)."""
    with require_index() as index:
        index.clear()
        return index.info()


def reopen_last_session() -> Reopened | None:
    """The last session's results, from the index (None: nothing was classified yet)."""
    with require_index() as index:
        return sessions.reopen_last(index)


def reopen_folder(folder: Path, loaded: DescribedModel | None = None, topk: int = 5) -> Reopened:
    """What the index holds at or below ``folder``: with ``loaded``'s results, else the model with most there."""
    with require_index() as index:
        model_id = int(index.stored_model_id(identity_of(loaded, FP32))) if loaded is not None else None
        return sessions.reopen_folder(index, folder, model_id, topk)
