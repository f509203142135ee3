"""Discover image files: turn dropped or typed files and folders into a lazy, stable stream of paths.

Nothing here opens a file: whatever cannot be looked at is yielded, so that ``open_image`` reports
it as one error row and the batch goes on.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Union

from resnet_desktop.core.images.formats import IMAGE_SUFFIXES, NON_IMAGE_SUFFIXES, SKIPPED_NAMES

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")

PathLike = Union[str, "os.PathLike[str]"]


def discover(paths: PathLike | Iterable[PathLike]) -> Iterator[Path]:
    """Expand files and folders into a lazy, stable stream of files to open.

    - Explicit arguments come out in the order given. An explicit file is always yielded, whatever
      its suffix (so ``notes.txt`` becomes an error row rather than vanishing). A path that does
      not exist (or cannot be looked at) is yielded too: ``open_image`` then reports why, and the
      batch goes on.
    - A directory given explicitly is always walked. Inside a folder, a subfolder named like an
      image (``x.jpg/``) is yielded, not walked, so ``open_image`` reports it as one error row.
      Inside a folder: files first, then subfolders, each sorted case-insensitively, depth first.
      Hidden entries (dot names), OS litter (``.DS_Store``, ``Thumbs.db``), files with a clearly
      non-image suffix (``NON_IMAGE_SUFFIXES``) and special files (FIFOs, sockets, devices, which
      would block or make no sense to read) are skipped silently. Every other file is yielded and
      reported by ``open_image`` if it fails, including broken symbolic links.
    - Directory symlinks are followed; each real directory (``st_dev``, ``st_ino``) is walked at
      most once per explicit argument, so symlink cycles terminate.
    - A folder that cannot be listed (permission denied, I/O error, removed while the walk was
      under way) is yielded itself, so that ``open_image`` turns it into one error row
      ("permission denied", "file not found") instead of the walk crashing or the folder silently
      disappearing. The walk goes on with the next folder.
    - Lazy: a folder is listed only when the walk reaches it, so the first file of a huge tree
      comes out before the rest of the tree has been read.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()
        except (OSError, ValueError):
            yield path
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, (st.st_dev, st.st_ino))
        else:
            yield path


def _walk(root: Path, root_key: tuple[int, int]) -> Iterator[Path]:
    """Depth-first walk with an explicit stack of pending subfolders (no recursion limit)."""
    visited: set[tuple[int, int]] = set()
    stack: list[Iterator[tuple[Path, tuple[int, int]]]] = [iter([(root, root_key)])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        folder, key = item
        if key in visited:
            logger.debug("Skipping %s: this folder was already walked (symlink loop or alias)", folder)
            continue
        visited.add(key)
        listed = _list_folder(folder)
        if listed is None:
            yield folder  # open_image reports why the folder cannot be read
            continue
        files, subfolders = listed
        yield from files
        stack.append(iter(subfolders))


def _sort_key(entry: os.DirEntry[str]) -> tuple[str, str]:
    return (entry.name.casefold(), entry.name)


def _list_folder(folder: Path) -> tuple[list[Path], list[tuple[Path, tuple[int, int]]]] | None:
    """One folder's image candidates and subfolders, sorted; ``None`` when it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=_sort_key)
    except OSError as exc:
        logger.warning("Cannot list folder %s: %s", folder, exc.strerror or exc)
        return None
    files: list[Path] = []
    subfolders: list[tuple[Path, tuple[int, int]]] = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.casefold() in SKIPPED_NAMES:
            continue
        path = folder / name
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if is_dir and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
            # A folder named like a photo ("x.jpg") is almost always a mistake: report it as one
            # error row rather than silently reading what is inside (given explicitly, it is walked).
            files.append(path)
            continue
        if is_dir:
            try:
                st = entry.stat()  # of the target, for cycle detection
            except OSError:
                files.append(path)  # vanished or unreadable: let open_image say so
                continue
            subfolders.append((path, (st.st_dev, st.st_ino)))
            continue
        if os.path.splitext(name)[1].lower() in NON_IMAGE_SUFFIXES:
            continue
        try:
            regular = entry.is_file()
            broken_link = not regular and entry.is_symlink() and not os.path.exists(path)
        except OSError:
            regular, broken_link = True, False
        if regular or broken_link:
            files.append(path)
        else:
            logger.debug("Skipping %s: not a regular file", path)
    return files, subfolders
