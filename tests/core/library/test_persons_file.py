"""The person's own SQLite files (the label store, the library folder list) open one way: an older
file is upgraded after a backup copy, a newer one is refused, a damaged one is left untouched and its
backups named, a locked one is waited for and then named. Before, the folder list upgraded without
a backup copy and said nothing of one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.folders import FolderStore
from resnet_desktop.core.library.persons_file import PersonsFile
from resnet_desktop.core.teach.store import UserStore


class Notes(PersonsFile):
    what = "The notes file"
    error = SettingsError
    migrations = (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
        "ALTER TABLE notes ADD COLUMN tag TEXT",
    )
    fresh = "new notes"


def test_an_older_file_is_upgraded_after_a_backup_copy_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    db = sqlite3.connect(path)
    db.execute(Notes.migrations[0])
    db.execute("INSERT INTO notes(text) VALUES ('milk')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Notes(path) as notes:
        assert notes.notices == ["The notes file was upgraded; the previous file was kept as notes.sqlite3.v1-backup."]
        notes.write([("UPDATE notes SET tag = ? WHERE text = ?", ("shop", "milk"))])
    backup = sqlite3.connect(tmp_path / "notes.sqlite3.v1-backup")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT text FROM notes").fetchall() == [("milk",)]
    backup.close()


def test_a_damaged_file_is_left_untouched_and_its_backups_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"not a database " * 100)
    (tmp_path / "notes.sqlite3.v1-backup").write_bytes(b"")
    with pytest.raises(SettingsError) as caught:
        Notes(path)
    assert str(caught.value).startswith(f"The notes file {path} is damaged (")
    assert str(caught.value).endswith(
        "it was left untouched; backups: notes.sqlite3.v1-backup. "
        "Restore a backup, or move the file aside to start new notes"
    )
    assert path.read_bytes() == b"not a database " * 100


@pytest.mark.parametrize(("kind", "what"), [(FolderStore, "The library folder list"), (UserStore, "The label store")])
def test_both_stores_refuse_a_newer_file_by_name(tmp_path: Path, kind: type[PersonsFile], what: str) -> None:
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(kind.error, match=f"^{what} .* was written by a newer version of ResNet Desktop \\(schema 99"):
        kind(path)


def test_a_lock_held_past_the_timeout_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    Notes(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with (
            Notes(path, timeout_s=0.1) as notes,
            pytest.raises(SettingsError, match="stayed locked by another program"),
        ):
            notes.write([("INSERT INTO notes(text) VALUES (?)", ("eggs",))])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
