"""The similar-photos and near-duplicates use cases: index what is new, then ask the stored embeddings.

One job each, run the same way by ``resnet-desktop similar``/``duplicates`` and by the app's dialogs:
the inputs are brought into the library index first (only files it does not know are classified, with
the engine created only then), so a photo classified with another model, or a folder dropped for the
first time, is answered instead of refused. Both need the index; when it is off they say how to switch
it on before any work is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.library.classify_job import ClassifySummary, classify_photos
from resnet_desktop.core.library.index import FP32, LibraryIndex, LibraryIndexError
from resnet_desktop.core.library.queries import identity_of, require_index
from resnet_desktop.core.library.similar import DUPLICATE_THRESHOLD, Neighbour, duplicate_groups, normalize, similar
from resnet_desktop.core.work import Work

if TYPE_CHECKING:
    from resnet_desktop.core.inference.classifier import Classifier as Engine
    from resnet_desktop.core.library.identity import DescribedModel as LoadedModel


@dataclass
class Indexing:
    """How bringing the inputs into the index went."""

    summary: ClassifySummary
    #: Files that could not be read, with the reason (they have no embedding).
    errors: dict[Path, str] = field(default_factory=dict)

    @property
    def indexed(self) -> int:
        """Photos newly added to the index by this run (failures not counted)."""
        return max(0, self.summary.new - len(self.errors))


@dataclass
class SimilarPhotos:
    photo: Path
    neighbours: list[Neighbour]
    indexing: Indexing


@dataclass
class DuplicateGroup:
    """Photos whose embeddings are near each other; ``scores[i]`` is photo i's cosine to the first one."""

    paths: list[Path]
    scores: list[float]


@dataclass
class NearDuplicates:
    folders: list[Path]
    groups: list[DuplicateGroup]
    #: Photos of the folders with an embedding of this model.
    photos: int
    threshold: float
    indexing: Indexing


def _index_inputs(
    loaded: LoadedModel,
    engine: Engine | Callable[[], Engine],
    inputs: Sequence[Path],
    cancel: threading.Event | None,
) -> Work[Progress, Indexing]:
    work = classify_photos(loaded, engine, inputs, remember_session=False, cancel=cancel)
    errors: dict[Path, str] = {}
    try:
        while True:
            event = next(work)
            if isinstance(event, Progress):
                yield event
            elif event.prediction.error is not None:
                errors[Path(event.prediction.path).absolute()] = event.prediction.error
    except StopIteration as stop:
        summary: ClassifySummary = stop.value
    if not summary.index_used:
        raise LibraryIndexError("; ".join(summary.notices) or "The library index cannot be used.")
    return Indexing(summary, errors)


def _model_id(index: LibraryIndex, loaded: LoadedModel) -> int:
    """For reading the vectors: the model's rows at the precision the index holds most of."""
    return int(index.stored_model_id(identity_of(loaded, FP32)))


def find_similar(
    loaded: LoadedModel,
    engine: Engine | Callable[[], Engine],
    photo: Path,
    *,
    folders: Sequence[Path] = (),
    k: int = 10,
    cancel: threading.Event | None = None,
) -> Work[Progress, SimilarPhotos]:
    """The ``k`` stored photos most similar to ``photo`` (only among ``folders`` when given), best first.

    ``photo`` and ``folders`` are indexed first. ``ImageError`` when the photo cannot be read.
    """
    photo = photo.absolute()
    folders = [f.absolute() for f in folders]
    with require_index() as index:
        indexing = yield from _index_inputs(loaded, engine, [photo, *folders], cancel)
        if photo in indexing.errors:
            raise ImageError(photo, indexing.errors[photo])
        model_id = _model_id(index, loaded)
        vector = index.embedding_of(photo, model_id)
        if vector is None:
            raise ImageError(photo, "this model gives no embedding for it")
        neighbours = similar(index, model_id, vector, k=k, inputs=folders or None, exclude=photo)
    return SimilarPhotos(photo, neighbours, indexing)


def find_duplicates(
    loaded: LoadedModel,
    engine: Engine | Callable[[], Engine],
    folders: Sequence[Path],
    *,
    threshold: float = DUPLICATE_THRESHOLD,
    cancel: threading.Event | None = None,
) -> Work[Progress, NearDuplicates]:
    """Groups of near-duplicates among the photos of ``folders`` (indexed first), largest similarity first."""
    folders = [f.absolute() for f in folders]
    with require_index() as index:
        indexing = yield from _index_inputs(loaded, engine, folders, cancel)
        _ids, paths, matrix = index.embeddings(_model_id(index, loaded), folders)
    unit = normalize(matrix)
    groups = [
        DuplicateGroup([paths[i] for i in group], [float(unit[i] @ unit[group[0]]) for i in group])
        for group in duplicate_groups(unit, threshold)
    ]
    return NearDuplicates(folders, groups, len(paths), threshold, indexing)
