"""The one background-task API: signals on the GUI thread, cancel, stale generations, failures."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from resnet_desktop.core.errors import CancelledError, WeightsError, describe
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner(max_threads=1, name="test")
    yield runner
    runner.shutdown(5)


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_a_generator_yields_items_then_returns_on_the_gui_thread(qtbot, runner: TaskRunner) -> None:
    worker_threads: set[int] = set()
    seen: list[tuple[str, object, bool]] = []

    def work(ctx: TaskContext):
        worker_threads.add(threading.get_ident())
        for i in range(3):
            ctx.progress(i / 3)
            yield i
        return "done"

    task = runner.stream(
        work,
        on_yielded=lambda item: seen.append(("item", item, _on_gui_thread())),
        on_progress=lambda value: seen.append(("progress", value, _on_gui_thread())),
        on_returned=lambda value: seen.append(("returned", value, _on_gui_thread())),
    )
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert threading.get_ident() not in worker_threads
    assert [kind for kind, _, _ in seen if kind == "item"] == ["item"] * 3
    assert [v for kind, v, _ in seen if kind == "item"] == [0, 1, 2]
    assert seen[-1][:2] == ("returned", "done")
    assert all(on_gui for _, _, on_gui in seen), "every signal arrives on the GUI thread"
    assert task.done and not task.cancelled and task.error is None


def test_cancel_stops_a_generator_between_items_and_is_not_a_failure(qtbot, runner: TaskRunner) -> None:
    started = threading.Event()
    closed = threading.Event()

    def work(ctx: TaskContext):
        try:
            for i in range(1000):
                started.set()
                time.sleep(0.01)
                yield i
        finally:
            closed.set()

    failures: list[BaseException] = []
    task = runner.stream(work, on_failed=failures.append)
    assert started.wait(5)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.cancel()
    assert task.cancelled and isinstance(task.error, CancelledError) and not failures
    assert closed.is_set(), "the generator's finally ran"


def test_a_new_generation_drops_stale_answers(qtbot, runner: TaskRunner) -> None:
    gate = threading.Event()
    answers: list[str] = []

    def slow(_ctx: TaskContext) -> str:
        gate.wait(5)
        return "old image"

    old = runner.submit(slow, on_returned=answers.append)
    runner.invalidate()  # the person picked another image meanwhile
    new = runner.submit(lambda _ctx: "new image", on_returned=answers.append)
    gate.set()
    with qtbot.waitSignals([old.finished, new.finished], timeout=5000):
        pass
    assert answers == ["new image"]
    assert old.cancel_event.is_set() and not old.is_current()


def test_failures_are_logged_with_traceback_and_reported(qtbot, runner: TaskRunner, caplog) -> None:
    def broken(_ctx: TaskContext) -> None:
        raise KeyError("bug")

    failures: list[BaseException] = []
    with caplog.at_level(logging.WARNING, logger="resnet_desktop.gui.common.tasks"):
        task = runner.submit(broken, name="broken", on_failed=failures.append)
        with qtbot.waitSignal(task.finished, timeout=5000):
            pass
    assert isinstance(failures[0], KeyError)
    assert "This is a bug" in describe(failures[0])
    record = next(r for r in caplog.records if "broken" in r.getMessage())
    assert record.levelno == logging.WARNING and record.exc_info is not None

    def not_a_model(_ctx: TaskContext) -> None:
        raise WeightsError("x.pth: not a model file")

    got: list[BaseException] = []
    typed = runner.submit(not_a_model, on_failed=got.append)
    with qtbot.waitSignal(typed.finished, timeout=5000):
        pass
    assert describe(got[0]) == "x.pth: not a model file"


def test_tasks_run_one_at_a_time_in_order_and_shutdown_waits(qtbot) -> None:
    runner = TaskRunner(max_threads=1)
    order: list[int] = []
    running = threading.Lock()

    def step(i: int):
        def work(_ctx: TaskContext) -> None:
            assert running.acquire(blocking=False), "two tasks ran at once"
            time.sleep(0.02)
            order.append(i)
            running.release()

        return work

    tasks = [runner.submit(step(i)) for i in range(5)]
    with qtbot.waitSignal(tasks[-1].finished, timeout=5000):
        pass
    assert order == [0, 1, 2, 3, 4]
    blocker = threading.Event()
    long = runner.submit(lambda ctx: blocker.wait(0.3) or ctx.check())
    queued = runner.submit(lambda _ctx: order.append(99))
    assert runner.shutdown(5)
    assert long.done and queued.done and 99 not in order, "queued work never starts after shutdown"


def test_a_failure_nobody_handles_is_shown_in_the_runners_status_line(qtbot) -> None:
    """Anki's QueryOp rule: the default failure path shows the error inline, in plain text."""
    from resnet_desktop.gui.common.inline_status import InlineStatus, StatusKind

    status = InlineStatus()
    runner = TaskRunner(status=status)

    def broken(_ctx: TaskContext) -> None:
        raise WeightsError("<b>x.pth</b>: not a model file")

    with qtbot.waitSignal(runner.submit(broken).finished, timeout=5000):
        pass
    assert status.kind is StatusKind.ERROR and status.text() == "<b>x.pth</b>: not a model file"
    runner.shutdown(5)


def test_expected_failures_are_one_log_line_and_bugs_keep_their_traceback(qtbot, runner: TaskRunner, caplog) -> None:
    def expected(_ctx: TaskContext) -> None:
        raise WeightsError("x.pth: not a model file")

    with caplog.at_level(logging.WARNING, logger="resnet_desktop.gui.common.tasks"):
        with qtbot.waitSignal(runner.submit(expected, name="load", on_failed=lambda _e: None).finished, timeout=5000):
            pass
    record = next(r for r in caplog.records if "load" in r.getMessage())
    assert record.getMessage() == "task load: x.pth: not a model file" and record.exc_info is None


def test_the_two_ways_in_refuse_the_wrong_kind_of_work(qtbot, runner: TaskRunner) -> None:
    def generator(_ctx: TaskContext):
        yield 1

    failures: list[BaseException] = []
    with qtbot.waitSignal(runner.submit(generator, on_failed=failures.append).finished, timeout=5000):
        pass
    with qtbot.waitSignal(runner.stream(lambda _ctx: 3, on_failed=failures.append).finished, timeout=5000):  # type: ignore[arg-type, return-value]
        pass
    assert [str(f) for f in failures] == [
        "task test task: a generator was given to submit(); use stream()",
        "task test task: stream() needs a generator, got int",
    ]


def test_a_flood_of_results_is_handed_over_in_slices(qtbot, runner: TaskRunner, monkeypatch) -> None:
    """Thousands of items never arrive in one event-loop turn: a timer can fire between slices."""
    from PySide6.QtCore import QTimer

    from resnet_desktop.gui.common import tasks

    monkeypatch.setattr(tasks, "DELIVERY_SLICE_S", 0.0)  # one message per turn at most
    gate = threading.Event()
    order: list[str] = []

    def many(_ctx: TaskContext):
        yield from range(50)
        gate.set()

    task = runner.stream(many, on_yielded=lambda i: order.append(f"item {i}"))
    assert gate.wait(5)  # every item is queued before the GUI thread looks
    QTimer.singleShot(0, lambda: order.append("timer"))
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert "timer" in order and 0 < order.index("timer") < len(order) - 1, "the event loop ran between items"
