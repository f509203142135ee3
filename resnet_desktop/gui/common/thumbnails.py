"""Thumbnails and previews decoded off the GUI thread, cached with a size bound.

``QImageReader.setScaledSize`` lets JPEG decode at reduced scale, so a thumbnail of a 12-MP
photo costs a fraction of a full decode. Decoding runs as background tasks (two threads); the GUI thread
only turns the finished ``QImage`` into a ``QPixmap`` and keeps it in a byte-bounded LRU.

With a ``DiskThumbnailCache`` a decoded thumbnail is also kept on disk (the grid's 100,000 photos are
decoded once, not per visit). A view that scrolls calls ``drop_queued()`` (decodes asked for by rows
that scrolled away are forgotten, so the photos on screen come first) and ``hold()`` (no decoding
while the scrolling goes on: the GUI thread keeps the GIL to itself and paints).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Generator

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from resnet_desktop.gui.common.qt_messages import decoding
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.common.thumb_cache import DiskThumbnailCache

logger = logging.getLogger(__name__)

THUMB_SIZE = 48
#: Larger images get no thumbnail (Qt would refuse or spend seconds on them); the core still classifies them.
MAX_THUMB_SOURCE_PIXELS = 100_000_000
#: Bytes of pixmaps kept; ~48x48x4 bytes each, so thousands of thumbnails.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


def read_scaled(path: str, max_side: int) -> tuple[QImage, str | None]:
    """Decode ``path`` no larger than ``max_side`` (EXIF orientation applied); (null image, reason) on failure."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_THUMB_SOURCE_PIXELS:
        return QImage(), f"{size.width()}x{size.height()} is too large to preview"
    if size.isValid() and (size.width() > max_side or size.height() > max_side):
        reader.setScaledSize(size.scaled(QSize(max_side, max_side), Qt.AspectRatioMode.KeepAspectRatio))
    with decoding(path):  # libjpeg's "Corrupt JPEG data" is then said with this file's name
        image = reader.read()
    if image.isNull():
        return QImage(), reader.errorString()
    if image.width() > max_side or image.height() > max_side:  # formats that ignore setScaledSize
        image = image.scaled(
            max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return image, None


def _decode(path: str, max_side: int, disk: DiskThumbnailCache | None = None) -> QImage:
    if disk is not None:
        cached = disk.get(path, max_side)
        if cached is not None:
            return cached
    image, reason = read_scaled(path, max_side)
    if reason:
        logger.debug("No thumbnail for %s: %s", path, reason)
    elif disk is not None:
        disk.put(path, max_side, image)
    return image


class PixmapLRU:
    """A least-recently-used pixmap cache bounded by total bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()

    @staticmethod
    def _cost(pixmap: QPixmap) -> int:
        return max(1, pixmap.width() * pixmap.height() * 4)

    def get(self, key: tuple[str, int]) -> QPixmap | None:
        pixmap = self._items.get(key)
        if pixmap is not None:
            self._items.move_to_end(key)
        return pixmap

    def put(self, key: tuple[str, int], pixmap: QPixmap) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= self._cost(old)
        self._items[key] = pixmap
        self.bytes += self._cost(pixmap)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _key, evicted = self._items.popitem(last=False)
            self.bytes -= self._cost(evicted)

    def __len__(self) -> int:
        return len(self._items)


#: Decodes waiting at most; older requests are dropped first (their rows scrolled away long ago).
MAX_QUEUED = 512
#: How often an idle decode thread looks up from its wait (to end promptly at shutdown).
IDLE_WAIT_S = 0.25
#: A decode thread with nothing to do for this long ends (the next request starts one again), so a
#: loader nobody shut down never keeps the process from exiting.
IDLE_EXIT_S = 2.0

Key = tuple[str, int]


class ThumbnailLoader(QObject):
    """Ask for ``pixmap(path, size)``; ``ready(path, size)`` fires when a missing one is decoded.

    Requests wait on a stack served newest first by long-lived decode tasks (one ``TaskRunner``
    stream per thread), so asking costs the GUI thread an append, and the rows painted last (the
    ones on screen now) are decoded first.
    """

    ready = Signal(str, int)

    def __init__(
        self,
        parent: QObject | None = None,
        max_bytes: int = DEFAULT_CACHE_BYTES,
        *,
        disk: DiskThumbnailCache | None = None,
        threads: int = 2,
    ) -> None:
        super().__init__(parent)
        self.cache = PixmapLRU(max_bytes)
        self.disk = disk
        self._threads = threads
        self._tasks = TaskRunner(self, max_threads=threads, name="thumbnails")
        self._pending: set[Key] = set()  # asked for, not delivered (GUI thread only)
        self._failed: set[Key] = set()
        self._stack: deque[Key] = deque()  # shared with the decode threads, under ``_wake``
        self._wake = threading.Condition()
        self._workers = 0  # decode threads serving the stack (under ``_wake``)
        self._closed = False
        self._hold_until = 0.0  # monotonic time before which the decode threads wait (``hold``)

    def pixmap(self, path: str, size: int = THUMB_SIZE) -> QPixmap | None:
        """The cached pixmap, or ``None`` after queuing a decode (``ready`` follows)."""
        key = (path, size)
        cached = self.cache.get(key)
        if cached is not None or key in self._failed:
            return cached
        if key not in self._pending and not self._closed:
            self._pending.add(key)
            dropped: Key | None = None
            with self._wake:
                self._stack.append(key)
                if len(self._stack) > MAX_QUEUED:
                    dropped = self._stack.popleft()
                self._wake.notify()
                start = min(self._threads - self._workers, len(self._stack))
                self._workers += max(0, start)
            if dropped is not None:
                self._pending.discard(dropped)
            for _ in range(start):
                self._tasks.stream(self._serve, name="thumbnails", on_yielded=self._on_done)
        return None

    def _serve(self, ctx: TaskContext) -> Generator[tuple[str, int, QImage], None, None]:
        """One decode thread: the newest request first, until the loader shuts down or it has had
        nothing to do for ``IDLE_EXIT_S``."""
        idle_since = time.monotonic()
        while True:
            with self._wake:
                now = time.monotonic()
                if ctx.cancelled or (not self._stack and now - idle_since > IDLE_EXIT_S):
                    self._workers -= 1
                    return
                held = self._hold_until - now
                if held > 0 or not self._stack:
                    self._wake.wait(min(IDLE_WAIT_S, held) if held > 0 else IDLE_WAIT_S)
                    continue
                path, size = self._stack.pop()
                idle_since = now
            try:
                image = _decode(path, size, self.disk)
            except Exception:  # one photo's failure never ends the thread
                logger.warning("Thumbnail of %s failed", path, exc_info=True)
                image = QImage()
            yield path, size, image

    def hold(self, seconds: float = 0.08) -> None:
        """Decode nothing new for ``seconds`` (a view calls this on every scroll step). While a person
        flicks through thousands of photos, decode threads running Python would take the GIL from the
        GUI thread at every Qt call it makes (a cell costs ~15): paint first, decode when it settles."""
        self._hold_until = time.monotonic() + seconds

    def drop_queued(self, size: int | None = None) -> None:
        """Forget every decode asked for (at ``size``, or any) that has not started: rows scrolled out
        of sight ask again when they are painted again; other views' requests are kept."""
        with self._wake:
            dropped = [key for key in self._stack if size is None or key[1] == size]
            if size is None:
                self._stack.clear()
            else:
                kept = [key for key in self._stack if key[1] != size]
                self._stack.clear()
                self._stack.extend(kept)
        self._pending.difference_update(dropped)

    @property
    def queued(self) -> int:
        """Decodes asked for and not delivered yet."""
        return len(self._pending)

    def failed(self, path: str, size: int = THUMB_SIZE) -> bool:
        """Whether decoding ``path`` was tried and failed (so no ``ready`` will come)."""
        return (path, size) in self._failed

    def _on_done(self, item: tuple[str, int, QImage]) -> None:
        path, size, image = item
        key = (path, size)
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self.cache.put(key, QPixmap.fromImage(image))
        self.ready.emit(path, size)

    def shutdown(self) -> None:
        """Drop queued decodes and wait for running ones (called before the app quits)."""
        self._closed = True
        self.drop_queued()
        self._tasks.cancel_all()
        with self._wake:
            self._wake.notify_all()
        self._tasks.shutdown()
