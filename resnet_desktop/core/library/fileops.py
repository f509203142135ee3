"""File operations that never replace an existing file: rename, copy, hard link, symbolic link.

- A rename on Linux is ``renameat2(RENAME_NOREPLACE)``: atomic, so a killed move leaves the photo in
  exactly one of its two places, and a name that appeared a moment ago is never overwritten. Where
  that call is missing, a hard link plus unlink does the same without replacing (for a moment the
  photo has both names, which ``--resume`` and ``--undo`` sort out); Windows' rename never replaces.
- A copy goes through ``core.atomic.AtomicFile`` (temp file, fsync, published without clobbering)
  and keeps the source's timestamps and mode. A move to another file system is a copy, a check of
  size and content hash (for files up to ``HASH_LIMIT``), then removing the source.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from resnet_desktop.core.atomic import TEMP_SUFFIX, AtomicFile
from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.library.journal_records import FingerprintRecord

#: Files up to this size are hashed when a copy is checked (bigger ones: size and timestamps only).
HASH_LIMIT = 256 * 2**20
_CHUNK = 1 << 20
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
#: Errors after which no further operation on the destination can succeed.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


@dataclass(frozen=True)
class Fingerprint:
    """What a file looked like: size, modification time and (when computed) its SHA-256."""

    size: int
    mtime_ns: int
    sha256: str | None = None

    def to_dict(self) -> FingerprintRecord:
        data: FingerprintRecord = {"size": self.size, "mtime_ns": self.mtime_ns}
        if self.sha256 is not None:
            data["sha256"] = self.sha256
        return data

    @classmethod
    def from_dict(cls, data: FingerprintRecord) -> Fingerprint:
        sha = data.get("sha256")
        return cls(int(data["size"]), int(data["mtime_ns"]), str(sha) if sha else None)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: Path, *, with_hash: bool = False) -> Fingerprint:
    """Stat ``path`` (not following a final symbolic link) and hash it if asked and small enough."""
    st = os.lstat(path)
    sha = sha256_file(path) if with_hash and st.st_size <= HASH_LIMIT else None
    return Fingerprint(st.st_size, st.st_mtime_ns, sha)


def unchanged(path: Path, expected: Fingerprint) -> bool:
    """Whether ``path`` is still the file ``expected`` describes (its hash checked when we have one)."""
    try:
        now = fingerprint(path)
    except OSError:
        return False
    if (now.size, now.mtime_ns) != (expected.size, expected.mtime_ns):
        return False
    return expected.sha256 is None or sha256_file(path) == expected.sha256


def fatal(exc: BaseException) -> bool:
    """A disk-full or read-only error: the whole destination is unusable, not just one file."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, OSError) and current.errno in FATAL_ERRNOS:
            return True
        current = current.__cause__
    return False


# -- rename ----------------------------------------------------------------------------------


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()


def rename_no_replace(source: Path, destination: Path) -> None:
    """Rename without ever replacing: ``FileExistsError`` if taken, ``OSError(EXDEV)`` across file systems."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a file system without the flag
            raise OSError(code, os.strerror(code), str(source), None, str(destination))
    if sys.platform == "win32":
        os.rename(source, destination)  # never replaces on Windows
        return
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS):
            raise
        # No hard links here (FAT, some shares): check, then rename (the one racy fallback).
        if os.path.lexists(destination):
            raise FileExistsError(errno.EEXIST, "File exists", str(destination)) from None
        os.rename(source, destination)
        return
    os.unlink(source)


# -- copy ------------------------------------------------------------------------------------


def copy_file(source: Path, destination: Path) -> Fingerprint:
    """Copy atomically without replacing; returns the copy's fingerprint (hashed while copying).

    Raises ``FileExistsError`` if ``destination`` is taken, ``OSError`` for the source, ``OutputError``
    for the destination (with the ``OSError`` as its cause).
    """
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "File exists", str(destination))
    digest = hashlib.sha256()
    with open(source, "rb") as src:
        try:
            out = AtomicFile(destination)
        except OutputError:
            if os.path.lexists(destination):
                raise FileExistsError(errno.EEXIST, "File exists", str(destination)) from None
            raise
        try:
            _copy_stream(src, out.stream, digest)
            out.stream.flush()  # all bytes in the file before its timestamps are set (commit fsyncs)
            if out.temp is not None:
                shutil.copystat(source, out.temp)  # timestamps and mode, like shutil.copy2
            out.commit()
        except OutputError:
            out.discard()
            if os.path.lexists(destination) and not _is_ours(destination, digest):
                raise FileExistsError(errno.EEXIST, "File exists", str(destination)) from None
            raise
        except BaseException:
            out.discard()
            raise
    st = os.lstat(destination)
    return Fingerprint(st.st_size, st.st_mtime_ns, digest.hexdigest())


def _is_ours(path: Path, digest: Any) -> bool:
    try:
        return sha256_file(path) == digest.hexdigest()
    except OSError:
        return False


def _copy_stream(src: BinaryIO, dst: IO[Any], digest: Any) -> None:
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        dst.write(chunk)


def verify_copy(copy: Path, source_size: int, written: Fingerprint) -> None:
    """Read the copy back: its size, and its hash when small enough. Raises ``OutputError`` if they differ."""
    st = os.stat(copy)
    if st.st_size != source_size:
        raise OutputError(f"{copy}: the copy has {st.st_size} bytes, the original {source_size}; the original was kept")
    if written.sha256 is not None and st.st_size <= HASH_LIMIT and sha256_file(copy) != written.sha256:
        raise OutputError(f"{copy}: the copy's content differs from the original; the original was kept")


def move_file(source: Path, destination: Path) -> str:
    """Move without replacing; returns ``"renamed"`` or ``"copied"`` (another file system).

    A copied move removes the source only after the copy is published and checked.
    """
    try:
        rename_no_replace(source, destination)
        return "renamed"
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    size = os.stat(source).st_size
    written = copy_file(source, destination)
    try:
        verify_copy(destination, size, written)
    except OutputError:
        destination.unlink(missing_ok=True)
        raise
    os.unlink(source)
    return "copied"


def remove_partials(destination: Path) -> None:
    """Remove the temp files a killed copy to ``destination`` left (``.<name>.<token>.partial``)."""
    folder = destination.parent
    try:
        entries = list(folder.glob(f".{glob.escape(destination.name[:180])}.*{TEMP_SUFFIX}"))
    except OSError:
        return
    for entry in entries:
        entry.unlink(missing_ok=True)


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
