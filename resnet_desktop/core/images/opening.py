"""Open one image robustly: 8-bit RGB, upright, or exactly one ``ImageError`` a person can act on.

Checks the file system first, opens only allow-listed raster formats (``formats.RASTER_FORMATS``),
refuses decompression bombs before any pixel is decoded, applies EXIF orientation, then converts to
RGB (``colour.to_rgb``). Used from worker threads: nothing here changes global Pillow settings
(``MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import warnings
from pathlib import Path
from typing import Union

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images.colour import to_rgb
from resnet_desktop.core.images.decoder_warnings import decoding
from resnet_desktop.core.images.formats import (
    HEIF_SUFFIXES,
    allowed_formats,
    ensure_heif,
    looks_like_heif,
    read_head,
    refused_format,
    signature_kind,
)
from resnet_desktop.core.images.reasons import (
    FOLDER_REASON,
    HEIF_HINT,
    NOT_AN_IMAGE,
    bomb_reason,
    corrupt_header_reason,
    one_line,
    os_reason,
    reason_for,
    unsupported_reason,
)

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")

PathLike = Union[str, "os.PathLike[str]"]

_ORIENTATION = ExifTags.Base.Orientation
# Used only when ImageOps.exif_transpose fails while rewriting malformed EXIF after reading a
# valid orientation: the pixels are still rotated as the camera meant.
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_open_lock = threading.Lock()


def open_image(path: PathLike, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Open one image fully decoded as 8-bit RGB, upright, or raise one ``ImageError``.

    - EXIF orientation is applied (``ImageOps.exif_transpose``); malformed EXIF never fails the
      image: it is logged and the image is kept as stored (or rotated, if the orientation itself
      was readable).
    - Modes: CMYK via its embedded ICC profile when there is one; alpha and palette/colour-key
      transparency composited on white; 16-bit integer data scaled from 0..65535 (``I;16*``, and
      ``I`` whose values fit 16 bits), float data from 0..1 (or 0..255); data outside those ranges
      is stretched from its own min..max. Never clipped. Multi-frame files give their first frame.
    - ``draft_size=(w, h)``: JPEGs are decoded at 1/2, 1/4 or 1/8 scale when that still leaves at
      least ``w`` x ``h`` pixels (upright, after EXIF rotation), which is several times faster.
    - Decompression bombs (over ``Image.MAX_IMAGE_PIXELS``, Pillow's warning range included) are
      refused before any pixel is decoded; the global limit is only read, never changed.
    - HEIC/HEIF are read when ``pillow_heif`` is installed (registered on first use).
    """
    p = Path(path)
    with decoding(p):
        return _open_image(p, draft_size)


def open_header(path: PathLike) -> Image.Image:
    """Open ``path`` with its header read and no pixel decoded, or raise one ``ImageError``.

    The checks :func:`open_image` makes before decoding (file system, allow-listed formats,
    decompression bombs), for callers that decode the pixels elsewhere (the device decoder reads
    format, mode, size and EXIF orientation from it). The caller closes the image.
    """
    p = Path(path)
    with decoding(p):
        _check_file(p)
        try:
            return _open_checked(p)
        except ImageError:
            raise
        except Exception as exc:
            raise ImageError(p, reason_for(exc, p)) from exc


def exif_orientation(img: Image.Image, path: PathLike) -> int:
    """The EXIF orientation (1-8) that :func:`open_image` applies; 1 when absent or unreadable."""
    return _orientation(img, Path(path))


def _open_image(p: Path, draft_size: tuple[int, int] | None) -> Image.Image:
    _check_file(p)
    try:
        img = _open_checked(p)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(p, reason_for(exc, p)) from exc
    try:
        if draft_size is not None:
            _apply_draft(img, draft_size, p)
        img.load()
        upright = _exif_transpose_safely(img, p)
        rgb = to_rgb(upright)
        if rgb is img and getattr(img, "fp", None) is not None:
            rgb = img.copy()  # multi-frame files keep their file open; hand back a detached copy
        return rgb
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(p, reason_for(exc, p)) from exc
    finally:
        if getattr(img, "fp", None) is not None:
            img.close()  # the returned image never shares this file handle


def _check_file(path: Path) -> None:
    """Reasons we can give from the file system alone, before Pillow sees the file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ImageError(path, "file not found (broken symbolic link)") from None
        raise ImageError(path, "file not found") from None
    except PermissionError:
        raise ImageError(path, "permission denied (cannot reach the file)") from None
    except (OSError, ValueError) as exc:
        raise ImageError(path, os_reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(path):
                pass
        except PermissionError:
            raise ImageError(path, "permission denied (cannot read the folder)") from None
        except OSError as exc:
            raise ImageError(path, f"cannot read the folder ({os_reason(exc)})") from None
        raise ImageError(path, FOLDER_REASON)
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(path, "not a regular file (a device, pipe or socket)")
    if st.st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")


def _open_checked(path: Path) -> Image.Image:
    """``Image.open`` with Pillow's bomb warning as an error, our own size check, HEIF fallback."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        ensure_heif()
    try:
        img = _open_refusing_bombs(path)
    except UnidentifiedImageError:
        head = read_head(path)
        if looks_like_heif(head):
            if not ensure_heif():
                raise ImageError(path, HEIF_HINT) from None
            img = _open_refusing_bombs(path)
        else:
            refused = refused_format(head)
            if refused is not None:
                raise ImageError(path, unsupported_reason(refused)) from None
            kind = signature_kind(head)
            if kind is not None:
                raise ImageError(path, corrupt_header_reason(kind)) from None
            raise ImageError(path, NOT_AN_IMAGE) from None
    limit = Image.MAX_IMAGE_PIXELS
    width, height = img.size
    if limit and width * height > limit:
        img.close()
        raise ImageError(path, bomb_reason(width * height, limit))
    return img


def _open_refusing_bombs(path: Path) -> Image.Image:
    # catch_warnings mutates process-wide state; the lock keeps our decoder threads from
    # interleaving it. Image.open only parses headers, so the lock is held briefly.
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path, formats=allowed_formats())


def _apply_draft(img: Image.Image, draft_size: tuple[int, int], path: Path) -> None:
    # Only JPEG decoders can draft. Reading EXIF from other formats (PNG keeps it after the
    # pixel data) would decode the pixels here, where a failure is taken for bad EXIF.
    if img.format not in ("JPEG", "MPO"):  # MPO (multi-picture JPEG from cameras) drafts too
        return
    width, height = (max(1, int(v)) for v in draft_size)
    if _orientation(img, path) in (5, 6, 7, 8):
        width, height = height, width  # the stored image is sideways
    img.draft("RGB", (width, height))


def _orientation(img: Image.Image, path: Path) -> int:
    try:
        value = img.getexif().get(_ORIENTATION, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception as exc:  # noqa: BLE001 - malformed EXIF must not fail the image
        logger.warning("%s: ignoring unreadable EXIF data (%s)", path, one_line(exc))
        return 1


def _exif_transpose_safely(img: Image.Image, path: Path) -> Image.Image:
    orientation = _orientation(img, path)
    if orientation == 1:
        return img
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception as exc:  # noqa: BLE001
        logger.warning("%s: malformed EXIF (%s); rotating by orientation %d only", path, one_line(exc), orientation)
        return img.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    return upright if upright is not None else img
