"""The library's folders: which folders the person added, the model each is indexed with, its rules,
and what the rules have done. User data, so it has its own small SQLite file, not the index.

Why a file of its own (``library-folders.sqlite3`` beside the index):

- the index is a cache: clearing it, or moving a damaged one aside, must not forget the folders or
  what a rule did (a forgotten ledger would let a rule touch a photo a second time);
- ``resnet-desktop library watch`` (a systemd unit, no app open) and the app read and write it at
  the same time: SQLite in WAL mode with a busy timeout, one short transaction per change; the
  watcher sees another process's change through ``PRAGMA data_version``;
- not QSettings: core never imports Qt, and the CLI needs the same folders;
- not Teach's label store (issue 23): that file's schema belongs to another capability; the two can
  be merged later without changing this module's interface.

A damaged file is never moved aside or replaced (it is the person's): opening it fails saying so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resnet_desktop.core.errors import ResNetDesktopError, SettingsError
from resnet_desktop.core.library.persons_file import BUSY_TIMEOUT_S, PersonsFile, Statement
from resnet_desktop.core.library.rule_settings import FolderRules

FOLDERS_ENV = "RESNET_DESKTOP_FOLDERS"
FOLDERS_NAME = "library-folders.sqlite3"

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        model TEXT NOT NULL,
        model_key TEXT,
        rules TEXT NOT NULL DEFAULT '{}',
        rules_since REAL,
        device INTEGER,
        added REAL NOT NULL
    );
    CREATE TABLE rule_done (
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        photo TEXT NOT NULL,
        path TEXT NOT NULL,
        journal TEXT,
        at REAL NOT NULL,
        PRIMARY KEY (folder_id, rule, photo)
    ) WITHOUT ROWID;
    CREATE TABLE rule_journals (
        id INTEGER PRIMARY KEY,
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        journal TEXT NOT NULL,
        photos INTEGER NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The app's active model: ``library add`` without ``--model`` uses it (the app writes it).
DEFAULT_MODEL_KEY = "default_model"


class FolderStoreError(ResNetDesktopError):
    """The library's folder list cannot be read or written."""

    title = "The library folders are not available"


@dataclass(frozen=True)
class LibraryFolder:
    id: int
    path: Path
    #: The model the folder is indexed with, as ``ModelRef.text()`` (a file by its absolute path).
    model: str
    rules: FolderRules = field(default_factory=FolderRules)
    #: When the rules were switched on: only photos classified after it are "new" to them.
    rules_since: float | None = None
    #: ``st_dev`` of the folder when it was last seen with its photos (an unmounted drive's mount
    #: point is another device).
    device: int | None = None
    #: The index's key of the model (``ModelIdentity.key``) when it was last loaded: ``status``
    #: reads the index without loading the model.
    model_key: str | None = None


def default_folders_path() -> Path:
    """``$RESNET_DESKTOP_FOLDERS``, else beside the library index, else the per-user data folder."""
    value = os.environ.get(FOLDERS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    from resnet_desktop.core.library.index import default_index_path

    index = default_index_path()
    if index is not None:
        return index.with_name(FOLDERS_NAME)
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / FOLDERS_NAME


def normal_path(path: str | Path) -> Path:
    """Absolute, ``..`` resolved, symbolic links kept (the path the person added is the one shown)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


class FolderStore(PersonsFile):
    """One connection to the folder list. Use from the thread that opened it; close when done."""

    what = "The library folder list"
    error = FolderStoreError
    migrations = MIGRATIONS
    fresh = "a new list"

    def __init__(self, path: Path | None = None, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(Path(path) if path is not None else default_folders_path(), timeout_s=timeout_s)

    def _write(self, statements: Iterable[Statement]) -> None:
        self.write(statements)

    def data_version(self) -> int:
        """Changes whenever another connection commits a change (the watcher polls it)."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    # -- folders -----------------------------------------------------------------------------

    def folders(self) -> list[LibraryFolder]:
        rows = self._db.execute(
            "SELECT id, path, model, rules, rules_since, device, model_key FROM folders ORDER BY path"
        ).fetchall()
        return [_folder(row) for row in rows]

    def get(self, path: str | Path) -> LibraryFolder | None:
        row = self._db.execute(
            "SELECT id, path, model, rules, rules_since, device, model_key FROM folders WHERE path = ?",
            (str(normal_path(path)),),
        ).fetchone()
        return _folder(row) if row is not None else None

    def require(self, path: str | Path) -> LibraryFolder:
        found = self.get(path)
        if found is None:
            raise SettingsError(f"{normal_path(path)} is not a library folder (see 'resnet-desktop library list')")
        return found

    def add(self, path: str | Path, model: str) -> LibraryFolder:
        """Add a folder (it must exist and must not overlap one already in the library)."""
        folder = normal_path(path)
        if not folder.exists():
            raise SettingsError(f"{folder} does not exist")
        if not folder.is_dir():
            raise SettingsError(f"{folder} is a file, not a folder; add the folder that holds it")
        for other in self.folders():
            if other.path == folder:
                raise SettingsError(f"{folder} is already in the library")
            if overlaps(other.path, folder):
                inside = other.path in folder.parents
                how = (
                    f"is inside the library folder {other.path}" if inside else f"holds the library folder {other.path}"
                )
                raise SettingsError(f"{folder} {how}; a photo belongs to one library folder")
        self._write(
            [
                (
                    "INSERT INTO folders(path, model, device, added) VALUES (?, ?, ?, ?)",
                    (str(folder), model, _device(folder), time.time()),
                )
            ]
        )
        return self.require(folder)

    def remove(self, path: str | Path) -> LibraryFolder:
        folder = self.require(path)
        self._write([("DELETE FROM folders WHERE id = ?", (folder.id,))])
        return folder

    def set_model(self, path: str | Path, model: str) -> LibraryFolder:
        folder = self.require(path)
        self._write([("UPDATE folders SET model = ?, model_key = NULL WHERE id = ?", (model, folder.id))])
        return self.require(path)

    def set_rules(self, path: str | Path, rules: FolderRules) -> LibraryFolder:
        """New rules; switching a rule on starts its clock (photos classified before it are not new)."""
        folder = self.require(path)
        rules.check()
        since = folder.rules_since
        if rules.any and (not folder.rules.any or since is None or rules.switched_on(folder.rules)):
            since = time.time()
        if not rules.any:
            since = None
        self._write(
            [("UPDATE folders SET rules = ?, rules_since = ? WHERE id = ?", (rules.to_json(), since, folder.id))]
        )
        return self.require(path)

    def set_model_key(self, folder: LibraryFolder, key: str) -> None:
        if folder.model_key != key:
            self._write(
                [("UPDATE folders SET model_key = ? WHERE id = ? AND model = ?", (key, folder.id, folder.model))]
            )

    def set_device(self, folder: LibraryFolder, device: int) -> None:
        if folder.device != device:
            self._write([("UPDATE folders SET device = ? WHERE id = ?", (device, folder.id))])

    # -- the app's active model --------------------------------------------------------------

    def default_model(self) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (DEFAULT_MODEL_KEY,)).fetchone()
        return str(row[0]) if row else None

    def set_default_model(self, model: str) -> None:
        self._write([("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (DEFAULT_MODEL_KEY, model))])

    # -- what the rules did ------------------------------------------------------------------

    def rule_done(self, folder: LibraryFolder, rule: str, photos: Sequence[str]) -> set[str]:
        """Which of ``photos`` (content hashes) the rule has already acted on."""
        done: set[str] = set()
        for start in range(0, len(photos), 500):
            chunk = list(photos[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for (photo,) in self._db.execute(
                f"SELECT photo FROM rule_done WHERE folder_id = ? AND rule = ? AND photo IN ({marks})",
                [folder.id, rule, *chunk],
            ):
                done.add(str(photo))
        return done

    def record_rule(
        self, folder: LibraryFolder, rule: str, photos: Sequence[tuple[str, Path]], journal: Path | None
    ) -> None:
        """The rule acted on ``photos`` ((hash, path)); never again, even after an undo."""
        now = time.time()
        statements: list[Statement] = [
            (
                "INSERT OR IGNORE INTO rule_done(folder_id, rule, photo, path, journal, at) VALUES (?, ?, ?, ?, ?, ?)",
                (folder.id, rule, photo, str(path), str(journal) if journal else None, now),
            )
            for photo, path in photos
        ]
        if journal is not None:
            statements.append(
                (
                    "INSERT INTO rule_journals(folder_id, rule, journal, photos, created) VALUES (?, ?, ?, ?, ?)",
                    (folder.id, rule, str(journal), len(photos), now),
                )
            )
        self._write(statements)

    def rule_journals(self, folder: LibraryFolder) -> list[Path]:
        """The journals of what the folder's rules did, newest first (each can be undone)."""
        rows = self._db.execute(
            "SELECT journal FROM rule_journals WHERE folder_id = ? ORDER BY id DESC", (folder.id,)
        ).fetchall()
        return [Path(r[0]) for r in rows]

    def rule_count(self, folder: LibraryFolder, rule: str) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM rule_done WHERE folder_id = ? AND rule = ?", (folder.id, rule)
        ).fetchone()
        return int(row[0])


def _folder(row: tuple[Any, ...]) -> LibraryFolder:
    folder_id, path, model, rules, since, device, model_key = row
    return LibraryFolder(
        id=int(folder_id),
        path=Path(path),
        model=str(model),
        rules=FolderRules.from_json(str(rules)),
        rules_since=float(since) if since is not None else None,
        device=int(device) if device is not None else None,
        model_key=str(model_key) if model_key is not None else None,
    )


def _device(folder: Path) -> int | None:
    try:
        return int(folder.stat().st_dev)
    except OSError:
        return None
