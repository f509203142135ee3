"""core.work: one way to run long work: events to a callback, the result returned, cleanup on errors."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from resnet_desktop.core.errors import CancelledError
from resnet_desktop.core.work import Step, check_cancel, drive


def _count(n: int, cancel: threading.Event, cleaned: list[str]) -> Generator[Step, None, int]:
    try:
        for i in range(n):
            check_cancel(cancel)
            yield Step("counting", i + 1, n)
        return n * 10
    finally:
        cleaned.append("done")


def test_drive_hands_over_every_event_and_returns_the_result() -> None:
    seen: list[Step] = []
    cleaned: list[str] = []
    assert drive(_count(3, threading.Event(), cleaned), seen.append) == 30
    assert [s.done for s in seen] == [1, 2, 3] and seen[-1].fraction == 1.0
    assert cleaned == ["done"]


def test_a_failing_callback_closes_the_work_first() -> None:
    cleaned: list[str] = []

    def stop(step: Step) -> None:
        if step.done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drive(_count(5, threading.Event(), cleaned), stop)
    assert cleaned == ["done"]


def test_cancel_ends_the_work_with_cancelled_error() -> None:
    cancel = threading.Event()
    cleaned: list[str] = []

    def cancel_after_first(step: Step) -> None:
        cancel.set()

    with pytest.raises(CancelledError):
        drive(_count(5, cancel, cleaned), cancel_after_first)
    assert cleaned == ["done"]
