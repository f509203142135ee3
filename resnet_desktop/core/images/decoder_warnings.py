"""Decoder warnings logged under the name of the file being opened.

Pillow warns ("Corrupt EXIF data") from inside its decoders; while ``decoding(path)`` is active on a
thread, such warnings are logged once per file with that file's name instead of being printed
anonymously. Warnings raised outside it (or by other code) pass through unchanged.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from resnet_desktop.core.images.reasons import one_line

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")

# The file this thread is opening, so that warnings raised meanwhile (Pillow's "Corrupt EXIF
# data", from any decoder) are logged with that file's name instead of printed anonymously.
_decoding = threading.local()
_previous_showwarning = warnings.showwarning


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    path = getattr(_decoding, "path", None)
    if path is None:
        _previous_showwarning(message, category, filename, lineno, file, line)
        return
    text = one_line(Exception(str(message)))
    if text not in _decoding.seen:  # the same complaint twice about one file is said once
        _decoding.seen.add(text)
        logger.info("%s: decoder warning: %s", path, text)


# warnings.showwarning is documented as replaceable; others' warnings pass through unchanged.
warnings.showwarning = _showwarning


@contextmanager
def decoding(path: Path) -> Iterator[None]:
    """While active, this thread's decoder warnings are logged as being about ``path``."""
    _decoding.path, _decoding.seen = path, set()
    try:
        yield
    finally:
        _decoding.path = None
