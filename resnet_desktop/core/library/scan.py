"""Looking at a library folder: walk it, compare what is on disk with what the index holds for the
folder's model, and say what is indexed, pending (new or changed), failed, skipped (not photos, by
type) and gone (deleted since: to be pruned). Nothing is classified or changed here.

A folder that is missing, cannot be listed, or is empty while the index holds photos of it is
*offline* (an unmounted drive, a network share that is down): nothing of it is pruned.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resnet_desktop.core.images.formats import IMAGE_SUFFIXES, SKIPPED_NAMES
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.library.index_folders import ERROR, OK, StoredFile
from resnet_desktop.core.work import check_cancel

#: Files that describe a photo rather than being one: neither photos nor "skipped".
SIDECAR_SUFFIXES = frozenset({".xmp", ".aae", ".thm", ".pp3", ".dop", ".on1", ".cos"})
NO_SUFFIX = "(no suffix)"


@dataclass
class FolderStatus:
    """What ``library status`` prints for one folder (and the app's Library list shows)."""

    path: Path
    model: str
    files: int = 0
    indexed: int = 0
    pending: int = 0
    errors: int = 0
    #: Files that are not photos this app reads (RAW, video, documents...), by suffix.
    skipped: dict[str, int] = field(default_factory=dict)
    offline: bool = False
    #: Why the folder is offline, for a person.
    offline_reason: str = ""
    rules: str = "no rules"

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "model": self.model,
            "files": self.files,
            "indexed": self.indexed,
            "pending": self.pending,
            "errors": self.errors,
            "skipped": self.skipped_total,
            "skipped_by_type": dict(sorted(self.skipped.items())),
            "offline": self.offline,
            "offline_reason": self.offline_reason,
            "rules": self.rules,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderStatus:
        """The status back from ``to_dict`` (the app reads ``library watch --format json``)."""
        return cls(
            path=Path(str(data["path"])),
            model=str(data["model"]),
            files=int(data["files"]),
            indexed=int(data["indexed"]),
            pending=int(data["pending"]),
            errors=int(data["errors"]),
            skipped={str(k): int(v) for k, v in dict(data.get("skipped_by_type") or {}).items()},
            offline=bool(data["offline"]),
            offline_reason=str(data.get("offline_reason", "")),
            rules=str(data.get("rules", "no rules")),
        )


@dataclass
class Survey:
    """A folder compared with the index: its status, what to classify and what to prune."""

    status: FolderStatus
    #: Photos to classify (new, changed, or never classified with this model), in walk order.
    pending: list[Path] = field(default_factory=list)
    #: Index rows below the folder whose file is gone (pruned once renames have been matched).
    gone: list[int] = field(default_factory=list)
    #: ``st_dev`` of the folder (to recognise an unmounted drive's mount point later).
    device: int | None = None


@dataclass
class Walk:
    photos: dict[str, os.stat_result] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


def kind_of(name: str) -> str | None:
    """ "photo", "sidecar", the suffix of a skipped file, or None for names we never look at."""
    if name.startswith(".") or name.casefold() in SKIPPED_NAMES:
        return None
    suffix = os.path.splitext(name)[1].lower()
    if suffix in IMAGE_SUFFIXES:
        return "photo"
    if suffix in SIDECAR_SUFFIXES:
        return "sidecar"
    return suffix.lstrip(".") or NO_SUFFIX


def walk(root: Path, cancel: threading.Event | None = None) -> Walk:
    """Every photo below ``root`` (with its stat) and the skipped files by type; hidden entries are
    left out, folder symlinks followed once (a cycle ends). A folder that cannot be listed is left out."""
    found = Walk()
    visited: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        check_cancel(cancel)
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            continue
        for entry in listed:
            kind = kind_of(entry.name)
            if kind is None:
                continue
            try:
                st = entry.stat()
            except OSError:
                continue  # vanished, or a broken link
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key not in visited:
                    visited.add(key)
                    stack.append(entry.path)
            elif not stat.S_ISREG(st.st_mode) or kind == "sidecar":
                continue
            elif kind == "photo":
                found.photos[entry.path] = st
            else:
                found.skipped[kind] += 1
    return found


def offline_reason(folder: Path, known: int, device: int | None) -> str:
    """Why ``folder`` is offline ("" when it is online); ``known``: photos the index holds below it."""
    try:
        st = folder.stat()
    except OSError:
        return "the folder is not there (an unmounted drive or a disconnected share?)"
    if not stat.S_ISDIR(st.st_mode):
        return "it is no longer a folder"
    try:
        with os.scandir(folder) as entries:
            empty = next(iter(entries), None) is None
    except OSError as exc:
        return f"the folder cannot be read ({exc.strerror or exc})"
    if empty and known:
        moved = device is not None and st.st_dev != device
        why = "it is now on another device" if moved else f"the index holds {known} photos of it"
        return f"the folder is empty but {why} (an unmounted drive?)"
    return ""


def survey(
    index: LibraryIndex,
    folder: Path,
    model: str,
    model_id: int | None,
    *,
    device: int | None = None,
    cancel: threading.Event | None = None,
) -> Survey:
    """Compare ``folder`` on disk with the index rows of ``model_id`` (None: the model never ran here)."""
    # with no model id yet, rows of other models still say whether the folder had photos (offline)
    stored: dict[str, StoredFile] = index.files_under(folder, model_id if model_id is not None else -1)
    status = FolderStatus(folder, model)
    reason = offline_reason(folder, len(stored), device)
    if reason:
        status.offline, status.offline_reason = True, reason
        status.files = len(stored)
        status.indexed = sum(1 for s in stored.values() if s.state == OK)
        status.errors = sum(1 for s in stored.values() if s.state == ERROR)
        return Survey(status)
    found = walk(folder, cancel)
    result = Survey(status, device=_device(folder))
    status.skipped = dict(found.skipped)
    status.files = len(found.photos)
    for path, st in found.photos.items():
        row = stored.get(path)
        if row is not None and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns and row.state == OK:
            status.indexed += 1
        elif row is not None and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns and row.state == ERROR:
            status.errors += 1
        else:
            result.pending.append(Path(path))
    status.pending = len(result.pending)
    result.gone = [row.file_id for path, row in stored.items() if path not in found.photos]
    result.pending.sort()
    return result


def _device(folder: Path) -> int | None:
    try:
        return int(folder.stat().st_dev)
    except OSError:
        return None
