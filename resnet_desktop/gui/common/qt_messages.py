"""Qt's own warnings about an image file, said with the file's name.

Qt's JPEG plugin passes libjpeg's complaints on as Qt warnings ("qt.gui.imageio.jpeg: Corrupt JPEG
data: premature end of data segment"), printed to the terminal without saying which file. While
``decoding(path)`` is active on a thread (thumbnails, the preview), such messages are logged as
``PATH: decoder warning: ...`` (once per file, at INFO: the log file, and the terminal with ``-v``),
as the core does for Pillow's; every other Qt message goes where it went before.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QMessageLogContext, QtMsgType, qFormatLogMessage, qInstallMessageHandler

logger = logging.getLogger("resnet_desktop.core.images")  # where the core's decoder warnings go
#: Qt's logging categories of its image decoders.
DECODER_CATEGORY = "qt.gui.imageio"

Handler = Callable[[QtMsgType, QMessageLogContext, str], None]
_decoding = threading.local()
_previous: list[Handler | None] = []


@contextmanager
def decoding(path: str) -> Iterator[None]:
    """While active, this thread's Qt decoder warnings are logged as being about ``path``."""
    _decoding.path, _decoding.seen = path, set()
    try:
        yield
    finally:
        _decoding.path = None


def _handle(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    category = context.category or ""
    if category.startswith(DECODER_CATEGORY) and kind in (QtMsgType.QtWarningMsg, QtMsgType.QtInfoMsg):
        path = getattr(_decoding, "path", None)
        if path is None:
            logger.info("decoder warning (file unknown): %s", message)
        elif message not in _decoding.seen:  # the same complaint twice about one file is said once
            _decoding.seen.add(message)
            logger.info("%s: decoder warning: %s", path, message)
        return
    previous = _previous[0] if _previous else None
    if previous is not None:
        previous(kind, context, message)
    else:  # Qt's default: the formatted message on stderr
        print(qFormatLogMessage(kind, context, message), file=sys.stderr)


def install() -> None:
    """Route Qt's decoder warnings through ``decoding`` (once, at start-up; others pass through)."""
    if not _previous:
        _previous.append(qInstallMessageHandler(_handle))
