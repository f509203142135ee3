"""A guard against PySide6 6.12's lost references to ``None``, ``True`` and ``False`` (CPython < 3.12).

Measured here (PySide6/shiboken6 6.12.0, CPython 3.11): every call of a binding that returns nothing
(``QPainter.save()``, ``setPen()``...) and every ``QModelIndex.data()`` that returns an empty value
hands Python a ``None`` it does not own, so ``None`` loses one reference per call; some calls do the
same to ``False``. A view painting thumbnails makes ~10 such calls per cell: scrolling through a few
thousand photos takes ``None``'s count to zero and CPython aborts ("Fatal Python error: none_dealloc").
From 3.12 these objects are immortal (their count is never used), which is why the bug goes unseen
there. Here we give them the same immortality by hand: a count so high that no session can spend it.

Remove once the app requires CPython >= 3.12 or a PySide6 without the bug.
"""

from __future__ import annotations

import ctypes
import platform
import sys

#: 2**40 references: at a million lost per second, 12 days of drawing.
RESERVE = 1 << 40


def pin_singletons() -> bool:
    """Raise the reference counts of ``None``, ``True`` and ``False`` by ``RESERVE`` (once per process).
    True when it did (CPython < 3.12), False where they are immortal already."""
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return False
    if getattr(sys, "_resnet_desktop_pinned", False):
        return True
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every PyObject (a Py_ssize_t) in CPython's regular builds.
        count = ctypes.c_ssize_t.from_address(id(singleton))
        count.value += RESERVE
    sys._resnet_desktop_pinned = True  # type: ignore[attr-defined]
    return True
