"""When a photo was taken, from its EXIF header: what browsing a library sorts and filters by.

Only the header is read (Pillow parses EXIF without decoding pixels). The answer is the camera's own
local time as ISO text (``2023-07-14T18:03:22``), which sorts and compares as text and needs no time
zone the photo does not record; ``""`` when the file does not say (or cannot be read).
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from PIL import Image

from resnet_desktop.core.images.formats import allowed_formats

logger = logging.getLogger(__name__)

_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_DATE_TIME_DIGITIZED = 0x9004
_DATE_TIME = 0x0132
#: "YYYY:MM:DD HH:MM:SS" (EXIF 2.3), tolerant of "-" or "/" as the date separator and a missing time.
_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")


def parse_exif_date(text: object) -> str:
    """ISO text for an EXIF date string, or ``""`` when it is missing, blank (``0000:00:00``) or invalid."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str):
        return ""
    match = _EXIF_DATE.match(text)
    if match is None:
        return ""
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if year < 1800 or not 1 <= month <= 12 or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 60:
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{min(second, 59):02d}"


def date_taken(path: str | Path) -> str:
    """The photo's EXIF DateTimeOriginal (else DateTimeDigitized, else DateTime) as ISO text, or ``""``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged EXIF block is "no date", not a warning per file
            with Image.open(path, formats=allowed_formats()) as image:
                exif = image.getexif()
                sub = exif.get_ifd(_EXIF_IFD)
                for value in (sub.get(_DATE_TIME_ORIGINAL), sub.get(_DATE_TIME_DIGITIZED), exif.get(_DATE_TIME)):
                    found = parse_exif_date(value)
                    if found:
                        return found
    except Exception as exc:  # noqa: BLE001 - any unreadable header means "the photo does not say"
        logger.debug("%s: no date taken (%s)", path, exc)
    return ""
