"""Write Keywords…: the photos' labels into their XMP sidecars, nothing copied or moved.

The organize room's keywords without the folders: a threshold and the sidecar names (the organize
options' own, remembered under ``keywords/...``), a summary of what will be written, then the plan
(``core.library.api.keywords_plan``) is journaled and applied in the background. The journal goes
into the organize history, so Edit > Undo Last Organize (Ctrl+Z) takes exactly these keywords out
again. The teach window hands it a label set's answers (labels first, then predictions).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library import api as library
from resnet_desktop.core.library.api import DEFAULT_THRESHOLD, Naming, OperationProgress, Outcome, Plan
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.common.text import plural
from resnet_desktop.gui.library import organize_history as history
from resnet_desktop.gui.library.organize_options import NAMINGS

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from resnet_desktop.core.inference.api import Prediction


def plan_text(plan: Plan) -> str:
    """ "Keywords for 28 photos (zero 10, one 9, two 9) go into their XMP sidecars. 2 left alone: ..." """
    photos: dict[Path, str] = {}
    for op in plan.sidecar_ops:
        photos.setdefault(op.photo, ", ".join(op.subject))
    if not photos:
        text = "No photo has a label at or above the threshold: nothing to write."
    else:
        found = sorted(Counter(photos.values()).items(), key=lambda kv: (-kv[1], kv[0]))  # most first, then by name
        counts = ", ".join(f"{name} {n}" for name, n in found)
        text = f"Keywords for {plural(len(photos), 'photo')} ({counts}) go into their XMP sidecars."
    if plan.skipped:
        first = plan.skipped[0]
        text += f" {plural(len(plan.skipped), 'photo')} left alone ({first.path.name}: {first.reason})."
    return text


class KeywordsDialog(QDialog):
    """Write ``rows``' labels as XMP keywords (undoable from the organize history)."""

    #: The journal of a write that did something: Undo Last Organize can use it.
    written = Signal(Path)

    def __init__(self, rows: Sequence[Prediction], settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write Keywords")
        self.resize(640, 220)
        self.rows = list(rows)
        self.settings = settings
        self.plan: Plan | None = None
        self.journal: Path | None = None
        self.outcome: Outcome | None = None
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(_float(settings.value("keywords/threshold", DEFAULT_THRESHOLD)))
        self.threshold_spin.setToolTip("A photo whose best class is below this gets no keyword")
        self.naming_combo = QComboBox()
        for naming, text in NAMINGS:
            self.naming_combo.addItem(text, naming.value)
        self.naming_combo.setCurrentIndex(
            max(0, self.naming_combo.findData(str(settings.value("keywords/naming", Naming.FULL.value))))
        )
        self.summary = InlineStatus()
        self.progress = QProgressBar()
        self.progress.hide()
        self.buttons = QDialogButtonBox()
        self.write_button = QPushButton("&Write Keywords")
        self.write_button.setDefault(True)
        self.close_button = QPushButton("&Close")
        self.buttons.addButton(self.write_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.write_button.clicked.connect(self.start_write)
        self.close_button.clicked.connect(self.close)
        form = QFormLayout()
        form.addRow("&Threshold:", self.threshold_spin)
        form.addRow("Sidecar &names:", self.naming_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._runner = TaskRunner(self, name="write keywords", status=self.summary)
        self.threshold_spin.valueChanged.connect(lambda _v: self.plan_now())
        self.naming_combo.currentIndexChanged.connect(lambda _i: self.plan_now())
        self.plan_now()

    def plan_now(self) -> None:
        """Plan again (paths only, nothing read from disk: instant) and say what will be written."""
        threshold, naming = self.threshold_spin.value(), Naming(self.naming_combo.currentData())
        self.settings.setValue("keywords/threshold", threshold)
        self.settings.setValue("keywords/naming", naming.value)
        self.plan = library.keywords_plan(self.rows, threshold=threshold, naming=naming)
        self.summary.show_info(plan_text(self.plan))
        self.write_button.setEnabled(bool(self.plan.operations) and self.outcome is None)

    def start_write(self) -> None:
        plan = self.plan
        if plan is None or not plan.operations or self._runner.busy:
            return

        def work(ctx: TaskContext) -> Generator[Path | OperationProgress, None, Outcome]:
            path = library.begin(plan, journal_folder=library.keyword_journals())
            yield path
            return (yield from library.apply(path, cancel=ctx.cancel))

        for widget in (self.threshold_spin, self.naming_combo, self.write_button):
            widget.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.summary.show_busy("Writing keywords")
        self._runner.stream(work, name="write", on_yielded=self._on_step, on_returned=self._on_done)

    def _on_step(self, item: Path | OperationProgress) -> None:
        if isinstance(item, Path):
            self.journal = item
            history.remember(self.settings, item)  # Edit > Undo Last Organize takes it out from now on
            self.written.emit(item)
            return
        self.progress.setRange(0, item.total)
        self.progress.setValue(item.done)

    def _on_done(self, outcome: Outcome) -> None:
        self.outcome = outcome
        photos = len({op.photo for op in self.plan.sidecar_ops}) if self.plan is not None else 0
        lines = [
            f"Wrote keywords for {plural(photos, 'photo')} into {plural(outcome.done, 'XMP sidecar')}, "
            f"{len(outcome.problems)} failed."
        ]
        lines += [why for _path, why in outcome.problems[:10]]
        lines.append("Edit > Undo Last Organize (Ctrl+Z) in the main window takes them out again.")
        self.summary.show_info("\n".join(lines))

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while writing stops after the current sidecar (the journal keeps it undoable)."""
        self._runner.shutdown()
        super().closeEvent(event)


def _float(value: object) -> float:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD
