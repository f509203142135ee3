"""Label sets, their classes and labels in the person's store (``store.UserStore``).

A label points at a photo by content (SHA-256), so a photo moved, renamed or copied keeps its
label; its path, size, mtime and inode are kept too, so a label still finds its photo after an edit
changes the content (``photos.resolve``). Labels are written in short transactions of at most
``BATCH`` rows: a process killed during a long import keeps every batch before the kill.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.teach.records import ClassInfo, Label, LabelChange, LabelSetInfo, PhotoKey
from resnet_desktop.core.teach.store import Statement, UserStore

#: Labels per transaction.
BATCH = 500
MAX_NAME = 100
DEFAULT_SET = "default"
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SetRow:
    """A label set's row as the other modules of the room need it."""

    id: int
    name: str
    base_model: str | None
    backbone_key: str | None
    backbone_ref: str | None
    arch: str | None
    preprocessing: str | None
    scope: tuple[Path, ...]
    regularisation: float | None
    regularisation_labels: int
    active_version: int | None
    keep_versions: int


_SET_COLUMNS = (
    "id, name, base_model, backbone_key, backbone_ref, arch, preprocessing, scope, regularisation, "
    "regularisation_labels, active_version, keep_versions"
)


def check_name(name: str, what: str) -> str:
    """A set or class name as typed, trimmed; refused when empty, too long or holding control characters."""
    cleaned = name.strip()
    if not cleaned:
        raise TeachError(f"A {what} needs a name")
    if len(cleaned) > MAX_NAME:
        raise TeachError(f"A {what} name has at most {MAX_NAME} characters ({len(cleaned)} given)")
    if _BAD_NAME.search(cleaned):
        raise TeachError(f"A {what} name cannot hold control characters (tabs, new lines): {cleaned!r}")
    return cleaned


def _row(values: tuple[object, ...]) -> SetRow:
    (set_id, name, base, key, ref, arch, pre, scope, c, c_labels, active, keep) = values
    return SetRow(
        id=int(str(set_id)),
        name=str(name),
        base_model=str(base) if base is not None else None,
        backbone_key=str(key) if key is not None else None,
        backbone_ref=str(ref) if ref is not None else None,
        arch=str(arch) if arch is not None else None,
        preprocessing=str(pre) if pre is not None else None,
        scope=tuple(Path(p) for p in json.loads(str(scope))),
        regularisation=float(str(c)) if c is not None else None,
        regularisation_labels=int(str(c_labels)),
        active_version=int(str(active)) if active is not None else None,
        keep_versions=int(str(keep)),
    )


def set_names(store: UserStore) -> list[str]:
    return [str(r[0]) for r in store.query("SELECT name FROM label_sets ORDER BY name")]


def find_set(store: UserStore, name: str | None, *, create: bool = False) -> SetRow:
    """The set called ``name``; without a name, the only set (or ``DEFAULT_SET`` when ``create``)."""
    if name is None:
        names = set_names(store)
        if len(names) == 1:
            name = names[0]
        elif create and not names:
            name = DEFAULT_SET
        elif not names:
            raise TeachError("There are no label sets yet; import labels first (labels import FOLDER)")
        else:
            raise TeachError(f"Choose a label set with --set: {', '.join(names)}")
    name = check_name(name, "label set")
    row = store.one(f"SELECT {_SET_COLUMNS} FROM label_sets WHERE name = ?", (name,))
    if row is None and create:
        store.write([("INSERT OR IGNORE INTO label_sets(name, created) VALUES (?, ?)", (name, time.time()))])
        row = store.one(f"SELECT {_SET_COLUMNS} FROM label_sets WHERE name = ?", (name,))
    if row is None:
        names = set_names(store)
        known = f"; the label sets are: {', '.join(names)}" if names else "; there are no label sets yet"
        raise TeachError(f"There is no label set called {name!r}{known}")
    return _row(row)


def update_set(store: UserStore, set_id: int, **values: object) -> None:
    """Change columns of a set's row (names checked against the schema, never taken from input)."""
    allowed = set(_SET_COLUMNS.replace(" ", "").split(",")) - {"id", "name"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not label_sets columns: {sorted(unknown)}")
    columns = ", ".join(f"{k} = ?" for k in values)
    store.write([(f"UPDATE label_sets SET {columns} WHERE id = ?", (*values.values(), set_id))])


def rename_set(store: UserStore, name: str, new_name: str) -> None:
    row = find_set(store, name)
    new_name = check_name(new_name, "label set")
    if store.one("SELECT 1 FROM label_sets WHERE name = ? AND id != ?", (new_name, row.id)):
        raise TeachError(f"There is already a label set called {new_name!r}")
    store.write([("UPDATE label_sets SET name = ? WHERE id = ?", (new_name, row.id))])


def delete_set(store: UserStore, name: str) -> None:
    row = find_set(store, name)
    store.write([("DELETE FROM label_sets WHERE id = ?", (row.id,))])


# -- classes ------------------------------------------------------------------------------------


def classes(store: UserStore, set_id: int) -> list[ClassInfo]:
    """The set's classes in hotkey order, with their labeled photos."""
    rows = store.query(
        "SELECT c.name, c.position, c.colour, (SELECT count(*) FROM labels l WHERE l.class_id = c.id) "
        "FROM classes c WHERE c.set_id = ? ORDER BY c.position, c.id",
        (set_id,),
    )
    return [ClassInfo(str(n), i, str(c) if c is not None else None, int(k)) for i, (n, _p, c, k) in enumerate(rows)]


def class_ids(store: UserStore, set_id: int) -> dict[str, int]:
    return {str(n): int(i) for n, i in store.query("SELECT name, id FROM classes WHERE set_id = ?", (set_id,))}


def add_class(store: UserStore, set_id: int, name: str, colour: str | None = None) -> ClassInfo:
    name = check_name(name, "class")
    if name in class_ids(store, set_id):
        raise TeachError(f"The label set already has a class called {name!r}")
    store.write(
        [
            (
                "INSERT INTO classes(set_id, name, colour, position, created) "
                "VALUES (?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM classes WHERE set_id = ?), ?)",
                (set_id, name, colour, set_id, time.time()),
            )
        ]
    )
    return next(c for c in classes(store, set_id) if c.name == name)


def ensure_classes(store: UserStore, set_id: int, names: Sequence[str]) -> dict[str, int]:
    """The ids of ``names``, creating the missing classes (in the given order) in one transaction."""
    known = class_ids(store, set_id)
    missing = [check_name(n, "class") for n in dict.fromkeys(names) if n not in known]
    if missing:
        store.write(
            [
                (
                    "INSERT OR IGNORE INTO classes(set_id, name, position, created) "
                    "VALUES (?, ?, (SELECT coalesce(max(position), -1) + 1 FROM classes WHERE set_id = ?), ?)",
                    (set_id, name, set_id, time.time()),
                )
                for name in missing
            ]
        )
        known = class_ids(store, set_id)
    return known


def _class_id(store: UserStore, set_id: int, name: str) -> int:
    found = class_ids(store, set_id).get(name)
    if found is None:
        names = ", ".join(c.name for c in classes(store, set_id)) or "none yet"
        raise TeachError(f"The label set has no class called {name!r} (its classes: {names})")
    return found


def rename_class(store: UserStore, set_id: int, name: str, new_name: str) -> None:
    class_id = _class_id(store, set_id, name)
    new_name = check_name(new_name, "class")
    if new_name != name and new_name in class_ids(store, set_id):
        raise TeachError(f"The label set already has a class called {new_name!r}")
    store.write([("UPDATE classes SET name = ? WHERE id = ?", (new_name, class_id))])


def recolour_class(store: UserStore, set_id: int, name: str, colour: str | None) -> None:
    store.write([("UPDATE classes SET colour = ? WHERE id = ?", (colour, _class_id(store, set_id, name)))])


def delete_class(store: UserStore, set_id: int, name: str) -> int:
    """Delete a class and its labels (the person asked for exactly that); how many labels went."""
    class_id = _class_id(store, set_id, name)
    gone = int(store.query("SELECT count(*) FROM labels WHERE class_id = ?", (class_id,))[0][0])
    store.write([("DELETE FROM classes WHERE id = ?", (class_id,))])
    return gone


# -- labels -------------------------------------------------------------------------------------


def set_labels(
    store: UserStore, set_id: int, keys: Sequence[PhotoKey], class_name: str | None, *, source: str = "person"
) -> LabelChange:
    """Label the photos ``keys`` as ``class_name`` (None clears their labels), ``BATCH`` per transaction."""
    class_id = _class_id(store, set_id, class_name) if class_name is not None else None
    labeled = cleared = unchanged = 0
    now = time.time()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        marks = ",".join("?" * len(chunk))
        before = {
            str(sha): int(cid)
            for sha, cid in store.query(
                f"SELECT sha256, class_id FROM labels WHERE set_id = ? AND sha256 IN ({marks})",
                (set_id, *(k.sha256 for k in chunk)),
            )
        }
        statements: list[Statement] = []
        for key in chunk:
            if class_id is None:
                if key.sha256 in before:
                    statements.append(("DELETE FROM labels WHERE set_id = ? AND sha256 = ?", (set_id, key.sha256)))
                    cleared += 1
                else:
                    unchanged += 1
                continue
            if before.get(key.sha256) == class_id:
                unchanged += 1
            else:
                labeled += 1
            statements.append(
                (
                    "INSERT INTO labels(set_id, sha256, class_id, path, size, mtime_ns, inode, source, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(set_id, sha256) DO UPDATE SET "
                    "class_id = excluded.class_id, path = excluded.path, size = excluded.size, "
                    "mtime_ns = excluded.mtime_ns, inode = excluded.inode, source = excluded.source, "
                    "updated = excluded.updated",
                    (set_id, key.sha256, class_id, key.path, key.size, key.mtime_ns, key.inode, source, now),
                )
            )
        store.write(statements)
    return LabelChange(labeled=labeled, cleared=cleared, unchanged=unchanged)


def labels(store: UserStore, set_id: int) -> list[Label]:
    rows = store.query(
        "SELECT l.path, c.name, l.sha256, l.source FROM labels l JOIN classes c ON c.id = l.class_id "
        "WHERE l.set_id = ? ORDER BY c.position, l.path",
        (set_id,),
    )
    return [Label(Path(str(p)), str(c), str(s), str(src)) for p, c, s, src in rows]


def label_keys(store: UserStore, set_id: int) -> list[tuple[PhotoKey, str]]:
    """Every label with how it finds its photo, and its class name (for resolving and training)."""
    rows = store.query(
        "SELECT l.sha256, l.path, l.size, l.mtime_ns, l.inode, c.name FROM labels l "
        "JOIN classes c ON c.id = l.class_id WHERE l.set_id = ?",
        (set_id,),
    )
    return [
        (PhotoKey(str(s), str(p), int(size), int(mtime), int(inode)), str(c)) for s, p, size, mtime, inode, c in rows
    ]


def move_label(store: UserStore, set_id: int, old_sha: str, key: PhotoKey) -> None:
    """An edited photo: its label follows it to its new content (unless the new content has one)."""
    store.write(
        [
            (
                "UPDATE OR IGNORE labels SET sha256 = ?, path = ?, size = ?, mtime_ns = ?, inode = ? "
                "WHERE set_id = ? AND sha256 = ?",
                (key.sha256, key.path, key.size, key.mtime_ns, key.inode, set_id, old_sha),
            )
        ]
    )


def set_info(store: UserStore, row: SetRow) -> LabelSetInfo:
    found = classes(store, row.id)
    versions = int(store.query("SELECT count(*) FROM versions WHERE set_id = ?", (row.id,))[0][0])
    active = (
        store.one("SELECT number FROM versions WHERE id = ?", (row.active_version,)) if row.active_version else None
    )
    return LabelSetInfo(
        name=row.name,
        classes=tuple(found),
        labels=sum(c.labeled for c in found),
        base_model=row.base_model,
        scope=row.scope,
        taught=row.backbone_key is not None,
        active_version=int(active[0]) if active else None,
        versions=versions,
    )
