"""Labels in and out: a folder tree (one subfolder per class, like the fine-tune wizard's) or a CSV
of ``path,label`` rows into a label set; a set's labels out to a CSV.

An import writes ``labels.BATCH`` labels per transaction: killed at any moment, it keeps every
batch before the kill and every label the set had (re-running it finishes the job).
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from resnet_desktop.core.atomic import AtomicFile, check_writable
from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.images import discover
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.photos import photo_keys
from resnet_desktop.core.teach.records import ImportReport
from resnet_desktop.core.teach.store import UserStore
from resnet_desktop.core.work import Step, Work, check_cancel

#: Test hook: ``N`` makes an import stand still after committing N batches, until it is killed.
PAUSE_ENV = "RESNET_DESKTOP_TEACH_PAUSE_AFTER"
#: A CSV bigger than this is not a label list (a million labels is ~100 MB).
MAX_CSV_BYTES = 512 * 2**20


def read_source(source: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """(photo, class) pairs of a folder tree or a CSV, and rows that cannot be used with why."""
    source = source.expanduser()
    if source.is_dir():
        return _tree(source), []
    if source.suffix.lower() == ".csv" and source.is_file():
        return _csv(source)
    if not source.exists():
        raise TeachError(f"{source} does not exist")
    raise TeachError(f"{source}: give a folder with one subfolder per class, or a .csv file of path,label rows")


def _tree(root: Path) -> list[tuple[Path, str]]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise TeachError(f"{root} has no subfolders; put each class's photos in a subfolder named after the class")
    pairs = [(path, folder.name) for folder in folders for path in discover([folder])]
    if not pairs:
        raise TeachError(f"No photos found in the subfolders of {root}")
    return pairs


def _csv(path: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    if path.stat().st_size > MAX_CSV_BYTES:
        raise TeachError(f"{path} is {path.stat().st_size / 2**20:.0f} MB; a label CSV is far smaller")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TeachError(f"{path} cannot be read as UTF-8 text: {exc}") from exc
    pairs: list[tuple[Path, str]] = []
    bad: list[tuple[Path, str]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if number == 1 and [c.strip().lower() for c in row[:2]] == ["path", "label"]:
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            bad.append((path, f"line {number}: expected path,label"))
            continue
        photo = Path(row[0].strip()).expanduser()
        pairs.append((photo if photo.is_absolute() else path.parent / photo, row[1].strip()))
    if not pairs:
        raise TeachError(f"{path} holds no path,label rows")
    return pairs, bad


def import_labels(
    store: UserStore,
    source: Path,
    set_name: str | None = None,
    *,
    index: LibraryIndex | None = None,
    cancel: threading.Event | None = None,
) -> Work[Step, ImportReport]:
    """Label every photo of ``source`` in the set (created when missing), ``labels.BATCH`` at a time."""
    started = time.perf_counter()
    pairs, skipped = read_source(source)
    row = labels_mod.find_set(store, set_name, create=True)
    names = list(dict.fromkeys(name for _, name in pairs))
    for name in names:
        labels_mod.check_name(name, "class")
    labels_mod.ensure_classes(store, row.id, names)
    added = changed = unchanged = 0
    before = {k.sha256: c for k, c in labels_mod.label_keys(store, row.id)}
    pause_after = int(os.environ.get(PAUSE_ENV, "0") or 0)
    batches = 0
    yield Step("Importing labels", 0, len(pairs))
    for start in range(0, len(pairs), labels_mod.BATCH):
        check_cancel(cancel, "The import was cancelled; the labels imported so far are kept.")
        chunk = pairs[start : start + labels_mod.BATCH]
        by_class: dict[str, list[Path]] = defaultdict(list)
        for path, name in chunk:
            by_class[name].append(path)
        for name, paths in by_class.items():
            keys, unreadable = photo_keys(paths, index)
            skipped.extend(unreadable)
            for key in keys:
                old = before.get(key.sha256)
                added += old is None
                changed += old is not None and old != name
                unchanged += old == name
                before[key.sha256] = name
            labels_mod.set_labels(store, row.id, keys, name, source="import")
        batches += 1
        if pause_after and batches >= pause_after:
            while True:  # the kill -9 test: stand still with N batches committed
                time.sleep(1)
        yield Step("Importing labels", min(start + len(chunk), len(pairs)), len(pairs))
    return ImportReport(
        set_name=row.name,
        classes=tuple(names),
        added=added,
        changed=changed,
        unchanged=unchanged,
        skipped=tuple(skipped),
        seconds=time.perf_counter() - started,
    )


def export_labels(store: UserStore, target: Path, set_name: str | None = None, *, force: bool = False) -> int:
    """Write the set's labels as ``path,label`` rows (what ``import_labels`` reads); the count."""
    row = labels_mod.find_set(store, set_name)
    found = labels_mod.labels(store, row.id)
    check_writable(target, overwrite=force)
    with AtomicFile(target, overwrite=force, text=True) as out:
        writer = csv.writer(out.stream, lineterminator="\n")
        writer.writerow(["path", "label"])
        for label in found:
            writer.writerow([str(label.path), label.class_name])
    return len(found)
