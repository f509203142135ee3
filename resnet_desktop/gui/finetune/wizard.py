"""The fine-tune wizard: folder -> scan report -> settings -> training -> results -> save.

Heavy work (scanning, training, saving) runs as background tasks (``gui.common.tasks``); the pages only show
what the core reports. Closing the wizard cancels whatever runs and waits for it, so no thread
outlives the window. ``modelReady(path)`` tells the main window to switch to the saved model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from resnet_desktop.core.finetune.api import DatasetScan
from resnet_desktop.gui.common.cells import number_cell
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.screen_fit import fit_window
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader
from resnet_desktop.gui.finetune.worker import WorkerPage

if TYPE_CHECKING:
    from resnet_desktop.core.finetune.api import FineTuneResult
    from resnet_desktop.core.models.ref import LoadedModel


_ONCE = Qt.ConnectionType.SingleShotConnection
THUMBS_PER_CLASS = 4
THUMB_SIDE = 72


class FolderPage(QWizardPage):
    """Pick the labeled folder by browsing, typing or dropping it here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Choose a labeled folder")
        self.setSubTitle("One subfolder per class, with that class's images inside (subfolders below are included).")
        self.setAcceptDrops(True)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Drop a folder here or browse…")
        self.edit.textChanged.connect(self.completeChanged)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        example = QLabel("photos/\n  cats/   img001.jpg, img002.jpg, …\n  dogs/   …\n  birds/  …")
        example.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        example.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # follows View > Theme
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(example)
        layout.addStretch(1)

    def folder(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_folder(self, folder: str | Path) -> None:
        self.edit.setText(str(folder))

    def isComplete(self) -> bool:
        folder = self.folder()
        return folder is not None and folder.is_dir()

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Labeled folder", self.edit.text())
        if chosen:
            self.set_folder(chosen)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(Path(u.toLocalFile()).is_dir() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if Path(url.toLocalFile()).is_dir():
                self.set_folder(url.toLocalFile())
                event.acceptProposedAction()
                return


class ScanPage(WorkerPage):
    """Per-class counts, sample thumbnails, blocking problems and warnings. Next needs no problems."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("What is in the folder")
        self.thumbnails = thumbnails
        self.scan: DatasetScan | None = None
        self.status = InlineStatus()
        self.counts = QTableWidget(0, 2)
        self.counts.setHorizontalHeaderLabels(["Class", "Images"])
        self.counts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts.verticalHeader().hide()
        self.counts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.samples = QListWidget()
        self.samples.setViewMode(QListWidget.ViewMode.IconMode)
        self.samples.setIconSize(
            self.samples.iconSize().scaled(THUMB_SIDE, THUMB_SIDE, Qt.AspectRatioMode.IgnoreAspectRatio)
        )
        self.samples.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.samples.setMovement(QListWidget.Movement.Static)
        # A fixed cell per sample (captions wrap, long ones are elided): icon mode without a grid
        # sizes items by their text, and items laid out before their thumbnail arrive overlap.
        self.samples.setWordWrap(True)
        self.samples.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.samples.setGridSize(QSize(THUMB_SIDE + 48, THUMB_SIDE + 2 * self.fontMetrics().height() + 12))
        self.samples.setSpacing(4)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.counts, 1)
        top.addWidget(self.samples, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(top, 1)
        layout.addWidget(self.notes)
        thumbnails.ready.connect(self._thumbnail_ready)

    def initializePage(self) -> None:
        self.stop()
        self.scan = None
        self.counts.setRowCount(0)
        self.samples.clear()
        self.notes.clear()
        folder = self.owner().folder_page.folder()
        if folder is None:
            return
        self.status.show_busy(f"Scanning {folder}")
        from resnet_desktop.core.finetune.api import scan_dataset

        self.run_task(
            lambda tasks: tasks.submit(
                lambda ctx: scan_dataset(folder, cancel=ctx.cancel),
                on_returned=self._show,
                on_failed=lambda exc: self.status.show_error(exc, "Could not scan"),
            )
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.scan is not None and self.scan.ok

    def _show(self, scan: DatasetScan) -> None:
        self.scan = scan
        self.status.show_info(f"{len(scan.classes)} classes, {scan.total} images in {scan.root}")
        self.counts.setRowCount(len(scan.classes))
        for row, name in enumerate(scan.classes):
            self.counts.setItem(row, 0, QTableWidgetItem(name))
            self.counts.setItem(row, 1, number_cell(str(scan.counts[name])))
            for path in scan.files[name][:THUMBS_PER_CLASS]:
                item = QListWidgetItem(name)
                item.setData(Qt.ItemDataRole.UserRole, str(path))
                item.setToolTip(str(path))
                self.samples.addItem(item)
                self._set_icon(item)
        parts = [f"<p style='color:#c62828'><b>Cannot train:</b> {_escape(p)}</p>" for p in scan.problems]
        parts += [f"<p style='color:#b26a00'>Warning: {_escape(w)}</p>" for w in scan.warnings[:20]]
        if len(scan.warnings) > 20:
            parts.append(f"<p>… and {len(scan.warnings) - 20} more warnings</p>")
        self.notes.setText("".join(parts) or "<p style='color:#2e7d32'>Ready to train.</p>")
        self.completeChanged.emit()

    def _set_icon(self, item: QListWidgetItem) -> None:
        pixmap = self.thumbnails.pixmap(item.data(Qt.ItemDataRole.UserRole), THUMB_SIDE)
        if pixmap is not None:
            item.setIcon(pixmap)

    def _thumbnail_ready(self, path: str, size: int) -> None:
        if size != THUMB_SIDE:
            return
        for row in range(self.samples.count()):
            item = self.samples.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                self._set_icon(item)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FineTuneWizard(QWizard):
    """Teach a ResNet the classes of a labeled folder; emits ``modelReady(path)`` on "Use this model now"."""

    modelReady = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        current_loaded_model: LoadedModel | None = None,
        *,
        base_arch: str | None = None,
        base_weights: str | None = None,
        folder: str | Path | None = None,
    ) -> None:
        super().__init__(parent)
        from resnet_desktop.gui.finetune.results_page import ResultsPage, SavePage
        from resnet_desktop.gui.finetune.settings_page import SettingsPage
        from resnet_desktop.gui.finetune.training_page import TrainingPage

        self.setWindowTitle("Fine-tune a new classifier")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        fit_window(self, QSize(900, 680), parent)  # never larger than the screen, on it
        self.current_loaded_model = current_loaded_model
        self.thumbnails = ThumbnailLoader(self)
        self.folder_page = FolderPage()
        self.scan_page = ScanPage(self.thumbnails)
        self.settings_page = SettingsPage(current_loaded_model, base_arch, base_weights)
        self.training_page = TrainingPage()
        self.results_page = ResultsPage(self.thumbnails)
        self.save_page = SavePage()
        for page in (
            self.folder_page,
            self.scan_page,
            self.settings_page,
            self.training_page,
            self.results_page,
            self.save_page,
        ):
            self.addPage(page)
        if folder is not None:
            self.folder_page.set_folder(folder)

    @property
    def scan(self) -> DatasetScan | None:
        return self.scan_page.scan

    @property
    def trained(self) -> FineTuneResult | None:
        """The trained classifier (None until training finished; ``result()`` is QDialog's own)."""
        return self.training_page.result

    def use_model(self, path: str | Path) -> None:
        """Tell the main window to switch to ``path`` and close."""
        self.modelReady.emit(str(path))
        self.accept()

    def unsaved_model(self) -> bool:
        """A model was trained but not saved (closing now would lose it)."""
        return self.trained is not None and self.save_page.saved_result is not self.trained

    def done(self, result: int) -> None:
        """Closing (any way) asks about an unsaved model, cancels running work and waits for it."""
        if self.unsaved_model() and not self._ask_keep_model():
            return
        self._finish(result)

    def _ask_keep_model(self) -> bool:
        """Save / Discard / Cancel. True: close now (discarded); False: stay open (saving or cancelled)."""
        button = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            "Save the trained model?",
            "The classifier you trained has not been saved. Save it before closing, or discard it?",
            button.Save | button.Discard | button.Cancel,
            button.Save,
        )
        if answer == button.Discard:
            return True
        if answer == button.Save:
            self._save_then_close()
        return False

    def _save_then_close(self) -> None:
        """Go to the save page and save under the suggested name; the wizard closes once it is written."""
        while self.currentPage() is not self.save_page and self.currentPage().isComplete():
            self.next()
        if self.currentPage() is self.save_page and self.save_page.save():
            self.save_page.saved.connect(lambda _path: self._finish(QWizard.DialogCode.Accepted), _ONCE)

    def _finish(self, result: int) -> None:
        for page in (self.scan_page, self.training_page, self.save_page):
            page.stop()
        self.thumbnails.shutdown()
        super().done(result)
