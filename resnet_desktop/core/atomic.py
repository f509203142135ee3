"""The one way we write a file: a temp file in the target folder, flushed and fsynced, then renamed.

A reader never sees a half-written file, a crash leaves the old file (or nothing) in place, and
an existing file is never replaced unless the caller says so. Details that matter:

- Permissions are those of any file the user creates (``0o666`` minus the umask), not the
  ``0o600`` of ``tempfile.mkstemp``; a replaced file keeps its own mode.
- Without ``overwrite`` the name is claimed atomically: the temp file is hard-linked into place
  (which fails if the name exists, even if it appeared a moment ago). File systems without hard
  links (FAT, some network shares) claim the name with ``O_EXCL`` and then rename over the claim.
- A symbolic link is followed: its target is written, the link stays. A target that exists and
  is not a regular file (``/dev/null``, ``/dev/stdout``, a FIFO) is written through directly, never
  renamed over; a folder is refused.
- Text is written with ``surrogateescape``: a file name that is not valid UTF-8 (which Python
  holds as lone surrogates) is written as its original bytes instead of failing the whole file.
- ``ENOSPC``, ``EROFS``, ``EACCES`` and friends become one ``OutputError`` with a plain message,
  and no temp file is left behind.
"""

from __future__ import annotations

import errno
import glob
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from resnet_desktop.core.errors import OutputError

#: Our temp files are ``.<name>.<token>.partial`` next to the target (hidden, recognisable).
TEMP_SUFFIX = ".partial"
#: A temp file of ours without a writer's process id in its name is stale after this long.
STALE_AFTER_S = 24 * 3600
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "the folder does not exist",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EISDIR: "it is a folder",
}


# Temp files and scratch folders this process is writing right now. A process that must end at once
# (the app closed while a model loads or quantizes: ``os._exit`` skips every ``finally``) removes them
# first with ``remove_in_progress``, so nothing half-written is left on disk.
_in_progress: set[Path] = set()
_in_progress_lock = threading.Lock()


def _track(path: Path) -> None:
    with _in_progress_lock:
        _in_progress.add(path)


def _untrack(path: Path | None) -> None:
    if path is not None:
        with _in_progress_lock:
            _in_progress.discard(path)


def in_progress() -> list[Path]:
    """The temp files and scratch folders being written now (by any thread of this process)."""
    with _in_progress_lock:
        return sorted(_in_progress)


def remove_in_progress() -> list[Path]:
    """Delete every temp file and scratch folder still being written; returns what was removed.

    Only for a process about to end without unwinding: the writers' own clean-up will not run."""
    with _in_progress_lock:
        paths = sorted(_in_progress)
        _in_progress.clear()
    removed = []
    for path in paths:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
        except OSError:
            continue
    return removed


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder for intermediate files, removed afterwards (and by ``remove_in_progress``)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        folder = Path(name)
        _track(folder)
        try:
            yield folder
        finally:
            _untrack(folder)


def reason(exc: OSError) -> str:
    """A plain reason for a failed write ('the disk is full')."""
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def exists_message(path: Path) -> str:
    return f"{path} already exists; choose another name or allow replacing it"


def resolve_target(path: str | os.PathLike[str]) -> Path:
    """The file that will really be written: symbolic links followed (the link itself stays)."""
    target = Path(path).expanduser()
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    return target


def _is_inside(child: str, folder: str) -> bool:
    return child != folder and child.startswith(folder.rstrip(os.sep) + os.sep)


def check_not_input(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse an output that is one of ``inputs`` or lies inside an input folder being read.

    Symbolic links and ``..`` are resolved on both sides, and an existing output that is the same
    file as an input under another name (a hard link) is caught too. A device or FIFO output
    (``/dev/stdout``) is never an input's file, so it always passes.
    """
    out = os.path.realpath(Path(path).expanduser())
    try:
        out_st: os.stat_result | None = os.stat(out)
    except OSError:
        out_st = None
    if out_st is not None and not (stat.S_ISREG(out_st.st_mode) or stat.S_ISDIR(out_st.st_mode)):
        return
    for raw in inputs:
        source = os.path.realpath(Path(raw).expanduser())
        same = out == source
        if not same and out_st is not None:
            try:
                same = os.path.samefile(out, source)
            except OSError:
                same = False
        if same:
            raise OutputError(
                f"Cannot write {path}: it is one of the inputs ({raw}) and would be destroyed; "
                f"choose another output file"
            )
        if os.path.isdir(source) and _is_inside(out, source):
            raise OutputError(
                f"Cannot write {path}: it is inside the input folder {raw}, which is being read; "
                f"write it outside that folder"
            )


def check_writable(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Refuse early (before any long work) a path that cannot be written; return the real target.

    An existing device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written through
    and never replaced, so it needs no ``overwrite``; a socket or a folder is refused.
    """
    target = resolve_target(path)
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {reason(exc)}") from exc
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"Cannot write {path}: it is a folder; give a file name")
        if stat.S_ISSOCK(st.st_mode):
            raise OutputError(f"Cannot write {path}: it is a socket, not a file")
        if not stat.S_ISREG(st.st_mode):
            return target  # written through (a device or FIFO), no temp file needed
        if not overwrite:
            raise OutputError(exists_message(Path(path)))
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"Cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "the folder is on a read-only file system" if _read_only(folder) else "permission denied"
        raise OutputError(f"Cannot write {path}: {why}")
    _probe(folder, path)
    return target


def _probe(folder: Path, path: str | os.PathLike[str]) -> None:
    """Create and remove a temp file: the only sure test (``os.access`` says yes to root on a
    read-only mount or in /sys, and knows nothing of quotas or ACLs)."""
    probe = folder / f".{Path(path).name[:180]}.{os.getpid()}-probe{TEMP_SUFFIX}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another call of ours is probing this very name right now: the folder is writable
    except OSError as exc:
        why = "the folder is on a read-only file system" if _read_only(folder) else reason(exc)
        raise OutputError(f"Cannot write {path}: {why}") from exc
    os.close(fd)
    try:
        probe.unlink()
    except OSError:
        pass


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: leave its file alone
    return True


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Delete our own temp files for ``target`` left by a writer that was killed; return them.

    A temp file is stale when the process that wrote it is gone, or (names without a process id)
    when it is older than ``STALE_AFTER_S``. Only names we create (``.<name>.*.partial``) are touched.
    """
    target = Path(target)
    removed: list[Path] = []
    prefix = f".{target.name[:180]}."
    try:
        candidates = [p for p in target.parent.glob(f"{glob.escape(prefix)}*{TEMP_SUFFIX}")]
    except OSError:
        return removed
    now = time.time()
    for temp in candidates:
        token = temp.name[len(prefix) : -len(TEMP_SUFFIX)]
        pid_text, dash, _rest = token.partition("-")
        try:
            if dash and pid_text.isdigit():
                stale = not _writer_alive(int(pid_text))
            else:
                stale = now - temp.lstat().st_mtime > STALE_AFTER_S
            if stale and temp.is_file() and not temp.is_symlink():
                temp.unlink()
                removed.append(temp)
        except OSError:
            continue
    return removed


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows, or a folder we may not open: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFile:
    """A file being written: ``stream`` is its handle; ``commit()`` publishes it, ``discard()`` drops it.

    As a context manager it commits when the block ends normally and discards on an exception.
    ``text=True`` gives a text stream (``encoding``, ``newline`` as for ``open``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        text: bool = False,
        encoding: str = "utf-8",
        newline: str | None = None,
        errors: str | None = "surrogateescape",
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.target = check_writable(path, overwrite=overwrite)
        self.temp: Path | None = None
        self._through = self.target.exists() and not self.target.is_file()
        try:
            if self._through:
                fd = os.open(self.target, os.O_WRONLY)
            else:
                fd, self.temp = self._create_temp()
            mode = "w" if text else "wb"
            kwargs: dict[str, Any] = {"encoding": encoding, "newline": newline, "errors": errors} if text else {}
            self.stream: IO[Any] = os.fdopen(fd, mode, **kwargs)
        except OSError as exc:
            self._remove_temp()
            raise OutputError(f"Cannot write {self.path}: {reason(exc)}") from exc
        self._done = False

    def _create_temp(self) -> tuple[int, Path]:
        folder, name = self.target.parent, self.target.name
        mode = 0o666
        if self.overwrite and self.target.is_file():
            mode = stat.S_IMODE(self.target.stat().st_mode)
        remove_stale_temps(self.target)
        for _ in range(100):
            # The writer's process id is in the name, so a later write can tell a crash's leftovers
            # (a dead process) from another writer's file in progress.
            temp = folder / f".{name[:180]}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
            except FileExistsError:
                continue
            _track(temp)
            if mode != 0o666:
                os.chmod(temp, mode)  # keep a replaced file's own mode exactly (the umask would narrow it)
            return fd, temp
        raise OutputError(f"Cannot write {self.path}: could not create a temporary file in {folder}")

    def _remove_temp(self) -> None:
        if self.temp is not None:
            try:
                self.temp.unlink()
            except OSError:
                pass
            _untrack(self.temp)
            self.temp = None

    def flush(self) -> None:
        """Everything written so far reaches the disk (``fsync``); the file is not published yet."""
        self.stream.flush()
        if not self._through:
            os.fsync(self.stream.fileno())

    def commit(self) -> Path:
        """Publish the file under its name (atomically) and return the path written."""
        if self._done:
            return self.target
        try:
            self.flush()
            self.stream.close()
            if not self._through:
                self._publish()
        except OSError as exc:
            self.discard()
            raise OutputError(f"Cannot write {self.path}: {reason(exc)}") from exc
        except BaseException:
            self.discard()
            raise
        self._done = True
        return self.target

    def _publish(self) -> None:
        assert self.temp is not None
        temp, target = self.temp, self.target
        if self.overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)  # fails if the name exists, however recently it appeared
            except FileExistsError:
                raise OutputError(exists_message(self.path)) from None
            except OSError as exc:
                if exc.errno not in _NO_LINK_ERRNOS:
                    raise
                self._claim_and_rename()
            else:
                temp.unlink()
        _untrack(temp)
        self.temp = None
        _fsync_folder(target.parent)

    def _claim_and_rename(self) -> None:
        """No hard links here: claim the name with O_EXCL, then rename the temp file over our claim."""
        assert self.temp is not None
        try:
            os.close(os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise OutputError(exists_message(self.path)) from None
        try:
            os.replace(self.temp, self.target)
        except BaseException:
            self.target.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        """Drop what was written; the target is left as it was."""
        if self._done:
            return
        self._done = True
        try:
            self.stream.close()
        except OSError:
            pass
        self._remove_temp()

    def __enter__(self) -> AtomicFile:
        return self

    def write_error(self, exc: OSError) -> OutputError:
        """Drop the partial file and describe a failed write ('Cannot write x: the disk is full')."""
        self.discard()
        return OutputError(f"Cannot write {self.path}: {reason(exc)}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, *_rest: object) -> None:
        if kind is None:
            self.commit()
        elif isinstance(error, OSError):  # a write failed half-way (disk full): one plain error
            raise self.write_error(error) from error
        else:
            self.discard()


def write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with AtomicFile(path, overwrite=overwrite) as out:
        out.stream.write(data)
    return out.target


def write_text(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = False, encoding: str = "utf-8", newline: str = ""
) -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation unless ``newline`` asks)."""
    with AtomicFile(path, overwrite=overwrite, text=True, encoding=encoding, newline=newline) as out:
        out.stream.write(text)
    return out.target


def write_with(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], object], *, overwrite: bool = False) -> Path:
    """Write ``path`` atomically by calling ``writer(binary_stream)`` (e.g. ``image.save(fh, "PNG")``)."""
    with AtomicFile(path, overwrite=overwrite) as out:
        writer(out.stream)
    return out.target


@contextmanager
def atomic_group(*files: AtomicFile) -> Iterator[tuple[AtomicFile, ...]]:
    """Several files published together: all written and fsynced first, then renamed in the order
    given (so the last one, e.g. a sidecar, marks the set complete); on any failure none is kept
    that was not there before."""
    try:
        yield files
        for item in files:
            item.flush()
    except BaseException:
        for item in files:
            item.discard()
        raise
    published: list[AtomicFile] = []
    try:
        for item in files:
            item.commit()
            published.append(item)
    except BaseException:
        for item in files:
            item.discard()
        for item in published:
            if not item.overwrite and not item._through:
                item.target.unlink(missing_ok=True)  # we created it a moment ago: take it back
        raise
