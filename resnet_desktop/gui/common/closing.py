"""Closing the app ends it within a bounded time, whatever is running, and leaves nothing partial.

Some work cannot stop mid-way: importing torch, an ONNX Runtime quantization (Fast Mode), an ONNX
export, a fine-tune's cross-validation fit. Waiting for it made closing take 3.6 s on a quiet machine
and over 10 s under load. When the process is to end after closing (see below), inside
``within(seconds)`` every ``TaskRunner.shutdown`` and ``Task.wait``
gets at most what is left of the budget; work still running then is *abandoned* (its cancel flag is
set; ``abandoned()`` names it). The app's ``main`` then ends the process at once with ``end_now``:
the temp files and scratch folders being written are removed first (``core.atomic``), so what the
work was writing never appears half-done, and the settings were saved before anything was waited for.

The process entry points (``python -m resnet_desktop``, the ``resnet-desktop`` scripts, the frozen
app) also call ``end_process_when_closed``: once the window is closed and its work stopped, the
interpreter's own teardown (garbage-collecting torch, pyqtgraph and Qt objects: seconds on a busy
machine) is skipped too. In-process callers (tests) keep the normal return.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from resnet_desktop.core.atomic import remove_in_progress

logger = logging.getLogger(__name__)

#: How long closing waits for running work before abandoning it (the process ends well within 2 s).
CLOSE_BUDGET_S = 1.2

_deadline: list[float] = []
_abandoned: list[str] = []
_end_process: list[bool] = [False]


def end_process_when_closed() -> None:
    """Called by a process entry point: when the app's window has closed, end the process at once."""
    _end_process[0] = True


def should_end() -> bool:
    """After the event loop: end the process now (work was abandoned, or an entry point asked)?"""
    return bool(_abandoned) or _end_process[0]


@contextmanager
def within(seconds: float = CLOSE_BUDGET_S) -> Iterator[None]:
    """Bound every wait for running work inside the block by what is left of ``seconds``.

    Only when the process will end right after (``end_process_when_closed``): a window closed inside
    a longer-lived process (a test) still waits for its threads, as nothing would end them."""
    if not _end_process[0]:
        yield
        return
    _deadline[:] = [time.monotonic() + seconds]
    try:
        yield
    finally:
        _deadline.clear()


def bounded(timeout_s: float | None) -> float | None:
    """``timeout_s``, cut to what is left of the closing budget while one runs."""
    if not _deadline:
        return timeout_s
    left = max(0.0, _deadline[0] - time.monotonic())
    return left if timeout_s is None else min(timeout_s, left)


def note_abandoned(name: str) -> None:
    """Work that was still running when its wait ran out of budget (only counts while closing)."""
    if _deadline:
        _abandoned.append(name)


def abandoned() -> list[str]:
    return list(_abandoned)


def reset() -> None:
    """Forget earlier abandonments (the app's ``main`` calls it before its event loop runs)."""
    _abandoned.clear()


def end_now(code: int = 0) -> None:
    """End the process without waiting for abandoned work: remove what it was writing, flush the logs."""
    removed = remove_in_progress()
    if _abandoned:
        logger.info(
            "Closed while %s ran; ended without waiting for it%s",
            ", ".join(dict.fromkeys(_abandoned)),
            f" (removed unfinished {', '.join(map(str, removed))})" if removed else "",
        )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
