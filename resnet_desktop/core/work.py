"""The one convention for long work in core: a generator that yields typed events and returns its result.

    def evaluate(...) -> Work[Progress, EvaluationReport]:
        for ...:
            yield Progress(done, total)        # progress, or a streamed item (a Prediction)
        return report                           # the result, as the generator's return value

Both front ends run such a generator the same way: the CLI with :func:`drive` (events go to a
callback that prints a live line), the GUI with ``gui.common.tasks`` (events arrive as the task's
typed ``yielded`` signal, the result as ``returned``). Cancelling is the caller's ``threading.Event``,
checked by the work between steps (``check_cancel``); closing the generator runs its ``finally``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from resnet_desktop.core.errors import CancelledError

E = TypeVar("E")
R = TypeVar("R")

#: A piece of long work: yields events of type ``E``, returns ``R``.
Work = Generator[E, None, R]


@dataclass(frozen=True)
class Step:
    """A generic progress event: what is happening, and how far (``total`` None: unknown)."""

    message: str
    done: int = 0
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


def check_cancel(cancel: threading.Event | None, message: str = "Cancelled.") -> None:
    """Raise ``CancelledError`` when ``cancel`` is set (work calls this between its steps)."""
    if cancel is not None and cancel.is_set():
        raise CancelledError(message)


def drive(work: Work[E, R], on_event: Callable[[E], object] | None = None) -> R:
    """Run ``work`` to its end, handing each event to ``on_event``; return its result.

    An exception (a ``KeyboardInterrupt`` too) closes the generator first, so its ``finally`` blocks
    run before the caller sees the error.
    """
    try:
        while True:
            event = next(work)
            if on_event is not None:
                on_event(event)
    except StopIteration as stop:
        return stop.value
    except BaseException:
        work.close()
        raise
