"""Bringing an SQLite file's schema up to date (``PRAGMA user_version``), after a backup copy.

The library index and the person's own store (labels, label sets, versions) both keep their schema
as a tuple of appended migrations. Before the first migration of a file written by an older version
runs, the file is copied next to itself (``NAME.vN-backup``) with SQLite's online backup, so an
upgrade that goes wrong, or a downgrade, never costs what the file held.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

#: SQL text (statements separated by ";"), or a function of the connection when it needs Python.
Migration: TypeAlias = "str | Callable[[sqlite3.Connection], None]"


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def backup_path(path: Path, version: int) -> Path:
    """Where the copy of a version-``version`` file goes (a new name when one is already there)."""
    target = path.with_name(f"{path.name}.v{version}-backup")
    if target.exists():
        target = path.with_name(f"{path.name}.v{version}-backup-{time.strftime('%Y%m%d-%H%M%S')}")
    return target


def backup_copy(db: sqlite3.Connection, path: Path, version: int) -> Path:
    """A consistent copy of the open database (WAL included) next to it, written under a temporary
    name and renamed, so a half-written backup never looks like a whole one."""
    target = backup_path(path, version)
    partial = target.with_name(target.name + ".partial")
    copy = sqlite3.connect(partial)
    try:
        db.backup(copy)
    finally:
        copy.close()
    os.replace(partial, target)
    return target


def migrate(db: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> Path | None:
    """Run the migrations ``path`` lacks in one transaction; returns the backup copy made, if any.

    The caller refuses a file newer than ``migrations`` before calling. A new, empty file (version 0)
    needs no backup. Another process migrating at the same time is waited for (the write lock), and
    what it did is not done twice.
    """
    target = len(migrations)
    if user_version(db) >= target:
        return None
    backup = backup_copy(db, path, user_version(db)) if user_version(db) > 0 else None
    db.execute("BEGIN IMMEDIATE")
    try:
        for number in range(user_version(db), target):
            step = migrations[number]
            if callable(step):
                step(db)
            else:
                for statement in step.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()  # nothing changed: the file itself is the copy
        raise
    return backup
