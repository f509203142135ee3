"""Thumbnails kept on disk between runs, so a library of 100,000 photos is decoded once, not per visit.

A thumbnail is found by what it shows: the photo's path, its size and modification time (an edited
photo gets a new thumbnail) and the side it was made for. Files live in the user cache folder
(``platformdirs``), spread over 256 sub-folders so no folder grows huge, each written through
``core.atomic`` (a crash never leaves half a thumbnail under a real name). The folder is bounded:
when it grows past ``max_bytes`` the least recently used files go until it is at 80 % again.

Everything here runs on the thumbnail worker threads (``QImage`` is safe off the GUI thread);
a cache that cannot be written (read-only home, full disk) only costs speed, never a thumbnail.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import OutputError

logger = logging.getLogger(__name__)

#: Enough for ~100,000 photos at the grid's size (a 128-px JPEG thumbnail is ~3-6 KB).
DEFAULT_DISK_BYTES = 512 * 1024 * 1024
#: A file read again is marked "recently used" at most this often (one ``utime`` per hit is wasteful).
TOUCH_EVERY_S = 3600.0
SUFFIX = ".thumb"


def default_folder() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("resnet-desktop", appauthor=False) / "thumbnails"


class DiskThumbnailCache:
    """``get(path, side)`` / ``put(path, side, image)``; safe to call from several threads."""

    def __init__(self, folder: Path | None = None, max_bytes: int = DEFAULT_DISK_BYTES) -> None:
        self.folder = folder if folder is not None else default_folder()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes: int | None = None  # counted on the first write, then kept up to date
        self._disabled = False

    # -- keys ----------------------------------------------------------------------------------

    def file_for(self, path: str, side: int) -> Path | None:
        """Where the thumbnail of ``path`` at ``side`` lives (None: the photo cannot be looked at)."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = f"{os.path.abspath(path)}\0{info.st_size}\0{info.st_mtime_ns}\0{side}"
        digest = hashlib.sha1(key.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()
        return self.folder / digest[:2] / f"{digest}{SUFFIX}"

    # -- reading and writing -------------------------------------------------------------------

    def get(self, path: str, side: int) -> QImage | None:
        file = self.file_for(path, side)
        if file is None:
            return None
        try:
            data = file.read_bytes()
        except OSError:
            return None
        image = QImage()
        if not image.loadFromData(data):
            return None  # a damaged cache file: decoded again and overwritten
        try:
            if time.time() - file.stat().st_mtime > TOUCH_EVERY_S:
                os.utime(file)
        except OSError:
            pass
        return image

    def put(self, path: str, side: int, image: QImage) -> None:
        if self._disabled or image.isNull():
            return
        file = self.file_for(path, side)
        if file is None:
            return
        data = encode(image)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(file, data, overwrite=True)
        except (OSError, OutputError) as exc:
            self._disabled = True  # once: a read-only or full cache folder is not retried per photo
            logger.info("Thumbnails are not cached on disk: %s", exc)
            return
        with self._lock:
            if self._bytes is None:
                self._bytes = self._count()
            else:
                self._bytes += len(data)
            over = self._bytes > self.max_bytes
        if over:
            self.prune()

    # -- the bound -------------------------------------------------------------------------------

    @property
    def bytes(self) -> int:
        with self._lock:
            if self._bytes is None:
                self._bytes = self._count()
            return self._bytes

    def _files(self) -> list[tuple[float, int, Path]]:
        found: list[tuple[float, int, Path]] = []
        try:
            shards = list(os.scandir(self.folder))
        except OSError:
            return found
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False):
                continue
            try:
                entries = list(os.scandir(shard.path))
            except OSError:
                continue
            for entry in entries:
                if entry.name.endswith(SUFFIX):
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    found.append((info.st_mtime, info.st_size, Path(entry.path)))
        return found

    def _count(self) -> int:
        return sum(size for _mtime, size, _path in self._files())

    def prune(self) -> int:
        """Remove the least recently used thumbnails until the folder is at 80 % of its bound; bytes freed."""
        files = sorted(self._files())
        total = sum(size for _mtime, size, _path in files)
        target = int(self.max_bytes * 0.8)
        freed = 0
        for _mtime, size, file in files:
            if total - freed <= target:
                break
            try:
                file.unlink()
            except OSError:
                continue
            freed += size
        with self._lock:
            self._bytes = total - freed
        return freed


def encode(image: QImage) -> bytes:
    """JPEG for photos (small), PNG where there is transparency to keep."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.12 takes the format as str at run time (its stubs say bytes, which it refuses)
    if image.hasAlphaChannel():
        image.save(buffer, "PNG")  # type: ignore[call-overload]
    else:
        image.save(buffer, "JPEG", 88)  # type: ignore[call-overload]
    data: QByteArray = buffer.data()
    return bytes(data.data())
