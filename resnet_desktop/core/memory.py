"""Handing freed memory back to the operating system.

glibc keeps what a thread frees in that thread's arena for reuse, so after a large job (a batch of
resnet50 forwards, one photo's feature maps, a model lab run) the process would stay at its peak size
although Python and torch have freed the memory. ``return_free_memory`` asks glibc to release those
pages (``malloc_trim``); other C libraries (macOS, Windows, musl) return large blocks themselves, so
there it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]  # type: ignore[attr-defined]
    trim.restype = ctypes.c_int  # type: ignore[attr-defined]
    return trim


def return_free_memory() -> bool:
    """Release freed heap pages of every thread's arena to the system; True when some were released.

    Safe from any thread at any time (glibc takes each arena's lock); costs milliseconds.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
