"""The table never mixes two label sets without the person knowing.

Adding rows of a model whose labels differ from the rows already there asks first; Organize (one
folder per label) refuses mixed rows and says how to get one label set; Export asks, and then writes
each row's model with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtWidgets import QWidget

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.gui.classify.results_model import ResultsModel
from resnet_desktop.gui.classify.row_models import RowModel, label_sets, summary
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.banner import Banner

RERUN = "Re-run"
MIX_TITLE = "Mix results of two models?"
ORGANIZE_TITLE = "Organize needs the results of one model"
EXPORT_TITLE = "Export results of several models?"


class MixGuard:
    def __init__(
        self,
        window: QWidget,
        results: ResultsModel,
        banner: Banner,
        current: Callable[[], str | None],
        rerun: Callable[[], None],
    ) -> None:
        self.window = window
        self.results = results
        self.banner = banner
        self._current = current
        self._rerun = rerun

    def current(self) -> RowModel | None:
        """The loaded model as the table knows it (its label set registered when it became ready)."""
        name = self._current()
        return self.results.known(name) if name is not None else None

    def allow_adding(self, incoming: Iterable[RowModel]) -> bool:
        """Ask before rows of ``incoming`` join rows of another label set (True when nothing would mix)."""
        incoming = list(incoming)
        wanted = label_sets(incoming)
        other = Counter({m: n for m, n in self.results.models().items() if m.label_set not in wanted})
        if not incoming or not other:
            return True
        names = ", ".join(dict.fromkeys(m.name for m in incoming))
        text = (
            f"The table holds results of {summary(other)}, whose labels differ from those of {names}.\n\n"
            "Mixed rows are told apart by the Model column, but Organize works on one model's labels "
            "and exports name each row's model. Add the new results anyway?\n\n"
            "(No adds nothing: Clear Results first, or Re-run to classify the table again with one model.)"
        )
        return dialogs.ask_yes_no(self.window, MIX_TITLE, text)

    def mixed(self, rows: Sequence[Prediction]) -> Counter[RowModel] | None:
        """The models behind ``rows`` when they come from more than one label set, else None."""
        counts = self.results.models(rows)
        return counts if len(label_sets(counts)) > 1 else None

    def allow_organize(self, rows: Sequence[Prediction]) -> bool:
        """Organize makes one folder per label: rows of two label sets are refused, with the way out."""
        counts = self.mixed(rows)
        if counts is None:
            return True
        current = self.current()
        rerun = f" or Re-run to classify them all with {current.name}" if current is not None else ""
        self.banner.show_message(
            ORGANIZE_TITLE,
            f"The rows come from models with different labels: {summary(counts)}. Organize makes one folder "
            "per label, so it sorts one model's rows at a time: type a model's name in the filter to keep "
            f"only its rows{rerun}.",
            [(RERUN, self._rerun)] if current is not None else [],
        )
        return False

    def export_models(self, rows: Sequence[Prediction]) -> tuple[bool, list[str] | None]:
        """Whether to export ``rows``, and each row's model name when they mix label sets (asked first)."""
        counts = self.results.models(rows)
        if len(counts) <= 1:
            return True, None
        models = [self.results.model_of(row.path).name for row in rows]
        if self.mixed(rows) is None:
            return True, models  # one label set (say resnet18 and resnet50): nothing to ask
        text = (
            f"The rows come from models with different labels: {summary(counts)}.\n\n"
            "Each row is written with its model's name (a 'model' column in CSV, a \"model\" key in JSON). "
            f"Export all {len(rows)} rows?"
        )
        return dialogs.ask_yes_no(self.window, EXPORT_TITLE, text), models
