"""File > "Open Results (Parquet)…": load what a cluster job wrote into the results table.

A ``classify --cluster`` run writes a folder ``results.parquet/`` of parts; reading it (possibly
millions of rows) happens on a background task, and the rows join the table like any other
classification, so filtering, export and Organize work on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.gui.common.tasks import Task, TaskContext, TaskRunner

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.gui.common.banner import Banner
    from resnet_desktop.gui.common.status import StatusBar


def _read(path: Path, _ctx: TaskContext) -> list[Prediction]:
    from resnet_desktop.core.cluster.api import read_results

    return read_results(path)


class ParquetImport(QObject):
    """Owns the action and the background read; ``append`` puts the rows into the table."""

    def __init__(
        self,
        window: QWidget,
        append: Callable[[Sequence[Prediction]], None],
        banner: Banner,
        status: StatusBar,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.append = append
        self.banner = banner
        self.status = status
        self.runner = TaskRunner(self, name="parquet import")
        self.action = QAction("Open Results (&Parquet)…", window)
        self.action.setStatusTip("Load the results.parquet folder a 'classify --cluster' run wrote into the table")
        self.action.triggered.connect(lambda: self.open())
        window.addAction(self.action)

    def open(self, path: Path | None = None) -> Task[object, object] | None:
        """Read ``path`` (asked for when None) in the background; None if the person cancelled."""
        if path is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Open Results (Parquet)", "")
            if not chosen:
                return None
            path = Path(chosen)
        self.action.setEnabled(False)
        self.status.set_message(f"Reading {path}…")
        return self.runner.submit(
            lambda ctx: _read(path, ctx),
            name=f"read {path.name}",
            on_returned=lambda rows: self._loaded(path, rows),
            on_failed=self._failed,
            on_finished=lambda: self.action.setEnabled(True),
        )

    def _loaded(self, path: Path, rows: list[Prediction]) -> None:
        self.append(rows)
        failed = sum(not row.ok for row in rows)
        note = f" ({failed} could not be classified)" if failed else ""
        self.status.set_message(f"Opened {len(rows)} results from {path.name}{note}")

    def _failed(self, exc: BaseException) -> None:
        self.status.set_message("The results could not be opened")
        self.banner.show_message("The results could not be opened", describe(exc))

    def shutdown(self) -> None:
        self.runner.shutdown()
