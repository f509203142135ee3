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
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.migrate import Migration, migrate, user_version

STORE_ENV = "RESNET_DESKTOP_USER_STORE"
STORE_NAME = "library-user.sqlite3"
BUSY_TIMEOUT_S = 30.0

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

Statement = tuple[str, Sequence[Any]]


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


class UserStore:
    """One connection to the store. Use from the thread that opened it; close when done."""

    def __init__(self, path: Path | None = None, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        #: What a person should know (the store was upgraded and a backup kept).
        self.notices: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise TeachError(f"The label store {self.path} cannot be opened: {exc}") from exc
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            check = self._db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            version = user_version(self._db)
            if version > SCHEMA_VERSION:
                raise TeachError(
                    f"The label store {self.path} was written by a newer version of ResNet Desktop (schema "
                    f"{version}, this one knows {SCHEMA_VERSION}); update the app to open it"
                )
            backup = migrate(self._db, self.path, MIGRATIONS)
        except sqlite3.OperationalError as exc:
            raise TeachError(f"The label store {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # never moved aside or replaced: it is the person's
            backups = sorted(p.name for p in self.path.parent.glob(self.path.name + ".v*-backup*"))
            where = f"; backups: {', '.join(backups)}" if backups else ""
            raise TeachError(
                f"The label store {self.path} is damaged ({exc}); it was left untouched{where}. "
                "Restore a backup, or move the file aside to start a new store"
            ) from exc
        if backup is not None:
            self.notices.append(f"The label store was upgraded; the previous file was kept as {backup.name}.")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the two ways in ---------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._db.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def write(self, statements: Iterable[Statement]) -> None:
        """One short transaction: all of ``statements`` or none; a lock held past the busy timeout
        by another process becomes a ``TeachError`` that says so."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TeachError(f"The label store {self.path} stayed locked by another program: {exc}") from exc
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise TeachError(f"The label store refused the change: {exc}") from exc
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
