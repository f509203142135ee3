"""Labeled-folder scanning, validation and the stratified train/validation split.

A labeled folder has one immediate subfolder per class; every image below a class folder
(recursively) belongs to that class. Problems that make training impossible block it with a
message naming the folder; things a person should know about (imbalance, the same photo filed
under two classes, unreadable files) are warnings.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from resnet_desktop.core.errors import CancelledError, DatasetError, SettingsError

#: Largest/smallest class size ratio from which the imbalance warning is shown.
IMBALANCE_RATIO = 4.0
DEFAULT_VAL_SPLIT = 0.2
#: Every class needs at least one training and one validation image.
MIN_IMAGES_PER_CLASS = 2


@dataclass
class DatasetScan:
    """What a labeled folder contains and whether it can be trained on."""

    root: Path
    classes: list[str]
    files: dict[str, list[Path]]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.files.get(name, [])) for name in self.classes}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        return not self.problems

    def validate(self) -> None:
        """Raise :class:`DatasetError` listing every blocking problem, if there are any."""
        if self.problems:
            raise DatasetError(f"{self.root} cannot be used for training:\n- " + "\n- ".join(self.problems))

    def samples(self) -> list[tuple[Path, int]]:
        """Every usable image with its class index, in class then path order."""
        return [(p, i) for i, name in enumerate(self.classes) for p in self.files.get(name, [])]


def _readable_reason(path: Path) -> str | None:
    """None when the file decodes; else the reason classification would give (truncated, not an image…).

    A header check alone passes truncated files, which then fail mid-training; a small draft
    decode (JPEGs at 1/8 scale) reads the whole file through the same ``open_image`` as classifying.
    """
    from resnet_desktop.core.errors import ImageError
    from resnet_desktop.core.images import open_image

    try:
        open_image(path, draft_size=(32, 32)).close()
        return None
    except ImageError as exc:
        return exc.reason


def _digest(path: Path) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.digest()


def find_cross_class_duplicates(files: dict[str, list[Path]]) -> list[tuple[Path, Path]]:
    """Pairs of byte-identical files filed under different classes (hashing only equal sizes)."""
    by_size: dict[int, list[tuple[str, Path]]] = defaultdict(list)
    for name, paths in files.items():
        for path in paths:
            try:
                by_size[path.stat().st_size].append((name, path))
            except OSError:
                continue
    pairs: list[tuple[Path, Path]] = []
    for group in by_size.values():
        if len({name for name, _ in group}) < 2:
            continue
        by_hash: dict[bytes, list[tuple[str, Path]]] = defaultdict(list)
        for name, path in group:
            try:
                by_hash[_digest(path)].append((name, path))
            except OSError:
                continue
        for same in by_hash.values():
            first_name, first = same[0]
            pairs.extend((first, other) for name, other in same[1:] if name != first_name)
    return sorted(pairs)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def scan_dataset(folder: str | Path, *, check_files: bool = True, cancel: threading.Event | None = None) -> DatasetScan:
    """Look at a labeled folder: classes, images per class, blocking problems and warnings.

    ``check_files`` opens each file's header so unreadable files are reported (and left out)
    before any training starts. ``cancel`` is checked per file (raises CancelledError).
    """
    from resnet_desktop.core.images import IMAGE_SUFFIXES, discover

    root = Path(folder).expanduser()
    if not root.exists():
        return DatasetScan(root, [], {}, problems=[f"{root} does not exist."])
    if not root.is_dir():
        return DatasetScan(
            root, [], {}, problems=[f"{root} is not a folder; choose a folder with one subfolder per class."]
        )
    try:
        class_dirs = _class_dirs(root)
    except OSError as exc:
        return DatasetScan(root, [], {}, problems=[f"{root} cannot be read: {exc}"])
    scan = DatasetScan(root, [d.name for d in class_dirs], {})
    for class_dir in class_dirs:
        usable: list[Path] = []
        for path in discover([class_dir]):
            if cancel is not None and cancel.is_set():
                raise CancelledError("Scanning was cancelled.")
            reason = _readable_reason(path) if check_files else None
            if reason is None:
                usable.append(path)
            else:
                scan.unreadable.append((path, reason))
        scan.files[class_dir.name] = usable
    loose_images = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    _add_problems(scan)
    _add_warnings(scan, loose_images)
    return scan


def _add_problems(scan: DatasetScan) -> None:
    root = scan.root
    if len(scan.classes) < 2:
        found = f"only {scan.classes[0]!r}" if scan.classes else "none"
        scan.problems.append(f"{root} needs at least 2 class subfolders (one per class, images inside); found {found}.")
    if scan.classes and scan.total == 0:
        scan.problems.append(f"No images found in the class folders of {root}.")
        return
    for name, count in scan.counts.items():
        if count < MIN_IMAGES_PER_CLASS:
            scan.problems.append(
                f"Class {name!r} ({root / name}) has {count} image{'s' if count != 1 else ''}; "
                f"every class needs at least {MIN_IMAGES_PER_CLASS} (one to train on, one to validate)."
            )


def _add_warnings(scan: DatasetScan, loose_images: list[Path]) -> None:
    counts = [c for c in scan.counts.values() if c > 0]
    if len(counts) >= 2 and max(counts) >= IMBALANCE_RATIO * min(counts):
        big = max(scan.counts, key=lambda n: scan.counts[n])
        small = min(scan.counts, key=lambda n: scan.counts[n] or float("inf"))
        scan.warnings.append(
            f"Classes are imbalanced: {big!r} has {scan.counts[big]} images, {small!r} only "
            f"{scan.counts[small]} (ratio {max(counts) / min(counts):.1f}:1); consider class balancing."
        )
    scan.duplicates = find_cross_class_duplicates(scan.files)
    for first, other in scan.duplicates:
        scan.warnings.append(
            f"Identical files in two classes: {first.relative_to(scan.root)} and {other.relative_to(scan.root)}."
        )
    for path, reason in scan.unreadable:
        scan.warnings.append(f"Skipped unreadable file {path}: {reason}.")
    if loose_images:
        scan.warnings.append(
            f"{len(loose_images)} image(s) directly in {scan.root} are ignored; put them in a class subfolder."
        )


def val_count(n: int, val_split: float) -> int:
    """Validation images for a class of ``n``: the rounded share, at least 1, leaving 1 to train."""
    if n < MIN_IMAGES_PER_CLASS:
        return 0
    return min(n - 1, max(1, round(n * val_split)))


@dataclass(frozen=True)
class Split:
    """Indices into ``DatasetScan.samples()`` for training and validation."""

    train: list[int]
    val: list[int]


def stratified_split(labels: list[int], val_split: float = DEFAULT_VAL_SPLIT, seed: int = 0) -> Split:
    """Per class, a seeded shuffle puts ``val_count`` images in validation and the rest in training."""
    if not 0 < val_split < 1:
        raise SettingsError(f"val_split must be between 0 and 1, got {val_split}")
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_class):
        members = list(by_class[label])
        rng.shuffle(members)
        n_val = val_count(len(members), val_split)
        val.extend(members[:n_val])
        train.extend(members[n_val:])
    return Split(sorted(train), sorted(val))
