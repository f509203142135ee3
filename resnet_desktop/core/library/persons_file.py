"""An SQLite file that holds the person's own data (label sets and labels, the library folder list).

Unlike the library index (a cache: a damaged one is moved aside and rebuilt), such a file is never
moved aside or replaced: a damaged one is reported and left untouched, a newer one is refused, an
older one is upgraded after a backup copy (``migrate``). One connection per thread, short write
transactions that another process's lock only delays (the busy timeout).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from resnet_desktop.core.errors import ResNetDesktopError
from resnet_desktop.core.library.migrate import Migration, migrate, user_version

#: How long a write waits for another process's transaction before saying the file stayed locked.
BUSY_TIMEOUT_S = 30.0

#: One SQL statement with its parameters.
Statement = tuple[str, Sequence[Any]]


class PersonsFile:
    """One connection to a person's file; subclasses name it, its error and its schema."""

    #: How a person calls the file ("The label store"), the error it raises, its migrations.
    what: ClassVar[str]
    error: ClassVar[type[ResNetDesktopError]]
    migrations: ClassVar[Sequence[Migration]]
    #: What moving a damaged file aside starts ("a new store").
    fresh: ClassVar[str]
    #: Read every page when opening (cheap for a small file; finds damage before a write makes it worse).
    check_on_open: ClassVar[bool] = True

    def __init__(self, path: Path, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        #: What a person should know (the file was upgraded and a backup kept).
        self.notices: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self.error(f"{self.what} {self.path} cannot be opened: {exc}") from exc
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        known = len(self.migrations)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            if self.check_on_open:
                check = self._db.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            version = user_version(self._db)
            if version > known:
                raise self.error(
                    f"{self.what} {self.path} was written by a newer version of ResNet Desktop (schema "
                    f"{version}, this one knows {known}); update the app to open it"
                )
            backup = migrate(self._db, self.path, self.migrations)
        except sqlite3.OperationalError as exc:
            raise self.error(f"{self.what} {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # never moved aside or replaced: it is the person's
            backups = sorted(p.name for p in self.path.parent.glob(self.path.name + ".v*-backup*"))
            where = f"; backups: {', '.join(backups)}" if backups else ""
            raise self.error(
                f"{self.what} {self.path} is damaged ({exc}); it was left untouched{where}. "
                f"Restore a backup, or move the file aside to start {self.fresh}"
            ) from exc
        if backup is not None:
            self.notices.append(f"{self.what} was upgraded; the previous file was kept as {backup.name}.")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def write(self, statements: Iterable[Statement]) -> None:
        """One short transaction: all of ``statements`` or none; a lock held past the busy timeout
        by another process becomes this file's error, saying so."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self.error(f"{self.what} {self.path} stayed locked by another program: {exc}") from exc
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise self.error(f"{self.what} refused the change: {exc}") from exc
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
