"""File > "Open Results (Parquet)…": load what a cluster job wrote into the results table.

A ``classify --cluster`` run writes a folder ``results.parquet/`` of parts; reading it (possibly
millions of rows) happens on a background task, and the rows join the table like any other
classification, so filtering, export and Organize work on them. Each row keeps the model the cluster
ran (its ``model_id``); when the table already holds rows of a model with other labels, the person is
asked before the two are mixed (``MixGuard``).
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.core.errors import describe
from resnet_desktop.gui.classify.mixing import MixGuard
from resnet_desktop.gui.classify.results_model import ResultsModel
from resnet_desktop.gui.classify.row_models import RowModel, consistent, label_digest
from resnet_desktop.gui.common.tasks import Task, TaskContext, TaskRunner

if TYPE_CHECKING:
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.gui.common.banner import Banner
    from resnet_desktop.gui.common.status import StatusBar

Rows = list[tuple["Prediction", str]]


def _read(path: Path, _ctx: TaskContext) -> Rows:
    from resnet_desktop.core.cluster.api import read_results_and_models

    return read_results_and_models(path)


class ParquetImport(QObject):
    """Owns the action and the background read; the rows go into ``results`` (after ``mix`` agrees)."""

    def __init__(
        self,
        window: QWidget,
        results: ResultsModel,
        mix: MixGuard,
        banner: Banner,
        status: StatusBar,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.results = results
        self.mix = mix
        self.banner = banner
        self.status = status
        self.runner = TaskRunner(self, name="parquet import")
        self.action = QAction("Open Results (&Parquet)…", window)
        self.action.setStatusTip("Load the results.parquet folder a 'classify --cluster' run wrote into the table")
        self.action.triggered.connect(lambda: self.open())
        window.addAction(self.action)

    def open(self, path: Path | None = None) -> Task[object, Rows] | None:
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

    def _row_model(self, name: str, rows: list[Prediction]) -> RowModel:
        """A results file names its model, not its classes: when every label is where the loaded model
        has it, the rows are in the loaded model's label set; otherwise in their own."""
        info = getattr(self.window, "model_info", None)
        categories = list(info.loaded.categories) if info is not None else []
        if categories and consistent(rows, categories):
            return RowModel(name, label_digest(categories))
        return RowModel.unknown(name)

    def _loaded(self, path: Path, rows: Rows) -> None:
        def name_of(item: tuple[Prediction, str]) -> str:
            return item[1] or path.name  # an old results file without model_id: named by the file

        names = dict.fromkeys(name_of(item) for item in rows)
        models = [self._row_model(name, [p for p, m in rows if (m or path.name) == name]) for name in names]
        if not self.mix.allow_adding(models):
            self.status.set_message(f"Not opened: {path.name} holds results of a model with other labels.")
            return
        for model in models:
            self.results.register(model)
        for name, run in groupby(rows, key=name_of):  # runs of one model, in input order
            self.results.append_predictions([prediction for prediction, _model in run], name)
        failed = sum(not prediction.ok for prediction, _model in rows)
        note = f" ({failed} could not be classified)" if failed else ""
        self.status.set_message(f"Opened {len(rows)} results from {path.name}{note}")

    def _failed(self, exc: BaseException) -> None:
        self.status.set_message("The results could not be opened")
        self.banner.show_message("The results could not be opened", describe(exc))

    def shutdown(self) -> None:
        self.runner.shutdown()
