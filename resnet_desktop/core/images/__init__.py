"""Discover image files and open one image robustly.

``discover`` turns what a person dropped or typed (files and folders) into a lazy, stable stream
of file paths; ``open_image`` turns one path into an 8-bit RGB ``PIL.Image`` or raises exactly one
``ImageError`` whose reason a person can act on. Both are used from worker threads: nothing here
changes global Pillow settings (``MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``).

This package's front door; the work is split by job:

- ``discovery``: walking files and folders (``discover``).
- ``formats``: suffix tables, the decoder allow-list, file signatures, optional HEIF support.
- ``opening``: ``open_image`` (file checks, bomb refusal, EXIF orientation).
- ``colour``: any image mode to 8-bit RGB.
- ``reasons``: the wording of every failure reason.
- ``decoder_warnings``: Pillow's warnings logged under the file being opened.
"""

from __future__ import annotations

from resnet_desktop.core.images.discovery import discover
from resnet_desktop.core.images.formats import IMAGE_SUFFIXES, NON_IMAGE_SUFFIXES, RASTER_FORMATS, SKIPPED_NAMES
from resnet_desktop.core.images.opening import open_image
from resnet_desktop.core.images.reasons import (
    FOLDER_REASON,
    HEIF_HINT,
    NOT_AN_IMAGE,
    TOO_BIG_FOR_MEMORY,
    TRUNCATED,
    unsupported_reason,
)

__all__ = [
    "FOLDER_REASON",
    "HEIF_HINT",
    "IMAGE_SUFFIXES",
    "NON_IMAGE_SUFFIXES",
    "NOT_AN_IMAGE",
    "RASTER_FORMATS",
    "SKIPPED_NAMES",
    "TOO_BIG_FOR_MEMORY",
    "TRUNCATED",
    "discover",
    "open_image",
    "unsupported_reason",
]
