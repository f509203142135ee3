"""Thumbnails and previews decoded off the GUI thread, cached with a size bound.

``QImageReader.setScaledSize`` lets JPEG decode at reduced scale, so a thumbnail of a 12-MP
photo costs a fraction of a full decode. Decoding runs as background tasks (two threads); the GUI thread
only turns the finished ``QImage`` into a ``QPixmap`` and keeps it in a byte-bounded LRU.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from resnet_desktop.gui.common.qt_messages import decoding
from resnet_desktop.gui.common.tasks import TaskRunner

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


def _decode(path: str, max_side: int) -> QImage:
    image, reason = read_scaled(path, max_side)
    if reason:
        logger.debug("No thumbnail for %s: %s", path, reason)
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


class ThumbnailLoader(QObject):
    """Ask for ``pixmap(path, size)``; ``ready(path, size)`` fires when a missing one is decoded."""

    ready = Signal(str, int)

    def __init__(self, parent: QObject | None = None, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(parent)
        self.cache = PixmapLRU(max_bytes)
        self._tasks = TaskRunner(self, max_threads=2, name="thumbnails")
        self._pending: set[tuple[str, int]] = set()
        self._failed: set[tuple[str, int]] = set()

    def pixmap(self, path: str, size: int = THUMB_SIZE) -> QPixmap | None:
        """The cached pixmap, or ``None`` after queuing a decode (``ready`` follows)."""
        key = (path, size)
        cached = self.cache.get(key)
        if cached is not None or key in self._failed:
            return cached
        if key not in self._pending:
            self._pending.add(key)
            self._tasks.submit(
                lambda _ctx: _decode(path, size),
                name="thumbnail",
                on_returned=lambda image: self._on_done(path, size, image),
                on_failed=lambda _exc: self._on_done(path, size, QImage()),
            )
        return None

    def failed(self, path: str, size: int = THUMB_SIZE) -> bool:
        """Whether decoding ``path`` was tried and failed (so no ``ready`` will come)."""
        return (path, size) in self._failed

    def _on_done(self, path: str, size: int, image: QImage) -> None:
        key = (path, size)
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self.cache.put(key, QPixmap.fromImage(image))
        self.ready.emit(path, size)

    def shutdown(self) -> None:
        """Drop queued decodes and wait for running ones (called before the app quits)."""
        self._tasks.shutdown()
