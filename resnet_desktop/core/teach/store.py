"""The person's own store: label sets, classes, labels and versions in ``library-user.sqlite3``.

This is user data, not cache: it lives in its own file beside the library index, so clearing the
index, pruning missing files (an unmounted drive) or moving a damaged index aside never touches a
label. A damaged store is never moved or replaced: opening it fails with a message saying where
its backups are. The schema is versioned like the index's, with a backup copy before a migration.

WAL mode and a busy timeout let two processes (the app and a CLI run) label at once; every write is
one short transaction, so a process killed at any moment loses nothing that was saved.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.migrate import Migration
from resnet_desktop.core.library.persons_file import BUSY_TIMEOUT_S, PersonsFile
from resnet_desktop.core.library.persons_file import Statement as Statement

STORE_ENV = "RESNET_DESKTOP_USER_STORE"
STORE_NAME = "library-user.sqlite3"

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the first schema
    """
    CREATE TABLE label_sets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        base_model TEXT,
        backbone_key TEXT,
        backbone_ref TEXT,
        arch TEXT,
        preprocessing TEXT,
        scope TEXT NOT NULL DEFAULT '[]',
        regularisation REAL,
        regularisation_labels INTEGER NOT NULL DEFAULT 0,
        active_version INTEGER,
        keep_versions INTEGER NOT NULL DEFAULT 10,
        created REAL NOT NULL
    );
    CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES label_sets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        colour TEXT,
        position INTEGER NOT NULL,
        created REAL NOT NULL,
        UNIQUE (set_id, name)
    );
    CREATE TABLE labels (
        set_id INTEGER NOT NULL REFERENCES label_sets(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        source TEXT NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (set_id, sha256)
    );
    CREATE INDEX labels_path ON labels(set_id, path);
    CREATE INDEX labels_class ON labels(class_id);
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES label_sets(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        file TEXT NOT NULL,
        backbone_key TEXT NOT NULL,
        classes TEXT NOT NULL,
        metrics TEXT NOT NULL,
        labels INTEGER NOT NULL,
        created REAL NOT NULL,
        UNIQUE (set_id, number)
    );
    CREATE TABLE version_labels (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        class TEXT NOT NULL,
        PRIMARY KEY (version_id, sha256)
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_store_path() -> Path:
    """``$RESNET_DESKTOP_USER_STORE``, else beside the library index, else the per-user data folder
    (also when the index is switched off: labels do not need it)."""
    value = os.environ.get(STORE_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    from resnet_desktop.core.library.index import default_index_path

    index = default_index_path()
    if index is not None:
        return index.with_name(STORE_NAME)
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / STORE_NAME


class UserStore(PersonsFile):
    """One connection to the store. Use from the thread that opened it; close when done."""

    what = "The label store"
    error = TeachError
    migrations = MIGRATIONS
    fresh = "a new store"

    def __init__(self, path: Path | None = None, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(Path(path) if path is not None else default_store_path(), timeout_s=timeout_s)

    # -- the two ways in ---------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._db.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None
