"""Wizard pages: results (accuracy, per-class precision/recall, clickable confusion matrix,
misclassified gallery) and saving (name, location, atomic, never overwriting; "Use this model now")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.gui.common.cells import number_cell
from resnet_desktop.gui.common.gallery import Gallery
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.model_export import ask_export_path, export_work, exported_text
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.finetune.worker import FineTunePage, WorkerPage

if TYPE_CHECKING:
    from resnet_desktop.core.finetune.api import FineTuneResult
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.core.teach.api import ImportReport
    from resnet_desktop.gui.common.tasks import TaskContext


class ResultsPage(FineTunePage):
    """How good the new classifier is on the validation images, and which ones it gets wrong."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Results")
        self.result: FineTuneResult | None = None
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.per_class = QTableWidget(0, 4)
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "Images"])
        self.per_class.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.per_class.verticalHeader().hide()
        self.per_class.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.confusion_model = QStandardItemModel(self)
        self.confusion = QTableView()
        self.confusion.setModel(self.confusion_model)
        self.confusion.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.confusion.clicked.connect(self.show_cell)
        self.cell_caption = QLabel("Click a cell of the confusion matrix to see its images.")
        self.cell_gallery = Gallery(thumbnails)
        self.mistakes = Gallery(thumbnails)
        grid = QGridLayout()
        grid.addWidget(QLabel("Per class"), 0, 0)
        grid.addWidget(QLabel("Confusion matrix (rows: true class, columns: predicted)"), 0, 1)
        grid.addWidget(self.per_class, 1, 0)
        grid.addWidget(self.confusion, 1, 1)
        grid.addWidget(self.cell_caption, 2, 0, 1, 2)
        grid.addWidget(self.cell_gallery, 3, 0, 1, 2)
        self.mistakes_caption = QLabel("Misclassified validation images")
        grid.addWidget(self.mistakes_caption, 4, 0, 1, 2)
        grid.addWidget(self.mistakes, 5, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addLayout(grid, 1)

    def initializePage(self) -> None:
        result = self.owner().trained
        assert result is not None, "the training page lets Next through only with a result"
        self.show_result(result)

    def show_result(self, result: FineTuneResult) -> None:
        self.result = result
        names = result.class_names
        metrics = result.metrics
        correct = len(result.predictions) - len(result.misclassified)
        text = (
            f"<b>Validation accuracy: {result.val_accuracy:.1%}</b> ({correct} of {len(result.predictions)} "
            f"validation images; trained on {metrics['train_images']})."
        )
        if result.skipped:
            text += f" {len(result.skipped)} unreadable file(s) were skipped."
        self.headline.setText(text)
        self.per_class.setRowCount(len(names))
        for row, name in enumerate(names):
            stats = metrics["per_class"][name]
            self.per_class.setItem(row, 0, QTableWidgetItem(name))
            self.per_class.setItem(row, 1, number_cell(f"{stats['precision']:.1%}"))
            self.per_class.setItem(row, 2, number_cell(f"{stats['recall']:.1%}"))
            self.per_class.setItem(row, 3, number_cell(str(stats["support"])))
        self._fill_confusion(names, metrics["confusion"])
        wrong = result.misclassified
        self.mistakes_caption.setText(f"Misclassified validation images ({len(wrong)})")
        self.mistakes.show_images(
            [
                (
                    p.path,
                    f"{names[p.true]} → {names[p.pred]}",
                    f"{p.path}\ntrue: {names[p.true]}, predicted: {names[p.pred]} ({p.confidence:.0%})",
                )
                for p in wrong
            ]
        )
        self.cell_gallery.clear()

    def _fill_confusion(self, names: list[str], matrix: list[list[int]]) -> None:
        self.confusion_model.clear()
        self.confusion_model.setHorizontalHeaderLabels(names)
        self.confusion_model.setVerticalHeaderLabels(names)
        for t, row in enumerate(matrix):
            total = max(1, sum(row))
            for p, count in enumerate(row):
                item = QStandardItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total
                colour = QColor(46, 125, 50) if t == p else QColor(198, 40, 40)
                colour.setAlphaF(0.15 + 0.6 * share if count else 0.0)
                item.setBackground(QBrush(colour))
                item.setToolTip(f"{count} image(s) of {names[t]} predicted as {names[p]}")
                self.confusion_model.setItem(t, p, item)
        self.confusion.resizeColumnsToContents()

    def show_cell(self, index: QModelIndex) -> None:
        """The validation images of one confusion cell (true = row, predicted = column)."""
        if self.result is None or not index.isValid():
            return
        names = self.result.class_names
        true, pred = index.row(), index.column()
        chosen = [p for p in self.result.predictions if p.true == true and p.pred == pred]
        self.cell_caption.setText(f"{len(chosen)} image(s) of '{names[true]}' predicted as '{names[pred]}'")
        self.cell_gallery.show_images([(p.path, p.path.name, f"{p.path} ({p.confidence:.0%})") for p in chosen])


def default_models_folder() -> Path:
    """Where saved classifiers go unless the person picks another place."""
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / "models"


class SavePage(WorkerPage):
    """Name and place the model file; save it atomically; then optionally switch to it."""

    #: The model file was written (its path).
    saved = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Save the classifier")
        self.setSubTitle("A .safetensors file plus a .json description; existing files are never overwritten.")
        self.saved_path: Path | None = None
        #: The training result that ``saved_path`` holds (a new run makes it stale).
        self.saved_result: FineTuneResult | None = None
        self.name = QLineEdit()
        self.location = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.use_button = QPushButton("Use this model now")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
        self.export_button = QPushButton("Export to ONNX…")
        self.export_button.setToolTip("Also save the classifier as ONNX or TorchScript, verified against PyTorch")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export)
        self.label_set_button = QPushButton("Keep as a Label Set")
        self.label_set_button.setToolTip(
            "Import this folder's photos and classes into a label set, to keep teaching them (labels by content)"
        )
        self.label_set_button.clicked.connect(self.keep_as_label_set)
        self.status = InlineStatus()
        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Folder", where)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.label_set_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def initializePage(self) -> None:
        wizard = self.owner()
        result, scan = wizard.trained, wizard.scan
        assert result is not None and scan is not None, "reached only after training"
        if not self.name.text():
            self.name.setText(f"{scan.root.name}-{result.arch}")
        if not self.location.text():
            self.location.setText(str(default_models_folder()))
        if self.saved_result is result and self.saved_path is not None:
            return  # Back and Next again after saving: still saved
        self.saved_path = None
        self.use_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.save_button.setEnabled(True)
        self.status.clear()

    def target(self) -> Path:
        name = self.name.text().strip()
        if name.lower().endswith(".safetensors"):
            name = name[: -len(".safetensors")]
        return Path(self.location.text().strip()).expanduser() / f"{name}.safetensors"

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Save in", self.location.text())
        if chosen:
            self.location.setText(chosen)

    def save(self) -> bool:
        """Write the files in a worker thread (save_model_file is atomic and refuses to overwrite).

        False when the name or folder is refused (the status line says why) or it is already saved.
        """
        if self.is_running():
            return False
        if not self.name.text().strip() or "/" in self.name.text() or "\\" in self.name.text():
            self._show_plain("Type a file name (without folders).")
            return False
        path = self.target()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # the "Save in" folder the person typed
        except OSError as exc:
            self._show_plain(f"Cannot create {path.parent}: {exc.strerror or exc}")
            return False
        if path.exists() or path.with_suffix(".json").exists():
            self._show_plain(f"{path.name} already exists in {path.parent}; choose another name.")
            return False
        result = self.owner().trained
        assert result is not None
        self.save_button.setEnabled(False)
        self._show_plain(f"Saving {path}…")
        self.run_task(
            lambda tasks: tasks.submit(
                lambda _ctx: result.save(path),
                on_returned=lambda saved: self._saved(saved, result),
                on_failed=self._failed,
            )
        )
        return True

    def _saved(self, path: Path, result: FineTuneResult) -> None:
        self.saved_path = Path(path)
        self.saved_result = result
        self._show_plain(f"Saved {path} (+ {Path(path).with_suffix('.json').name}).")
        self.use_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.completeChanged.emit()
        self.saved.emit(self.saved_path)

    def _failed(self, exc: BaseException) -> None:
        self._show_error("Not saved", exc)
        self.save_button.setEnabled(True)

    def _show_plain(self, text: object) -> None:
        """A status message shown as typed (paths may hold '<' or '&')."""
        self.status.show_info(str(text))

    def _show_error(self, what: str, exc: BaseException) -> None:
        self.status.show_error(exc, what)

    def export(self) -> bool:
        """Export the saved model file (the save dialog picks ONNX fp32/fp16/int8 or TorchScript);
        False if not started."""
        saved = self.saved_path
        if saved is None or self.is_running():
            return False
        chosen = ask_export_path(self, saved.stem, saved.parent)
        if chosen is None:
            return False
        path, format, precision = chosen
        self.export_button.setEnabled(False)
        self._show_plain(f"Exporting {saved.name}…")

        def work(ctx: TaskContext) -> ExportResult:
            from resnet_desktop.core.models.ref import ModelRef, load

            return export_work(load(ModelRef(file=saved)), path, format, ctx, precision)

        self.run_task(
            lambda tasks: tasks.submit(
                work,
                on_progress=self._show_plain,
                on_returned=lambda result: self._show_plain(exported_text(result)),
                on_failed=lambda exc: self._show_error("Not exported", exc),
                on_finished=lambda: self.export_button.setEnabled(self.saved_path is not None),
            )
        )
        return True

    def keep_as_label_set(self) -> bool:
        """Import the wizard's folder tree into a label set named after the folder (teach's store);
        False if not started. Re-importing changes nothing: photos are known by their content."""
        scan = self.owner().scan
        if self.is_running() or scan is None:
            return False
        folder = scan.root
        self.label_set_button.setEnabled(False)
        self._show_plain(f"Importing {folder.name} into a label set…")

        def work(_ctx: TaskContext) -> ImportReport:
            from resnet_desktop.core.teach.api import import_labels, open_store
            from resnet_desktop.core.work import drive

            with open_store() as store:
                return drive(import_labels(store, folder, folder.name))

        self.run_task(
            lambda tasks: tasks.submit(
                work,
                on_returned=lambda report: self._show_plain(
                    f"Label set '{report.set_name}': {report.added} photos labeled in {len(report.classes)} "
                    f"classes ({report.unchanged} already were); teach it with resnet-desktop teach --set "
                    f"{report.set_name!r}."
                ),
                on_failed=lambda exc: self._show_error("Not imported", exc),
                on_finished=lambda: self.label_set_button.setEnabled(True),
            )
        )
        return True

    def _use(self) -> None:
        if self.saved_path is not None:
            self.owner().use_model(self.saved_path)
