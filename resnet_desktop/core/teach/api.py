"""The teach room's front door: the use cases the CLI (``labels``, ``teach``, ``review``) and the app
call, and the records they get back. Front ends import this module, ``core.errors``,
``core.models.ref`` and ``core.work`` only.

Stores: ``open_store()`` (the person's labels, sets and versions; never cleared with the index) and
``open_library()`` (the library index, which holds the embeddings). Both belong to the thread that
opened them. Long work (``import_labels``, ``teach``, ``review``, ``refit``, ``choose_regularisation``)
is a generator of events returning its result (``core.work``): the CLI drives it with ``drive()``, the
app with its task runner, cancelling through a ``threading.Event``.

A person labeling in the app: ``label_photos`` (one short write) -> ``refit(session)`` in the
background (its first event, ``HeadReady``, means the head can score) -> ``scores(session)`` for the
badges -> ``review_queue(session)`` for what to look at next -> ``save_version`` when they say so.
A new set in the app: ``create_set`` -> ``prepare(session)`` (embeds its scope) -> ``scope_photos``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.index import LibraryIndex, LibraryIndexError, open_index
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import embedding, importing, versions
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.photos import photo_keys
from resnet_desktop.core.teach.records import (
    NONE_CLASS,
    ClassFigures,
    ClassInfo,
    EmbedCounts,
    FitReport,
    HeadReady,
    ImportReport,
    Label,
    LabelChange,
    LabelSetInfo,
    ReviewItem,
    Scored,
    Scores,
    TeachReport,
    VersionComparison,
    VersionInfo,
)
from resnet_desktop.core.teach.review import review_queue as _review_queue
from resnet_desktop.core.teach.session import TeachSession
from resnet_desktop.core.teach.store import UserStore, default_store_path
from resnet_desktop.core.work import Step, Work, check_cancel

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import LoadedModel

__all__ = [
    "NONE_CLASS",
    "ClassFigures",
    "ClassInfo",
    "EmbedCounts",
    "FitReport",
    "HeadReady",
    "ImportReport",
    "Label",
    "LabelChange",
    "LabelSetInfo",
    "ReviewItem",
    "Scored",
    "Scores",
    "TeachReport",
    "TeachSession",
    "UserStore",
    "VersionComparison",
    "VersionInfo",
    "activate_version",
    "active_model",
    "add_class",
    "choose_regularisation",
    "compare_versions",
    "create_set",
    "current_model",
    "current_model_file",
    "default_store_path",
    "delete_class",
    "delete_set",
    "export_labels",
    "import_labels",
    "label_photos",
    "labels_of",
    "library_if_available",
    "list_sets",
    "list_versions",
    "open_library",
    "open_session",
    "open_store",
    "prepare",
    "publish_version",
    "recolour_class",
    "refit",
    "warm_up_learning",
    "rename_class",
    "rename_set",
    "review",
    "review_queue",
    "save_version",
    "scope_photos",
    "scores",
    "set_info",
    "set_retention",
    "set_scope",
    "teach",
]

# -- stores ------------------------------------------------------------------------------------


def open_store(path: Path | None = None) -> UserStore:
    """The person's store (``RESNET_DESKTOP_USER_STORE``, else beside the library index)."""
    return UserStore(path)


def open_library(path: Path | None = None) -> LibraryIndex:
    """The library index, which teaching needs (it holds the embeddings); refused when switched off."""
    try:
        index = open_index(path)
    except LibraryIndexError as exc:
        raise TeachError(f"Teaching needs the library index: {exc}") from exc
    if index is None:
        raise TeachError(
            "Teaching needs the library index (it holds the photos' embeddings), which is switched off "
            "(RESNET_DESKTOP_INDEX=off)"
        )
    return index


def library_if_available() -> LibraryIndex | None:
    """The library index when it can be used (labeling is faster with it: known photos need no hashing)."""
    try:
        return open_index()
    except LibraryIndexError:
        return None


# -- label sets and classes --------------------------------------------------------------------


def list_sets(store: UserStore) -> list[LabelSetInfo]:
    return [labels_mod.set_info(store, labels_mod.find_set(store, name)) for name in labels_mod.set_names(store)]


def set_info(store: UserStore, name: str | None = None) -> LabelSetInfo:
    return labels_mod.set_info(store, labels_mod.find_set(store, name))


def create_set(
    store: UserStore,
    name: str,
    *,
    classes: Sequence[str] = (),
    base: ModelRef | None = None,
    scope: Sequence[Path] = (),
) -> LabelSetInfo:
    """A new label set (refused when the name is taken), with its first classes."""
    name = labels_mod.check_name(name, "label set")
    if name in labels_mod.set_names(store):
        raise TeachError(f"There is already a label set called {name!r}")
    row = labels_mod.find_set(store, name, create=True)
    labels_mod.ensure_classes(store, row.id, list(classes))
    changes: dict[str, object] = {}
    if base is not None:
        changes["base_model"] = base.text()
    if scope:
        changes["scope"] = _scope_json(scope)
    if changes:
        labels_mod.update_set(store, row.id, **changes)
    return set_info(store, name)


def _scope_json(folders: Sequence[Path]) -> str:
    import json

    return json.dumps(list(dict.fromkeys(str(Path(f).expanduser().absolute()) for f in folders)))


def set_scope(store: UserStore, name: str | None, folders: Sequence[Path]) -> LabelSetInfo:
    """The folders the set scores and reviews (none: the whole library)."""
    row = labels_mod.find_set(store, name)
    labels_mod.update_set(store, row.id, scope=_scope_json(folders))
    return set_info(store, row.name)


def rename_set(store: UserStore, name: str, new_name: str) -> None:
    labels_mod.rename_set(store, name, new_name)


def delete_set(store: UserStore, name: str) -> None:
    labels_mod.delete_set(store, name)


def add_class(store: UserStore, set_name: str | None, name: str, colour: str | None = None) -> ClassInfo:
    return labels_mod.add_class(store, labels_mod.find_set(store, set_name).id, name, colour)


def rename_class(store: UserStore, set_name: str | None, name: str, new_name: str) -> None:
    labels_mod.rename_class(store, labels_mod.find_set(store, set_name).id, name, new_name)


def recolour_class(store: UserStore, set_name: str | None, name: str, colour: str | None) -> None:
    labels_mod.recolour_class(store, labels_mod.find_set(store, set_name).id, name, colour)


def delete_class(store: UserStore, set_name: str | None, name: str) -> int:
    """Delete a class with its labels; how many labels went."""
    return labels_mod.delete_class(store, labels_mod.find_set(store, set_name).id, name)


# -- labels ------------------------------------------------------------------------------------


def label_photos(
    store: UserStore,
    set_name: str | None,
    paths: Sequence[Path],
    class_name: str | None,
    *,
    index: LibraryIndex | None = None,
    source: str = "person",
) -> LabelChange:
    """Label ``paths`` as ``class_name`` (None clears their labels); photos that cannot be read are
    listed in ``skipped``. ``index`` spares hashing photos it knows unchanged."""
    row = labels_mod.find_set(store, set_name)
    keys, skipped = photo_keys(paths, index)
    change = labels_mod.set_labels(store, row.id, keys, class_name, source=source)
    return LabelChange(change.labeled, change.cleared, change.unchanged, tuple(skipped))


def labels_of(store: UserStore, set_name: str | None = None) -> list[Label]:
    return labels_mod.labels(store, labels_mod.find_set(store, set_name).id)


def import_labels(
    store: UserStore,
    source: Path,
    set_name: str | None = None,
    *,
    index: LibraryIndex | None = None,
    cancel: threading.Event | None = None,
) -> Work[Step, ImportReport]:
    """A folder tree (subfolder = class) or a ``path,label`` CSV into the set (created if new)."""
    return importing.import_labels(store, source, set_name, index=index, cancel=cancel)


def export_labels(store: UserStore, target: Path, set_name: str | None = None, *, force: bool = False) -> int:
    return importing.export_labels(store, target, set_name, force=force)


# -- learning ----------------------------------------------------------------------------------


def open_session(store: UserStore, index: LibraryIndex, set_name: str | None = None) -> TeachSession:
    return TeachSession(store, index, set_name)


def warm_up_learning() -> None:
    """Pay the first fit's one-time import now (``finetune.head.warm_up``): call it on the worker when
    a set is shown, so the person's first label is learned as quickly as the later ones."""
    from resnet_desktop.core.finetune.head import warm_up

    warm_up()


def refit(session: TeachSession, cancel: threading.Event | None = None) -> Work[HeadReady | Step, FitReport]:
    """Refit after a label change: ``HeadReady`` first (score now), then the out-of-fold figures."""
    session.labels_changed()
    return session.refit(cancel)


def choose_regularisation(session: TeachSession, cancel: threading.Event | None = None) -> Work[Step, float]:
    """Re-choose the regularisation on a subsample (``session.regularisation_due()`` says when)."""
    return session.choose_regularisation(cancel)


def scores(session: TeachSession, inputs: Sequence[Path] | None = None) -> Scores:
    return session.scores(inputs)


def review_queue(session: TeachSession, n: int = 20, inputs: Sequence[Path] | None = None) -> list[ReviewItem]:
    return _review_queue(session, n, inputs)


def _prepare(
    session: TeachSession, base: ModelRef | None, inputs: Sequence[Path], device: str, cancel: threading.Event | None
) -> Work[Step, EmbedCounts]:
    """Load the base model, bind the set to its backbone, embed what the set needs."""
    from resnet_desktop.core.models.ref import load

    ref = base or (ModelRef.parse(session.row.base_model) if session.row.base_model else ModelRef())
    yield Step(f"Loading {ref.describe()}")
    loaded = load(ref, cancel=cancel)
    embedding.bind_base(session, loaded)
    check_cancel(cancel)
    return (yield from embedding.embed_missing(session, loaded, list(inputs), device=device, cancel=cancel))


def prepare(
    session: TeachSession,
    base: ModelRef | None = None,
    *,
    device: str = "auto",
    cancel: threading.Event | None = None,
) -> Work[Step, EmbedCounts]:
    """Make a set ready to learn without learning yet (the app, right after a new set): bind it to
    ``base`` (else its own base model) and embed the scope's photos that have no embedding."""
    return _prepare(session, base, session.row.scope, device, cancel)


def scope_photos(session: TeachSession) -> list[Path]:
    """The photos of the set's scope that have an embedding (what ``scores`` covers), by path."""
    return [Path(p) for p in session.scope_rows().paths]


def _learn(session: TeachSession, cancel: threading.Event | None) -> Work[Step | HeadReady, FitReport]:
    if session.regularisation_due():
        yield from session.choose_regularisation(cancel)
    return (yield from session.refit(cancel))


def teach(
    store: UserStore,
    index: LibraryIndex,
    set_name: str | None = None,
    *,
    base: ModelRef | None = None,
    inputs: Sequence[Path] = (),
    output: Path | None = None,
    force: bool = False,
    device: str = "auto",
    cancel: threading.Event | None = None,
) -> Work[Step | HeadReady, TeachReport]:
    """The whole run: base model -> embeddings (only the missing ones) -> regularisation (when due)
    -> head -> scores of the scope -> a saved version (also written to ``output``)."""
    started = time.perf_counter()
    session = TeachSession(store, index, set_name)
    if inputs:
        set_scope(store, session.row.name, [*session.row.scope, *inputs])
        session.reload()
    counts = yield from _prepare(session, base, session.row.scope, device, cancel)
    fit = yield from _learn(session, cancel)
    scored = session.scores().counts()
    version = versions.save_version(session, output=output, force=force) if output is not None else None
    return TeachReport(
        set_name=session.row.name,
        fit=fit,
        embeddings=counts,
        scored=scored,
        version=version,
        output=output,
        seconds=time.perf_counter() - started,
    )


def review(
    store: UserStore,
    index: LibraryIndex,
    set_name: str | None = None,
    *,
    n: int = 20,
    inputs: Sequence[Path] = (),
    device: str = "auto",
    cancel: threading.Event | None = None,
) -> Work[Step | HeadReady, list[ReviewItem]]:
    """The review queue of the set (or of ``inputs``): photos there without embeddings are embedded
    first (the model is loaded only then); the head is refitted on the current labels."""
    session = TeachSession(store, index, set_name)
    if session.row.backbone_key is None:
        raise TeachError(
            f"The label set {session.row.name!r} has not been taught yet: teach it first (that chooses its base model)"
        )
    folders = [Path(p).absolute() for p in inputs]
    if embedding.needed_photos(session, folders or list(session.row.scope))[0]:
        yield from _prepare(session, None, folders or session.row.scope, device, cancel)
    yield from _learn(session, cancel)
    return _review_queue(session, n, folders or None)


# -- versions ----------------------------------------------------------------------------------


def save_version(session: TeachSession, *, output: Path | None = None, force: bool = False) -> VersionInfo:
    """The current head as the set's next version (it becomes the active one)."""
    return versions.save_version(session, output=output, force=force)


def list_versions(store: UserStore, set_name: str | None = None) -> list[VersionInfo]:
    return versions.list_versions(store, labels_mod.find_set(store, set_name))


def activate_version(store: UserStore, set_name: str | None, number: int) -> VersionInfo:
    return versions.activate(store, labels_mod.find_set(store, set_name), number)


def compare_versions(session: TeachSession, first: int, second: int) -> VersionComparison:
    return versions.compare(session, first, second)


def set_retention(store: UserStore, set_name: str | None, keep: int) -> None:
    versions.set_retention(store, labels_mod.find_set(store, set_name), keep)


def active_model(store: UserStore, set_name: str | None = None) -> ModelRef:
    """The active version as a model reference (what "Organize by these classes" and "Write keywords" run)."""
    return ModelRef(file=versions.version_file(store, labels_mod.find_set(store, set_name)))


def current_model_file(session: TeachSession) -> ModelRef:
    """The session's current head (its last refit) as a head file in the store's folder of the set: a
    model reference every command loads, before any version is saved and between two."""
    return ModelRef(file=versions.current_head_file(session))


def current_model(session: TeachSession, cancel: threading.Event | None = None) -> LoadedModel:
    """The session's current head on its backbone, ready to run (the review's Grad-CAM of what the
    badges predict); loaded again only after the session has learned another head."""
    return versions.current_model(session, cancel)


def publish_version(session: TeachSession, number: int | None = None) -> int:
    """Store the version's (the active one's) answers for the scope in the library index, from the stored
    embeddings: the organize and XMP rooms then classify none of those photos again. How many."""
    from resnet_desktop.core.teach.publish import publish

    return publish(session, number)
