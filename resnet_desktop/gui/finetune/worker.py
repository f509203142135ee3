"""Wizard pages that run one background task at a time (a thin use of ``gui.common.tasks``).

Cancelling goes through the task's ``threading.Event``, which the core checks between batches and
epochs; ``stop()`` sets it and waits for the work to end, so no thread outlives the wizard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from PySide6.QtWidgets import QWidget, QWizardPage

from resnet_desktop.gui.common.tasks import Task, TaskRunner

if TYPE_CHECKING:
    from resnet_desktop.gui.finetune.wizard import FineTuneWizard

Y = TypeVar("Y")
R = TypeVar("R")


class FineTunePage(QWizardPage):
    """A page of the fine-tune wizard, with typed access to the wizard it belongs to."""

    def owner(self) -> FineTuneWizard:
        return cast("FineTuneWizard", self.wizard())


class WorkerPage(FineTunePage):
    """A page that runs one task at a time on its own runner; Back stops it and waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = TaskRunner(self, max_threads=1, name=type(self).__name__)
        self._task: Task[object, object] | None = None

    def run_task(self, start: Callable[[TaskRunner], Task[Y, R]]) -> Task[Y, R]:
        """Stop any previous run, then ``start(runner)`` (``runner.submit(...)`` or ``runner.stream(...)``)."""
        self.stop()
        task = start(self._tasks)
        self._task = task
        return task

    @property
    def task(self) -> Task[object, object] | None:
        return self._task

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done

    def cancel(self) -> None:
        """Ask the running work to stop (returns at once; ``finished`` follows)."""
        if self._task is not None:
            self._task.cancel()

    def cleanupPage(self) -> None:
        """Back: stop the run (the previous page can start a new one)."""
        self.stop()

    def stop(self) -> None:
        """Cancel the running work and wait until it has ended."""
        if self._task is not None:
            self._task.cancel()
            self._task.wait()
            self._task = None
