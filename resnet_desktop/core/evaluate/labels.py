"""Which class of the model each subfolder of a labeled folder stands for.

A folder matches a class by its WordNet ID (``n02123045``, ImageNet models only), by the class
name (case, spaces, underscores and hyphens ignored: ``Tabby``, ``great_white_shark``), or by a
row of the person's mapping file. A folder that matches nothing, or a name that fits several
classes (ImageNet has "Cardigan" the corgi and "cardigan" the sweater), is listed with the reason
and a hint, never guessed.

``data/imagenet_wnids.txt`` holds the WordNet IDs of the 1000 ILSVRC-2012 classes in the standard
(sorted) order, which is the order of torchvision's ``categories``; see ``data/SOURCE.md``.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from resnet_desktop.core.errors import DatasetError

WNIDS_FILE = Path(__file__).parent / "data" / "imagenet_wnids.txt"
_WNID = re.compile(r"^n\d{8}$")
_IGNORED = re.compile(r"[\s_\-]+")


@functools.cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet IDs, index ``i`` = torchvision category ``i``."""
    wnids = tuple(line.strip() for line in WNIDS_FILE.read_text(encoding="ascii").splitlines() if line.strip())
    if len(wnids) != 1000:
        raise RuntimeError(f"{WNIDS_FILE} holds {len(wnids)} WordNet IDs instead of 1000; reinstall the app")
    return wnids


def normalize(name: str) -> str:
    """The form names are compared in: lower case, without spaces, underscores or hyphens."""
    return _IGNORED.sub("", name).casefold()


@dataclass(frozen=True)
class FolderMatch:
    """One subfolder: the model class it stands for (``index``) and how it was found, or why not."""

    folder: str
    index: int | None
    how: str  # "mapping", "wnid", "name", or "" when unmatched
    reason: str = ""


@dataclass
class LabelMatch:
    """The answer for every subfolder, plus notes about the mapping file."""

    folders: list[FolderMatch]
    notes: list[str] = field(default_factory=list)

    @property
    def matched(self) -> list[FolderMatch]:
        return [f for f in self.folders if f.index is not None]

    @property
    def unmatched(self) -> list[FolderMatch]:
        return [f for f in self.folders if f.index is None]

    def index_of(self, folder: str) -> int | None:
        for entry in self.folders:
            if entry.folder == folder:
                return entry.index
        return None


class _Names:
    """Look-ups over one model's categories."""

    def __init__(self, categories: Sequence[str], imagenet: bool) -> None:
        self.categories = list(categories)
        self.wnids = imagenet_wnids() if imagenet else ()
        self.by_name: dict[str, list[int]] = {}
        for i, name in enumerate(self.categories):
            self.by_name.setdefault(normalize(name), []).append(i)

    def describe(self, index: int) -> str:
        wnid = f", {self.wnids[index]}" if self.wnids else ""
        return f"{self.categories[index]!r} (class {index}{wnid})"

    def by_text(self, text: str) -> tuple[int | None, str, str]:
        """(index, how, reason) for a folder name or a mapping target."""
        text = text.strip()
        if self.wnids and _WNID.match(text.lower()):
            wnid = text.lower()
            if wnid in self.wnids:
                return self.wnids.index(wnid), "wnid", ""
            return None, "", f"{wnid} is not one of the 1000 ImageNet classes"
        found = self.by_name.get(normalize(text), [])
        if len(found) == 1:
            return found[0], "name", ""
        if len(found) > 1:
            options = " or ".join(self.describe(i) for i in found)
            how = "name it by its WordNet ID or " if self.wnids else ""
            return None, "", f"the name fits several classes: {options}; {how}use a mapping file"
        close = difflib.get_close_matches(normalize(text), list(self.by_name), n=3, cutoff=0.75)
        hint = ""
        if close:
            names = ", ".join(repr(self.categories[self.by_name[c][0]]) for c in close)
            hint = f" (similar class names: {names})"
        return None, "", f"matches no class of this model{hint}"

    def by_target(self, target: str) -> tuple[int | None, str]:
        """A mapping file's class column: a class index, a WordNet ID or a class name."""
        text = target.strip()
        if text.isdigit():
            number = int(text)
            if number < len(self.categories):
                return number, ""
            return None, f"class {number} does not exist (this model has {len(self.categories)} classes)"
        index, _how, reason = self.by_text(text)
        return index, reason


def is_imagenet(categories: Sequence[str], imagenet_categories: Sequence[str]) -> bool:
    """True when a model's classes are exactly torchvision's ImageNet-1k categories."""
    return len(categories) == 1000 and list(categories) == list(imagenet_categories)


def match_folders(
    folders: Sequence[str],
    categories: Sequence[str],
    *,
    imagenet: bool = False,
    mapping: Mapping[str, str] | None = None,
) -> LabelMatch:
    """Match each folder name to a class index of ``categories`` (see the module docstring)."""
    names = _Names(categories, imagenet)
    mapping = dict(mapping or {})
    by_folder = {normalize(k): (k, v) for k, v in mapping.items()}
    result = LabelMatch([])
    used: set[str] = set()
    for folder in folders:
        entry = mapping.get(folder) if folder in mapping else None
        key = folder
        if entry is None and normalize(folder) in by_folder:
            key, entry = by_folder[normalize(folder)]
        if entry is not None:
            used.add(key)
            index, reason = names.by_target(entry)
            if index is None:
                result.folders.append(FolderMatch(folder, None, "", f"the mapping says {entry!r}, but {reason}"))
            else:
                result.folders.append(FolderMatch(folder, index, "mapping"))
            continue
        index, how, reason = names.by_text(folder)
        result.folders.append(FolderMatch(folder, index, how, reason))
    for key in mapping:
        if key not in used:
            result.notes.append(f"The mapping names a folder {key!r} that is not in the labeled folder.")
    return result


def read_mapping(path: str | Path) -> dict[str, str]:
    """Read ``folder,class`` rows (a header row, blank lines and ``#`` comments are skipped).

    The class is a class name, a WordNet ID or a class index. Raises ``DatasetError`` naming the
    line of anything it cannot use.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"The mapping file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise DatasetError(f"The mapping file {path} is not UTF-8 text (save it as CSV, UTF-8).") from None
    except OSError as exc:
        raise DatasetError(f"The mapping file {path} cannot be read: {exc.strerror or exc}.") from None
    mapping: dict[str, str] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells[:2]] == ["folder", "class"]:
            continue
        if len(cells) != 2 or not cells[0] or not cells[1]:
            raise DatasetError(f"{path}, line {number}: expected two columns, folder,class; got {','.join(row)!r}")
        folder, target = cells
        if folder in mapping and mapping[folder] != target:
            raise DatasetError(
                f"{path}, line {number}: folder {folder!r} is mapped twice ({mapping[folder]!r} and {target!r})"
            )
        mapping[folder] = target
    if not mapping:
        raise DatasetError(f"The mapping file {path} has no folder,class rows.")
    return mapping
