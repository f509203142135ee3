"""Sort photos into class folders: predictions -> a plan the person can look at -> applied with a journal.

``make_plan`` decides, without touching anything, where each photo goes: ``DEST/<class>/<relative path>``
(or ``DEST/<class>/<name>`` flat), ``DEST/_uncertain/...`` below the threshold, several classes when
"any of the top-k above the threshold" is asked for; error rows go nowhere and are listed. Names that
are taken get a numbered suffix, never an overwrite; class names become safe folder names
(``safe_names``). Existing sidecars travel with a copied or moved photo, and XMP keywords are planned
as their own operations. ``core.library.apply`` carries a plan out (and resumes and undoes it).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library import xmp as sidecars
from resnet_desktop.core.library.journal_records import JournalRecord, OptionsRecord
from resnet_desktop.core.library.safe_names import FolderNames, collision_key, numbered
from resnet_desktop.core.library.xmp import Naming

UNCERTAIN = "_uncertain"
DEFAULT_THRESHOLD = 0.5


class Mode(str, Enum):
    COPY = "copy"
    MOVE = "move"
    LINK = "link"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class OrganizeOptions:
    """How to organize. ``topk`` > 1 means "every class among the top-k at or above the threshold"."""

    mode: Mode = Mode.COPY
    flat: bool = False
    threshold: float = DEFAULT_THRESHOLD
    topk: int = 1
    xmp: bool = False
    xmp_naming: Naming = Naming.FULL

    def check(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise SettingsError(f"the threshold must be between 0 and 1, got {self.threshold}")
        if self.topk < 1:
            raise SettingsError(f"top-k must be at least 1, got {self.topk}")
        if self.mode is Mode.MOVE and self.topk > 1:
            raise SettingsError("moving puts each photo in one folder; with top-k above 1 choose copy, link or symlink")

    def to_dict(self) -> OptionsRecord:
        return {
            "mode": self.mode.value,
            "flat": self.flat,
            "threshold": self.threshold,
            "topk": self.topk,
            "xmp": self.xmp,
            "xmp_naming": self.xmp_naming.value,
        }

    @classmethod
    def from_dict(cls, data: OptionsRecord) -> OrganizeOptions:
        return cls(
            mode=Mode(data["mode"]),
            flat=bool(data["flat"]),
            threshold=float(data["threshold"]),
            topk=int(data["topk"]),
            xmp=bool(data["xmp"]),
            xmp_naming=Naming(data["xmp_naming"]),
        )


@dataclass(frozen=True)
class FileOp:
    """Put ``source`` at ``destination`` (copy, move, hard link or symbolic link)."""

    action: Mode
    source: Path
    destination: Path
    folder: str
    label: str | None
    probability: float
    #: For a sidecar that travels with its photo: the photo's ``FileOp`` position in the plan.
    companion_of: int | None = None


@dataclass(frozen=True)
class SidecarOp:
    """Add ``subject`` and ``hierarchical`` keywords to the XMP sidecar ``sidecar`` of ``photo``."""

    photo: Path
    sidecar: Path
    subject: tuple[str, ...]
    hierarchical: tuple[str, ...]
    #: When the photo is moved first: the photo's ``FileOp`` position (its sidecar follows its new name).
    after: int | None = None


Operation = FileOp | SidecarOp


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str
    #: The photo could not be classified or read (as opposed to excluded or already in place).
    error: bool = False


@dataclass
class Plan:
    """Everything ``apply`` will do, in order, and what it leaves alone (with why)."""

    dest: Path
    options: OrganizeOptions
    operations: list[Operation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: label -> folder name under ``dest`` (the journal keeps it).
    folders: dict[str, str] = field(default_factory=dict)

    @property
    def file_ops(self) -> list[FileOp]:
        return [op for op in self.operations if isinstance(op, FileOp)]

    @property
    def photo_ops(self) -> list[FileOp]:
        """File operations on photos (not the sidecars that travel with them)."""
        return [op for op in self.file_ops if op.companion_of is None]

    @property
    def sidecar_ops(self) -> list[SidecarOp]:
        return [op for op in self.operations if isinstance(op, SidecarOp)]

    def counts(self) -> dict[str, int]:
        """Photos per destination folder, largest first."""
        return dict(Counter(op.folder for op in self.photo_ops).most_common())

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON (``organize --dry-run --format json``)."""
        return {
            "dest": str(self.dest),
            "options": self.options.to_dict(),
            "folders": self.folders,
            "counts": self.counts(),
            "operations": [operation_to_dict(op) for op in self.operations],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
        }


def operation_to_dict(op: Operation) -> JournalRecord:
    if isinstance(op, FileOp):
        data: JournalRecord = {
            "action": op.action.value,
            "source": str(op.source),
            "dest": str(op.destination),
            "folder": op.folder,
            "label": op.label,
            "probability": round(op.probability, 6),
        }
        if op.companion_of is not None:
            data["companion_of"] = op.companion_of
        return data
    return {
        "action": "xmp",
        "photo": str(op.photo),
        "sidecar": str(op.sidecar),
        "subject": list(op.subject),
        "hierarchical": list(op.hierarchical),
        "after": op.after,
    }


def read_suggested_threshold(report: str | os.PathLike[str]) -> float:
    """``suggested_threshold`` from an evaluation report (JSON), the default the threshold sweep picked."""
    import json

    try:
        value = json.loads(Path(report).read_text(encoding="utf-8"))["suggested_threshold"]
        threshold = float(value)
    except OSError as exc:
        raise SettingsError(f"Cannot read the report {report}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError, KeyError):
        raise SettingsError(f"{report} has no suggested_threshold; give a threshold instead") from None
    if not 0.0 <= threshold <= 1.0:
        raise SettingsError(f"{report}: suggested_threshold {threshold} is not between 0 and 1")
    return threshold


def chosen_scores(prediction: Prediction, threshold: float, topk: int) -> list[ClassScore]:
    """The classes a photo goes to: those among its top-k at or above ``threshold`` (none: uncertain)."""
    return [s for s in prediction.scores[:topk] if s.probability >= threshold]


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))


def is_inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def _relative(source: Path, roots: Sequence[Path]) -> Path:
    """``source`` relative to the deepest root that holds it; its name alone otherwise."""
    best: Path | None = None
    for root in roots:
        try:
            rel = source.relative_to(root)
        except ValueError:
            continue
        if str(rel) != "." and (best is None or len(rel.parts) < len(best.parts)):
            best = rel
    return best if best is not None else Path(source.name)


def _default_roots(sources: Sequence[Path]) -> list[Path]:
    if not sources:
        return []
    try:
        return [Path(os.path.commonpath([str(s.parent) for s in sources]))]
    except ValueError:  # different drives on Windows
        return []


class DestinationNames:
    """Destination names handed out so far (this plan's and the disk's); numbered when taken."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def free(self, path: Path) -> bool:
        return collision_key(str(path)) not in self.taken and not os.path.lexists(path)

    def claim(self, wanted: Path, companions: Sequence[str] = ()) -> Path:
        """``wanted``, or ``name (2).ext``...: free, with every ``name + companion suffix`` free too."""
        n = 1
        candidate = wanted
        while not (self.free(candidate) and all(self.free(Path(f"{candidate}{c}")) for c in companions)):
            n += 1
            candidate = wanted.with_name(numbered(wanted.name, n))
        self.taken.add(collision_key(str(candidate)))
        return candidate

    def take(self, path: Path) -> None:
        self.taken.add(collision_key(str(path)))


def make_plan(
    predictions: Iterable[Prediction],
    dest: str | os.PathLike[str],
    options: OrganizeOptions | None = None,
    *,
    roots: Sequence[str | os.PathLike[str]] | None = None,
    exclude_folders: Iterable[str] = (),
    exclude_files: Iterable[str | os.PathLike[str]] = (),
) -> Plan:
    """Plan where every photo goes; nothing on disk is touched.

    ``roots``: the folders the photos were found in (their structure is kept below each class
    folder); by default the common parent of all photos. ``exclude_folders`` are folder names
    (``plan.folders`` values or ``_uncertain``); ``exclude_files`` are source paths.
    """
    options = options or OrganizeOptions()
    options.check()
    dest_path = _absolute(Path(dest))
    plan = Plan(dest_path, options)
    excluded_folders = set(exclude_folders)
    excluded_files = {_absolute(Path(p)) for p in exclude_files}

    dest_real = os.path.realpath(dest_path)
    seen: set[str] = set()
    rows: list[tuple[Path, list[ClassScore], float]] = []
    for prediction in predictions:
        source = _absolute(prediction.path)
        key = os.path.realpath(source)
        if key in seen:
            continue
        seen.add(key)
        if not prediction.ok:
            plan.skipped.append(Skipped(source, prediction.error or "could not be classified", error=True))
            continue
        if not source.is_file():
            plan.skipped.append(Skipped(source, "the file is no longer there", error=True))
            continue
        if key == dest_real or key.startswith(dest_real + os.sep):
            plan.skipped.append(Skipped(source, "already inside the destination folder"))
            continue
        if source in excluded_files:
            plan.skipped.append(Skipped(source, "excluded"))
            continue
        top = prediction.top1.probability if prediction.top1 else 0.0
        rows.append((source, chosen_scores(prediction, options.threshold, options.topk), top))

    names = FolderNames((s.label for _src, chosen, _p in rows for s in chosen), reserved=[UNCERTAIN])
    plan.folders = dict(names.mapping)
    root_paths = [_absolute(Path(r)) for r in roots] if roots else _default_roots([r[0] for r in rows])
    claimed = DestinationNames()
    existing_sidecars = OwnSidecars()
    companion_suffixes = sidecars.sidecar_suffixes(options.xmp_naming) if options.xmp else ()

    for source, chosen, top in rows:
        targets: list[tuple[str, str | None, float]] = [(names[s.label], s.label, s.probability) for s in chosen]
        targets = targets or [(UNCERTAIN, None, top)]
        targets = [t for t in targets if t[0] not in excluded_folders]
        if not targets:
            plan.skipped.append(Skipped(source, "excluded"))
            continue
        rel = Path(source.name) if options.flat else _relative(source, root_paths)
        companions = existing_sidecars(source) if options.mode in (Mode.COPY, Mode.MOVE) else []
        first: FileOp | None = None
        first_index: int | None = None
        for folder, label, probability in targets:
            wanted = dest_path / folder / rel
            suffixes = [c for c, _ in companions] + list(companion_suffixes)
            final = claimed.claim(wanted, suffixes)
            index = len(plan.operations)
            op = FileOp(options.mode, source, final, folder, label, probability)
            plan.operations.append(op)
            if first is None:
                first, first_index = op, index
            for suffix, sidecar in companions:
                target = Path(f"{final}{suffix}")
                claimed.take(target)
                plan.operations.append(
                    FileOp(options.mode, sidecar, target, folder, label, probability, companion_of=index)
                )
            for suffix in companion_suffixes:
                claimed.take(Path(f"{final}{suffix}"))
        labels = [t[1] for t in targets if t[1] is not None]
        if options.xmp and labels:
            moved = options.mode is Mode.MOVE
            photo = first.destination if moved and first is not None else source
            subject = tuple(labels)
            hierarchical = tuple(sidecars.hierarchical_keyword(label) for label in labels)
            for sidecar in sidecars.sidecar_paths(photo, options.xmp_naming):
                plan.operations.append(SidecarOp(photo, sidecar, subject, hierarchical, first_index if moved else None))
    return plan


class OwnSidecars:
    """Sidecars that belong to one photo alone: ``photo.jpg.xmp`` (``photo.xmp`` may be shared by a RAW+JPEG
    pair, so it stays). Each folder is listed once instead of two lookups per photo."""

    def __init__(self) -> None:
        self._names: dict[Path, set[str]] = {}

    def __call__(self, photo: Path) -> list[tuple[str, Path]]:
        names = self._names.get(photo.parent)
        if names is None:
            try:
                names = {entry.name for entry in os.scandir(photo.parent) if entry.is_file()}
            except OSError:
                names = set()
            self._names[photo.parent] = names
        for suffix in (".xmp", ".XMP"):
            if f"{photo.name}{suffix}" in names:
                return [(suffix, Path(f"{photo}{suffix}"))]
        return []
