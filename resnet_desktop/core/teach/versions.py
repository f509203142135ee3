"""Versions of a label set: the person saves one (automatic refits do not); it is a head file
(model-file format 2: the head plus a reference to its backbone) that loads wherever a model file
loads, with a snapshot of the labels it learned from and its held-out figures. Two versions are
compared on the set's current held-out labels; a retention rule keeps the last N and the active one.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.teach import fit as fitting
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.labels import SetRow
from resnet_desktop.core.teach.records import VersionComparison, VersionInfo
from resnet_desktop.core.teach.session import TeachSession, to_set_classes
from resnet_desktop.core.teach.store import Statement, UserStore

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import LoadedModel

DEFAULT_KEEP = 10
#: The current head's file in a set's folder (``current_head_file``): never a version.
CURRENT_HEAD = "current.safetensors"
_SNAPSHOT_BATCH = 5000


def versions_folder(store: UserStore, set_id: int) -> Path:
    """Where a set's version files live: beside the store (user data, never the index's cache)."""
    return store.path.with_name("label-sets") / str(set_id)


def _info(row: tuple[object, ...], active: int | None) -> VersionInfo:
    version_id, number, file, classes, metrics, count, created = row
    figures = json.loads(str(metrics))
    accuracy = figures.get("held_out_accuracy")
    return VersionInfo(
        number=int(str(number)),
        file=Path(str(file)),
        created=float(str(created)),
        classes=tuple(json.loads(str(classes))),
        labels=int(str(count)),
        held_out_accuracy=float(accuracy) if accuracy is not None else None,
        active=version_id == active,
    )


_COLUMNS = "id, number, file, classes, metrics, labels, created"


def list_versions(store: UserStore, row: SetRow) -> list[VersionInfo]:
    rows = store.query(f"SELECT {_COLUMNS} FROM versions WHERE set_id = ? ORDER BY number", (row.id,))
    return [_info(r, row.active_version) for r in rows]


def _version_row(store: UserStore, row: SetRow, number: int) -> tuple[object, ...]:
    found = store.one(f"SELECT {_COLUMNS} FROM versions WHERE set_id = ? AND number = ?", (row.id, number))
    if found is None:
        numbers = ", ".join(str(v.number) for v in list_versions(store, row)) or "none yet"
        raise TeachError(f"The label set {row.name!r} has no version {number} (its versions: {numbers})")
    return found


def _write_head(session: TeachSession, path: Path, metrics: dict[str, object], *, overwrite: bool) -> Path:
    """The session's current head as a head file (model-file format 2: the head and a reference to the
    set's backbone), the one way a version, the person's copy and the current head are written."""
    import torch

    from resnet_desktop.core.models.headfile import save_head_file
    from resnet_desktop.core.models.modelfile import BackboneRef

    fit, row = session.fit, session.row
    if fit is None:
        raise TeachError("Nothing has been learned yet; refit before saving a version")
    if row.backbone_ref is None or row.arch is None or row.preprocessing is None:
        raise TeachError(f"The label set {row.name!r} has no base model yet; run teach first")
    return save_head_file(
        path,
        torch.from_numpy(fit.head.weight),
        torch.from_numpy(fit.head.bias),
        base=BackboneRef.from_dict(json.loads(row.backbone_ref), session.store.path),
        arch=row.arch,
        class_names=list(fit.head.classes),
        preprocessing=json.loads(row.preprocessing),
        metrics=metrics,
        overwrite=overwrite,
    )


def current_head_file(session: TeachSession) -> Path:
    """The head the session learned last, as a head file that loads wherever a model file loads (the
    review's Grad-CAM before any version is saved, and between two). It lives in the set's folder of
    the store as ``current.safetensors`` (not a version: no row, never listed, replaced by the next
    head); written again only when the head changed since, so its mtime says which head it holds."""
    fit = session.fit
    if fit is None:
        raise TeachError("Nothing has been learned yet; label photos in at least 2 classes first")
    file = versions_folder(session.store, session.row.id) / CURRENT_HEAD
    if session.current_head_written is not fit.head or not file.is_file():
        file.parent.mkdir(parents=True, exist_ok=True)
        metrics: dict[str, object] = {"label_set": session.row.name, "current": True, "labels": len(fit.training.y)}
        _write_head(session, file, metrics, overwrite=True)
        session.current_head_written = fit.head
    return file


def current_model(session: TeachSession, cancel: threading.Event | None = None) -> LoadedModel:
    """The current head on the set's backbone, loaded from ``current_head_file`` as any model file is
    (its backbone found and checked the same way); kept until the session learns another head."""
    from resnet_desktop.core.models.ref import ModelRef, load

    file = current_head_file(session)
    head = session.current_head_written
    assert head is not None
    if session.current_loaded is None or session.current_loaded[0] is not head:
        session.current_loaded = None  # let the old model go before loading the next
        session.current_loaded = (head, load(ModelRef(file=file), cancel=cancel))
    return session.current_loaded[1]


def save_version(session: TeachSession, *, output: Path | None = None, force: bool = False) -> VersionInfo:
    """Write the current head as the set's next version (and to ``output``, when given), snapshot the
    labels, apply the retention rule. The new version becomes the active one."""
    fit = session.fit
    row = session.row
    if fit is None:
        raise TeachError("Nothing has been learned yet; refit before saving a version")
    if row.backbone_ref is None or row.arch is None or row.preprocessing is None:
        raise TeachError(f"The label set {row.name!r} has no base model yet; run teach first")
    report = session.report()
    metrics: dict[str, object] = {
        "label_set": row.name,
        "held_out_accuracy": report.held_out_accuracy,
        "held_out": report.held_out,
        "trained_on": report.trained_on,
        "regularisation": report.regularisation,
        "per_class": {
            f.name: {"precision": f.precision, "recall": f.recall, "threshold": f.threshold} for f in report.per_class
        },
    }
    last = session.store.one("SELECT coalesce(max(number), 0) FROM versions WHERE set_id = ?", (row.id,))
    number = int(last[0]) + 1 if last else 1
    folder = versions_folder(session.store, row.id)
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"v{number}.safetensors"
    metrics["version"] = number

    def write(path: Path, overwrite: bool) -> None:
        _write_head(session, path, metrics, overwrite=overwrite)

    if output is not None:  # the person's file first: a refusal there leaves no version behind
        write(output, force)
    write(file, True)
    labels = labels_mod.label_keys(session.store, row.id)
    session.store.write(
        [
            (
                "INSERT INTO versions(set_id, number, file, backbone_key, classes, metrics, labels, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    number,
                    str(file),
                    row.backbone_key,
                    json.dumps(list(fit.head.classes)),
                    json.dumps(metrics),
                    len(labels),
                    time.time(),
                ),
            ),
            (
                "UPDATE label_sets SET active_version = "
                "(SELECT id FROM versions WHERE set_id = ? AND number = ?) WHERE id = ?",
                (row.id, number, row.id),
            ),
        ]
    )
    version_id = int(
        session.store.query("SELECT id FROM versions WHERE set_id = ? AND number = ?", (row.id, number))[0][0]
    )
    for start in range(0, len(labels), _SNAPSHOT_BATCH):
        chunk = labels[start : start + _SNAPSHOT_BATCH]
        session.store.write(
            [
                (
                    "INSERT OR REPLACE INTO version_labels(version_id, sha256, class) VALUES (?, ?, ?)",
                    (version_id, k.sha256, c),
                )
                for k, c in chunk
            ]
        )
    session.reload()
    prune(session.store, session.row)
    return next(v for v in list_versions(session.store, session.row) if v.number == number)


def activate(store: UserStore, row: SetRow, number: int) -> VersionInfo:
    version_id = int(str(_version_row(store, row, number)[0]))
    labels_mod.update_set(store, row.id, active_version=version_id)
    fresh = labels_mod.find_set(store, row.name)
    return next(v for v in list_versions(store, fresh) if v.number == number)


def set_retention(store: UserStore, row: SetRow, keep: int) -> None:
    if keep < 1:
        raise TeachError("Keep at least 1 version")
    labels_mod.update_set(store, row.id, keep_versions=keep)
    prune(store, labels_mod.find_set(store, row.name))


def prune(store: UserStore, row: SetRow) -> list[int]:
    """Delete versions beyond the last ``keep_versions`` (never the active one); the numbers deleted."""
    rows = store.query("SELECT id, number, file FROM versions WHERE set_id = ? ORDER BY number DESC", (row.id,))
    old = [r for r in rows[row.keep_versions :] if r[0] != row.active_version]
    if not old:
        return []
    statements: list[Statement] = [("DELETE FROM versions WHERE id = ?", (r[0],)) for r in old]
    store.write(statements)
    from resnet_desktop.core.models.modelfile import sidecar_path

    for _id, _number, file in old:  # files of our own folder: the rows are gone, so are they
        for path in (Path(str(file)), sidecar_path(str(file))):
            with contextlib.suppress(OSError):
                path.unlink()
    return [int(r[1]) for r in old]


def version_file(store: UserStore, row: SetRow, number: int | None = None) -> Path:
    """Version ``number``'s head file (None: the active version's)."""
    if number is None:
        active = next((v for v in list_versions(store, row) if v.active), None)
        if active is None:
            raise TeachError(f"The label set {row.name!r} has no saved version yet; save one first")
        return active.file
    return Path(str(_version_row(store, row, number)[2]))


def head_of(file: Path) -> fitting.Head:
    """A version's head, read without torch (safetensors' numpy reader)."""
    from safetensors.numpy import load_file

    from resnet_desktop.core.models.modelfile import read_meta

    try:
        meta = read_meta(file)
        tensors = load_file(str(file))
    except OSError as exc:
        raise TeachError(f"The version file {file} cannot be read: {exc}") from exc
    return fitting.Head(
        tuple(meta.class_names), tensors["fc.weight"].astype(np.float32), tensors["fc.bias"].astype(np.float32)
    )


def compare(session: TeachSession, first: int, second: int) -> VersionComparison:
    """Both versions' accuracy on the set's current held-out labels, and how many they answer differently."""
    row = session.row
    heads = []
    for number in (first, second):
        version = _version_row(session.store, row, number)
        key = session.store.one("SELECT backbone_key FROM versions WHERE id = ?", (version[0],))
        if key is None or key[0] != row.backbone_key:
            raise TeachError(
                f"Version {number} was taught on another base model than the set's current one; "
                "versions are compared on the current held-out embeddings, so both must share it"
            )
        heads.append(head_of(Path(str(version[2]))))
    data = session.training()
    x = data.x[data.held_out]
    truth = [data.classes[i] for i in data.y[data.held_out]]
    answers = []
    for head in heads:
        predicted = (
            to_set_classes(head.logits(x).argmax(axis=1), head, data.classes) if len(x) else np.zeros(0, np.int64)
        )
        answers.append([data.classes[i] for i in predicted])

    def accuracy(names: list[str]) -> float | None:
        return sum(a == t for a, t in zip(names, truth, strict=True)) / len(truth) if truth else None

    return VersionComparison(
        first=first,
        second=second,
        held_out=len(truth),
        first_accuracy=accuracy(answers[0]),
        second_accuracy=accuracy(answers[1]),
        differ=sum(a != b for a, b in zip(answers[0], answers[1], strict=True)),
    )
