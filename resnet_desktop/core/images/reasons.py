"""Error-reason wording: one line a person can act on for any failure opening an image.

Pure text, no Pillow state: the constants are compared by callers and tests (``TRUNCATED``...),
``reason_for`` maps any exception raised while opening or decoding to one of them.
"""

from __future__ import annotations

import errno
import logging
import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")

HEIF_HINT = (
    "HEIC/HEIF needs the pillow-heif package, which this installation lacks: "
    "reinstall resnet-desktop (pip install --force-reinstall resnet-desktop)"
)
TRUNCATED = "truncated or incomplete image data"
NOT_AN_IMAGE = "not an image file (content is not a recognised image format)"
TOO_BIG_FOR_MEMORY = "too large to decode in memory"
FOLDER_REASON = "is a folder, not an image file (open it as a folder to classify what is inside)"


def reason_for(exc: BaseException, path: Path) -> str:
    """One human line for any failure while opening or decoding (never a traceback)."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(match.group(1)) if match else 0
        return bomb_reason(pixels, Image.MAX_IMAGE_PIXELS)
    if isinstance(exc, MemoryError):
        return TOO_BIG_FOR_MEMORY
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied (cannot read the file)"
    if isinstance(exc, IsADirectoryError):
        return FOLDER_REASON
    if isinstance(exc, UnidentifiedImageError):
        return NOT_AN_IMAGE
    message = one_line(exc)
    lowered = message.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "incomplete" in lowered:
        return TRUNCATED
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_reason(exc)
    if "decoder" in lowered and "not available" in lowered:
        return f"unsupported image format on this installation ({message})"
    if "cannot find loader" in lowered:
        return f"unsupported format ({getattr(exc, 'format', None) or 'no decoder for this file'})"
    code = re.search(r"(?:decoder|decoding) error(?: (-?\d+))?", lowered)
    if code is not None:
        detail = f", code {code.group(1)}" if code.group(1) else ""
        return f"corrupt image data (the decoder rejected the pixel data{detail})"
    logger.debug("%s: decoding failed", path, exc_info=exc)
    return f"corrupt image data ({message})" if message else "corrupt image data"


#: Reasons that describe the file's own bytes: the same bytes fail the same way on this installation.
_CONTENT_REASONS = (
    TRUNCATED,
    NOT_AN_IMAGE,
    "corrupt image data",
    "image too large to open safely",
    "unsupported format (",
)


def is_about_the_content(reason: str) -> bool:
    """Whether a failure is the file's own (it fails again until the file changes), not the machine's:
    a permission, a missing file, memory, or a decoder this installation lacks (HEIC without its plugin)
    can change without the file changing, so those are worth trying again."""
    return reason.startswith(_CONTENT_REASONS) and "on this installation" not in reason


def unsupported_reason(name: str) -> str:
    """'unsupported format (EPS)': a format we recognise but deliberately do not open."""
    return f"unsupported format ({name}): only raster image formats are read"


def corrupt_header_reason(kind: str) -> str:
    """For a file that starts like a ``kind`` file but whose header Pillow cannot read."""
    return f"corrupt image data (starts like a {kind} file but its header cannot be read)"


def bomb_reason(pixels: int, limit: int | None) -> str:
    """Why an image with ``pixels`` pixels is refused under Pillow's ``limit``."""
    size = f"{pixels / 1e6:.0f} megapixels" if pixels else "too many pixels"
    cap = f"{(limit or 0) / 1e6:.0f} megapixels"
    return f"image too large to open safely ({size}, limit {cap}): possible decompression bomb"


def os_reason(exc: BaseException) -> str:
    """A file-system error as a reason ("permission denied", "could not read the file (...)")."""
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return "permission denied (cannot read the file)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"could not read the file ({exc.strerror})"
    return f"could not read the file ({one_line(exc)})"


def one_line(exc: BaseException) -> str:
    """The first line of an error's text, at most 160 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
