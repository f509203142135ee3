"""Opening the library index file: one SQLite connection in WAL mode, its schema brought up to date,
a damaged file moved aside (never deleted) and a new one begun; plus the short write transaction
and path-prefix matching that the reading and writing halves of ``LibraryIndex`` share.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

from resnet_desktop.core.errors import ResNetDesktopError
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.migrate import migrate, user_version
from resnet_desktop.core.library.schema import MIGRATIONS, SCHEMA_VERSION

#: Overrides the index location (tests, portable installs); "off" disables the index.
INDEX_ENV = "RESNET_DESKTOP_INDEX"
INDEX_NAME = "library.sqlite3"
#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
#: An index up to this size is checked (``PRAGMA quick_check``, ~0.1 s here) every time it is opened.
#: A bigger one is checked only after a query found it damaged (the flag file ``NAME.check``): the
#: check reads every page, seconds at 100,000 photos and a minute at 1,000,000, too long for each open.
CHECK_ON_OPEN_BYTES = 64 << 20
CHECK_FLAG_SUFFIX = ".check"


class LibraryIndexError(ResNetDesktopError):
    """The library index cannot be used; classification goes on without it."""

    title = "The library index is not available"


class IndexCorruptError(LibraryIndexError):
    """The index file is not a readable SQLite database (it was moved aside)."""


class IndexLockedError(LibraryIndexError):
    """Another program holds the index longer than we can wait."""


def default_index_path() -> Path | None:
    """Where the index lives: ``$RESNET_DESKTOP_INDEX``, else the per-user data folder; None when "off"."""
    value = os.environ.get(INDEX_ENV, "").strip()
    if value.lower() in {"off", "0", "none"}:
        return None
    if value:
        return Path(value).expanduser()
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / INDEX_NAME


def scores_json(prediction: Prediction) -> str:
    return json.dumps([[s.label, s.index, s.probability] for s in prediction.scores])


def parse_scores(text: str, topk: int) -> tuple[ClassScore, ...]:
    return tuple(ClassScore(label=str(a), index=int(b), probability=float(c)) for a, b, c in json.loads(text)[:topk])


def move_aside(path: Path) -> Path:
    """Keep a broken index for a post-mortem under a new name; never delete what we cannot read."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def is_locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def check_flag(path: Path) -> Path:
    """The file whose presence says "check this index before using it again"."""
    return path.with_name(path.name + CHECK_FLAG_SUFFIX)


def needs_check(path: Path) -> bool:
    """Small files always; big ones when a query found damage since the last check."""
    try:
        return path.stat().st_size <= CHECK_ON_OPEN_BYTES or check_flag(path).exists()
    except OSError:
        return True


class IndexConnection:
    """One connection to the index file. Use from the thread that opened it; close when done."""

    def __init__(self, path: Path, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        #: What a person should know (e.g. a corrupt file was moved aside and a new index begun).
        self.notices: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(timeout_s)
        except sqlite3.OperationalError as exc:  # locked, read-only, cannot be opened: not damage
            if is_locked(exc):
                raise IndexLockedError(
                    f"The library index {self.path} is in use by another program; classifying without it."
                ) from exc
            raise LibraryIndexError(f"The library index {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not a database, malformed, failed its check
            try:
                aside = move_aside(self.path)
            except OSError as move:
                raise IndexCorruptError(
                    f"The library index {self.path} is damaged ({exc}) and cannot be moved aside ({move.strerror})."
                ) from exc
            self.notices.append(
                f"The library index {self.path} was damaged ({exc}); it was moved aside to {aside.name} "
                "and a new, empty index was started."
            )
            try:
                self._db = self._connect(timeout_s)
            except sqlite3.Error as again:
                raise IndexCorruptError(f"The library index {self.path} cannot be created: {again}") from again
        except OSError as exc:
            raise LibraryIndexError(f"The library index {self.path} cannot be opened: {exc.strerror}") from exc

    def _connect(self, timeout_s: float) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if needs_check(self.path):
                check = db.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
                with contextlib.suppress(OSError):
                    check_flag(self.path).unlink(missing_ok=True)
            else:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a file that is no database fails here
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = user_version(db)
        if version > SCHEMA_VERSION:
            raise LibraryIndexError(
                f"the library index was written by a newer version (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); classifying without it"
            )
        backup = migrate(db, self.path, MIGRATIONS)
        if backup is not None:
            self.notices.append(
                f"The library index was upgraded from schema {version} to {SCHEMA_VERSION}; "
                f"the previous file was kept as {backup.name}."
            )

    def suspect(self, exc: BaseException) -> None:
        """A query failed: if SQLite says the file is damaged, check it (and move it aside) next time it opens."""
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            with contextlib.suppress(OSError):
                check_flag(self.path).touch()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """One short transaction; a lock held past the busy timeout becomes ``IndexLockedError``."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise IndexLockedError(
                f"The library index {self.path} stayed locked by another program; going on without it."
            ) from exc
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _under(self, inputs: Sequence[str | Path]) -> tuple[str, list[Any]]:
        """SQL matching the files at or below ``inputs`` (path-prefix ranges use the path index)."""
        clauses: list[str] = []
        params: list[Any] = []
        for item in inputs:
            text = str(Path(item).absolute()) if not Path(item).is_absolute() else str(item)
            prefix = text.rstrip(os.sep) + os.sep
            clauses.append("(f.path = ? OR (f.path >= ? AND f.path < ?))")
            params += [text, prefix, prefix[:-1] + chr(ord(os.sep) + 1)]
        return "(" + " OR ".join(clauses or ["1"]) + ")", params
