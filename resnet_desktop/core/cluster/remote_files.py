"""Photos behind a URI (``s3://``, ``gs://``, ``hdfs://``, ``file://``): listed and read with pyarrow's
file systems, the ones Ray Data uses, so workers need no shared mount.

Listing follows ``images.discover``'s rules (hidden names, OS litter and clearly non-image suffixes
are skipped; sorted case-insensitively). A worker copies each file to a local temp file and decodes
it with the project's decoder, so the error text is the local one; a file that cannot be fetched
is one error row with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from resnet_desktop.core.images import NON_IMAGE_SUFFIXES, SKIPPED_NAMES

#: Bytes read per call while copying a remote file.
CHUNK = 4 * 2**20


def is_uri(path: str | os.PathLike[str]) -> bool:
    text = str(path)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isidentifier()


def _filesystem(uri: str) -> tuple[Any, str, str]:
    """(file system, path inside it, ``scheme://``)."""
    import pyarrow.fs as pafs

    fs, inner = pafs.FileSystem.from_uri(uri)
    return fs, inner, uri.partition("://")[0] + "://"


def _wanted(inner: str, root: str) -> bool:
    relative = PurePosixPath(inner).relative_to(root) if inner.startswith(root) else PurePosixPath(inner)
    if any(part.startswith(".") for part in relative.parts):
        return False
    name = relative.name
    return name.casefold() not in SKIPPED_NAMES and PurePosixPath(name).suffix.lower() not in NON_IMAGE_SUFFIXES


def list_uri(uri: str) -> Iterator[str]:
    """The image files under ``uri`` (a folder, recursively) or ``uri`` itself (a file, or missing)."""
    import pyarrow.fs as pafs

    try:
        fs, inner, prefix = _filesystem(uri)
        info = fs.get_file_info(inner)
    except (OSError, ValueError, ImportError):
        yield uri  # reported per file by the worker ("file not found", "could not read")
        return
    if info.type != pafs.FileType.Directory:
        yield uri
        return
    root = inner.rstrip("/")
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = [f.path for f in found if f.type == pafs.FileType.File and _wanted(f.path, root)]
    for path in sorted(files, key=lambda p: (p.casefold(), p)):
        yield prefix + path


def fetch(uri: str, folder: Path, index: int) -> tuple[Path | None, str | None]:
    """Copy ``uri`` into ``folder``; (local path, None) or (None, the reason it could not be read)."""
    suffix = PurePosixPath(uri).suffix
    local = folder / f"{index:06d}{suffix}"
    try:
        fs, inner, _ = _filesystem(uri)
        with fs.open_input_stream(inner) as source, open(local, "wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
    except FileNotFoundError:
        return None, "file not found"
    except PermissionError:
        return None, "permission denied (cannot read the file)"
    except (OSError, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "not found" in text.lower() or "does not exist" in text.lower():
            return None, "file not found"
        if "is a directory" in text.lower() or "cannot open for reading" in text.lower():
            return None, "is a folder, not an image file"
        return None, f"could not read the file ({text[:160]})"
    return local, None
