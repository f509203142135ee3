"""Folder and file names that are safe on Linux, macOS and Windows, and numbered names for collisions.

A class label can be anything a model file says (``../evil``, ``a/b``, ``CON``, 300 characters, an
emoji); the folder it becomes must stay inside the destination, be creatable on every desktop file
system and never merge two classes by accident (``Cat`` and ``cat`` are one folder on macOS and
Windows). ``FolderNames`` hands out such names and remembers the mapping for the journal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

#: Longest folder name we create, in UTF-8 bytes (file systems allow 255; a numbered suffix needs room).
MAX_NAME_BYTES = 120
#: Characters Windows refuses in names, plus both separators; control characters are handled apart.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
# CON, PRN, AUX, NUL, COM0-9, LPT0-9 (and the superscript digits Windows also reserves), with or
# without an extension, in any case.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
EMPTY_NAME = "_unnamed"


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def safe_name(label: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``label`` as one path component every desktop OS accepts (never ``.``/``..``, never a separator)."""
    name = unicodedata.normalize("NFC", label)
    name = _FORBIDDEN.sub("_", name)
    name = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in name)
    name = name.strip(" ")
    # A leading dot hides the folder (and ``..`` climbs out); trailing dots and spaces vanish on Windows.
    name = re.sub(r"^\.+", lambda m: "_" * len(m.group()), name)
    name = _truncate_utf8(name, max_bytes).rstrip(". ")
    if not name:
        return EMPTY_NAME
    if _RESERVED.match(name):
        name = f"{name}_"
    return name


def collision_key(name: str) -> str:
    """Names that are the same file on a case-insensitive or normalising file system share a key."""
    return unicodedata.normalize("NFC", name).casefold()


def numbered(name: str, n: int) -> str:
    """``photo.jpg`` -> ``photo (2).jpg``; ``archive.tar.gz`` keeps only its last suffix apart."""
    path = Path(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    return f"{stem} ({n}){suffix}"


class FolderNames:
    """One distinct safe folder per label, stable for a given set of labels (assigned in sorted order)."""

    def __init__(self, labels: Iterable[str], reserved: Iterable[str] = ()) -> None:
        self.mapping: dict[str, str] = {}
        taken = {collision_key(name) for name in reserved}
        for label in sorted(set(labels)):
            base = safe_name(label)
            name, n = base, 1
            while collision_key(name) in taken:
                n += 1
                name = f"{base} ({n})"
            taken.add(collision_key(name))
            self.mapping[label] = name

    def __getitem__(self, label: str) -> str:
        return self.mapping[label]
