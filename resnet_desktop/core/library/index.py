"""The library index: one SQLite file that remembers every file we classified, with which model,
what it said and the backbone embedding, so nothing is computed twice and a killed run resumes.

Tables (schema version in ``PRAGMA user_version``, upgraded by ``MIGRATIONS`` in order):

- ``files``: path, size, mtime_ns, inode, sha256 (computed only for files the engine classifies,
  so that a moved or renamed copy is recognised later), seen (last time it was looked at).
- ``backbones``: one row per backbone (the weights without ``fc``, by hash; preprocessing; numeric
  precision): every head on one backbone shares its embeddings, and nothing mixes precisions.
- ``models``: one row per model identity (architecture, weights or model-file hash, preprocessing,
  label list, precision) and its backbone, keyed by a digest of all of them: a changed model, or
  the same model at another precision, never reuses old results.
- ``results``: file x model -> top-k scores as JSON, or the error.
- ``embeddings``: file x backbone -> the pooled backbone vector, float16 bytes; ``seq`` grows on
  every write so an ANN index next to this file can be brought up to date incrementally.
- ``sessions``: what was classified when (the GUI's "Reopen last session").

WAL mode with a busy timeout: the GUI and a CLI run may use one index at the same time; every
write is a short transaction. A connection belongs to the thread that opened it (sqlite3's rule),
so each worker opens its own ``LibraryIndex``.
"""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.library.identity import FP32 as FP32
from resnet_desktop.core.library.identity import BackboneIdentity as BackboneIdentity
from resnet_desktop.core.library.identity import FileStat as FileStat
from resnet_desktop.core.library.identity import ModelIdentity as ModelIdentity
from resnet_desktop.core.library.identity import sha256_file as sha256_file
from resnet_desktop.core.library.index_db import BUSY_TIMEOUT_S as BUSY_TIMEOUT_S
from resnet_desktop.core.library.index_db import INDEX_ENV as INDEX_ENV
from resnet_desktop.core.library.index_db import INDEX_NAME as INDEX_NAME
from resnet_desktop.core.library.index_db import IndexCorruptError as IndexCorruptError
from resnet_desktop.core.library.index_db import IndexLockedError as IndexLockedError
from resnet_desktop.core.library.index_db import LibraryIndexError as LibraryIndexError
from resnet_desktop.core.library.index_db import default_index_path
from resnet_desktop.core.library.index_embeddings import EmbeddingReads
from resnet_desktop.core.library.index_embeddings import EmbeddingRows as EmbeddingRows
from resnet_desktop.core.library.index_folders import IndexFolders
from resnet_desktop.core.library.index_read import Hit as Hit
from resnet_desktop.core.library.index_read import IndexInfo as IndexInfo
from resnet_desktop.core.library.index_read import IndexReads
from resnet_desktop.core.library.index_write import IndexWrites
from resnet_desktop.core.library.schema import MIGRATIONS as MIGRATIONS
from resnet_desktop.core.library.schema import SCHEMA_VERSION as SCHEMA_VERSION

__all__ = [
    "BUSY_TIMEOUT_S",
    "FP32",
    "INDEX_ENV",
    "INDEX_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BackboneIdentity",
    "EmbeddingRows",
    "FileStat",
    "Hit",
    "IndexCorruptError",
    "IndexInfo",
    "IndexLockedError",
    "LibraryIndex",
    "LibraryIndexError",
    "ModelIdentity",
    "default_index_path",
    "open_index",
    "sha256_file",
]


class LibraryIndex(IndexReads, EmbeddingReads, IndexWrites, IndexFolders):
    """One connection to the index file. Use from the thread that opened it; close when done.

    Opening and the write transaction live in ``index_db``, lookups and reads in ``index_read``,
    embeddings in ``index_embeddings``, batch commits and hygiene in ``index_write``, library
    folders' queries in ``index_folders``.
    """


def open_index(path: Path | None = None) -> LibraryIndex | None:
    """The default index, or None when it is switched off (``RESNET_DESKTOP_INDEX=off``)."""
    target = path if path is not None else default_index_path()
    return LibraryIndex(target) if target is not None else None
