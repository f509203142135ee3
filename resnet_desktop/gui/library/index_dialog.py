"""Help > Library Index…: where the index is and how big, forget one folder, clear it all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.library.api import IndexInfo, clear_index, forget_folder, index_info
from resnet_desktop.gui.common.dialogs import ask_yes_no
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import TaskRunner


class IndexDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Library Index")
        self.info: IndexInfo | None = None
        self.text = InlineStatus()  # selectable: the path can be copied
        self.text.show_busy("Reading the library index")
        self.runner = TaskRunner(self, max_threads=1, name="library index", status=self.text)
        self.forget_button = QPushButton("&Forget a Folder…")
        self.forget_button.setToolTip("Remove what the index holds about the photos in one folder")
        self.forget_button.clicked.connect(lambda: self.forget())
        self.clear_button = QPushButton("&Clear Index…")
        self.clear_button.clicked.connect(lambda: self.clear())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.forget_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.clear_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(560, 220)
        self._run(index_info)

    def _run(self, work: Callable[[], IndexInfo]) -> None:
        """Run one of core's index use cases on the dialog's thread; each returns the index's info."""
        self.forget_button.setEnabled(False)
        self.clear_button.setEnabled(False)
        self.runner.submit(lambda _ctx: work(), name="library index", on_returned=self._show_info)

    def _show_info(self, info: IndexInfo) -> None:
        self.info = info
        self.text.show_info(
            f"Location: {info.path}\n"
            f"Size: {info.size_bytes / 2**20:.1f} MB\n"
            f"{info.files} files, {info.results} results, {info.embeddings} embeddings, {info.models} model(s)"
        )
        self.forget_button.setEnabled(True)
        self.clear_button.setEnabled(True)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.shutdown()
        super().closeEvent(event)

    def forget(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Forget a Folder in the Library Index")
            if not chosen:
                return
            folder = Path(chosen)
        target = folder.absolute()
        self._run(lambda: forget_folder(target))

    def clear(self) -> None:
        if ask_yes_no(
            self,
            "Clear the library index",
            "Forget every stored result and embedding? Photos are not touched; they are classified again "
            "the next time they are opened.",
        ):
            self._run(clear_index)
