"""From photos to labels and back: a photo's key (content hash + where it is), and a label's
embedding (by content; when an edit changed the content, by the path, then the inode, it had).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resnet_desktop.core.library.index import FileStat, LibraryIndex, sha256_file
from resnet_desktop.core.teach.records import PhotoKey


def photo_keys(
    paths: Iterable[str | Path], index: LibraryIndex | None = None
) -> tuple[list[PhotoKey], list[tuple[Path, str]]]:
    """Keys of ``paths`` (absolute), and the photos that could not be read with why. The index's hash
    is reused when it knows the file unchanged (same size and mtime), else the file is hashed."""
    wanted = [Path(p).absolute() for p in paths]
    known = index.files_by_path(str(p) for p in wanted) if index is not None else {}
    keys: list[PhotoKey] = []
    skipped: list[tuple[Path, str]] = []
    for path in wanted:
        try:
            stat = FileStat.of(path)
            record = known.get(str(path))
            sha = record[3] if record is not None and record[:2] == (stat.size, stat.mtime_ns) else None
            if sha is None:
                sha = sha256_file(path)
        except OSError as exc:
            skipped.append((path, exc.strerror or str(exc)))
            continue
        keys.append(PhotoKey(sha, stat.path, stat.size, stat.mtime_ns, stat.inode))
    return keys, skipped


@dataclass(frozen=True)
class Moved:
    """A label whose photo was edited: its old hash and the photo's key now."""

    old_sha: str
    key: PhotoKey


def find_vectors(
    index: LibraryIndex, backbone_id: int, keys: Sequence[PhotoKey], cache: dict[str, np.ndarray]
) -> list[Moved]:
    """Fill ``cache`` (hash -> float16 vector) for ``keys``; returns the labels whose photo was edited
    (found by path, then inode, under another hash) so the caller can move them."""
    missing = [k for k in keys if k.sha256 not in cache]
    if not missing:
        return []
    cache.update(index.vectors_by_hash(backbone_id, (k.sha256 for k in missing)))
    lost = [k for k in missing if k.sha256 not in cache]
    if not lost:
        return []
    moved: list[Moved] = []
    by_path = index.files_by_path(k.path for k in lost)
    by_inode = index.files_by_inode(k.inode for k in lost if k.path not in by_path)
    for key in lost:
        candidates = []
        if key.path in by_path:
            size, mtime_ns, inode, sha = by_path[key.path]
            candidates.append((key.path, size, mtime_ns, inode, sha))
        candidates += [(p, size, mtime, key.inode, sha) for p, size, mtime, sha in by_inode.get(key.inode, [])]
        for path, size, mtime_ns, inode, sha in candidates:
            if sha is None or sha == key.sha256 or not _unchanged(path, size, mtime_ns):
                continue
            moved.append(Moved(key.sha256, PhotoKey(sha, path, size, mtime_ns, inode)))
            break
    if moved:
        cache.update(index.vectors_by_hash(backbone_id, (m.key.sha256 for m in moved)))
    return [m for m in moved if m.key.sha256 in cache]


def edited(keys: Sequence[PhotoKey]) -> list[Moved]:
    """Labels whose photo is still where it was but whose size or mtime changed: each is hashed
    again; the ones whose content changed (an edit) are returned with their new key, the others
    with a refreshed stat (so they are not hashed again next time)."""
    out: list[Moved] = []
    for key in keys:
        try:
            stat = FileStat.of(key.path)
            if (stat.size, stat.mtime_ns) == (key.size, key.mtime_ns):
                continue
            sha = sha256_file(Path(key.path))
        except OSError:
            continue  # gone (moved, or an unmounted drive): found by content, or kept until it is back
        out.append(Moved(key.sha256, PhotoKey(sha, stat.path, stat.size, stat.mtime_ns, stat.inode)))
    return out


def _unchanged(path: str, size: int, mtime_ns: int) -> bool:
    """The index's record of ``path`` still describes the file on disk (so its hash is the file's)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime_ns
