"""The library-folder use cases ``resnet-desktop library ...`` and the app's Library list both call:
add/remove/list folders, their status, one pass over them (``scan``), watching them, rules and their
undo, browsing what the index holds for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library import journal as journals
from resnet_desktop.core.library.folders import FolderStore, LibraryFolder, default_folders_path, normal_path
from resnet_desktop.core.library.index_folders import BrowseRow
from resnet_desktop.core.library.queries import require_index
from resnet_desktop.core.library.rule_settings import FolderRules
from resnet_desktop.core.library.scan import FolderStatus, survey
from resnet_desktop.core.library.sync import TOPK, FolderModels, SyncEvent, SyncResult, sync_folder
from resnet_desktop.core.work import Work, check_cancel

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import ModelRef


def model_text(ref: ModelRef) -> str:
    """How a folder stores its model: ``ModelRef.text()`` with a file's path made absolute (the
    watcher runs from anywhere)."""
    from resnet_desktop.core.models.ref import ModelRef

    if ref.file is not None:
        ref = ModelRef(arch=ref.arch, file=normal_path(ref.file))
    return ref.text()


def default_model() -> str:
    """The app's active model (it records it), else the default model."""
    with FolderStore() as store:
        chosen = store.default_model()
    if chosen:
        return chosen
    from resnet_desktop.core.models.ref import ModelRef

    return ModelRef().text()


def set_default_model(ref: ModelRef) -> None:
    """The app's active model: what ``library add`` without ``--model`` uses."""
    with FolderStore() as store:
        store.set_default_model(model_text(ref))


def add_folder(path: Path, ref: ModelRef | None = None) -> LibraryFolder:
    """Add ``path`` to the library, indexed with ``ref`` (default: the app's active model)."""
    text = model_text(ref) if ref is not None else default_model()
    with FolderStore() as store:
        return store.add(path, text)


def remove_folder(path: Path) -> LibraryFolder:
    """Take ``path`` out of the library (what the index holds of it stays until it is forgotten)."""
    with FolderStore() as store:
        return store.remove(path)


def get_folder(path: Path) -> LibraryFolder:
    """The library folder at ``path`` (``SettingsError`` when it is not one)."""
    with FolderStore() as store:
        return store.require(path)


def list_folders() -> list[LibraryFolder]:
    with FolderStore() as store:
        return store.folders()


def set_folder_model(path: Path, ref: ModelRef) -> LibraryFolder:
    with FolderStore() as store:
        return store.set_model(path, model_text(ref))


def set_folder_rules(path: Path, rules: FolderRules) -> LibraryFolder:
    with FolderStore() as store:
        return store.set_rules(path, rules)


def _chosen(store: FolderStore, paths: Sequence[Path] | None) -> list[LibraryFolder]:
    return [store.require(p) for p in paths] if paths else store.folders()


def folder_statuses(paths: Sequence[Path] | None = None, cancel: threading.Event | None = None) -> list[FolderStatus]:
    """Each folder's status now (a walk each; the model is not loaded: the index knows it by key)."""
    out: list[FolderStatus] = []
    if not paths and not default_folders_path().exists():
        return out  # no library yet: create neither the folder list nor the index
    with FolderStore() as store, require_index() as index:
        for folder in _chosen(store, paths):
            check_cancel(cancel)
            model_id = index.model_id_of_key(folder.model_key) if folder.model_key else None
            status = survey(index, folder.path, folder.model, model_id, device=folder.device, cancel=cancel).status
            status.rules = folder.rules.describe()
            out.append(status)
    return out


def scan_folders(
    models: FolderModels, paths: Sequence[Path] | None = None, *, cancel: threading.Event | None = None
) -> Work[SyncEvent, list[SyncResult]]:
    """One pass over each folder (all of them by default): ``resnet-desktop library scan``."""
    results: list[SyncResult] = []
    with FolderStore() as store, require_index() as index:
        for folder in _chosen(store, paths):
            check_cancel(cancel)
            results.append((yield from sync_folder(store, index, folder, models, cancel=cancel)))
    return results


def last_rule_journal(path: Path) -> Path:
    """The newest journal of what the folder's rules did that is not undone yet (to undo it)."""
    with FolderStore() as store:
        folder = store.require(path)
        for journal in store.rule_journals(folder):
            try:
                state = journals.read(journal)
            except Exception:  # noqa: BLE001 - a journal we cannot read is skipped; organize --undo says why
                continue
            if not any(e.get("type") == "undo" for e in state.events):
                return journal
    raise SettingsError(f"the rules of {folder.path} have done nothing that is not undone yet")


@dataclass(frozen=True)
class LibraryView:
    """What the index holds for library folders, each with its own model: for the table."""

    folders: list[Path]
    rows: list[Prediction]
    #: path -> EXIF date taken (ISO text, "" unknown)
    taken: dict[str, str]
    #: folder -> its model's description
    models: dict[str, str]
    #: path -> keywords of its XMP sidecar (what the rules, digiKam or Lightroom tagged it with)
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: What is shown, for a person: a folder's name, or "the whole library".
    title: str = "the whole library"

    @property
    def all_tags(self) -> list[str]:
        return sorted({tag for tags in self.tags.values() for tag in tags}, key=str.casefold)


def browse_library(
    paths: Sequence[Path] | None = None, *, taken_from: str = "", taken_to: str = "", topk: int = TOPK
) -> LibraryView:
    """The results of one library folder, some, or all of them (each with its own model), newest
    photo first; ``taken_from``/``taken_to`` (YYYY-MM-DD, inclusive) keep photos taken in between."""
    rows: list[BrowseRow] = []
    models: dict[str, str] = {}
    with FolderStore() as store, require_index() as index:
        chosen = _chosen(store, paths)
        for folder in chosen:
            model_id = index.model_id_of_key(folder.model_key) if folder.model_key else None
            if model_id is None:
                continue
            models[str(folder.path)] = index.model_description(model_id) or folder.model
            rows.extend(index.browse([folder.path], model_id, topk, taken_from=taken_from, taken_to=taken_to))
    # newest first, undated last, then by path (stable sorts, last key first)
    rows.sort(key=lambda r: str(r.prediction.path))
    rows.sort(key=lambda r: r.taken, reverse=True)
    rows.sort(key=lambda r: r.taken == "")
    predictions = [r.prediction for r in rows]
    return LibraryView(
        [f.path for f in chosen],
        predictions,
        {str(r.prediction.path): r.taken for r in rows},
        models,
        sidecar_tags([p.path for p in predictions]),
        (chosen[0].path.name or str(chosen[0].path)) if paths and len(chosen) == 1 else "the whole library",
    )


def sidecar_tags(photos: Sequence[Path]) -> dict[str, tuple[str, ...]]:
    """The ``dc:subject`` keywords of each photo's XMP sidecar (``photo.jpg.xmp`` or ``photo.xmp``);
    photos without one are left out. Each folder is listed once; only existing sidecars are read."""
    from resnet_desktop.core.library.xmp import SidecarError, read_keywords

    listed: dict[Path, set[str]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for photo in photos:
        names = listed.get(photo.parent)
        if names is None:
            try:
                names = {entry.name for entry in os.scandir(photo.parent) if entry.name.lower().endswith(".xmp")}
            except OSError:
                names = set()
            listed[photo.parent] = names
        keywords: list[str] = []
        for name in (f"{photo.name}.xmp", f"{photo.name}.XMP", f"{photo.stem}.xmp", f"{photo.stem}.XMP"):
            if name not in names:
                continue
            sidecar = photo.parent / name
            try:
                keywords.extend(read_keywords(sidecar.read_bytes(), sidecar).subject)
            except (OSError, SidecarError):
                continue
        if keywords:
            out[str(photo)] = tuple(dict.fromkeys(keywords))
    return out
