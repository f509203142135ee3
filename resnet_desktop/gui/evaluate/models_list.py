"""The list of models to evaluate or time: architecture names, ARCH:WEIGHTS, model files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.models.ref import KNOWN_ARCHITECTURES, ModelRef
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.inline_status import InlineStatus


class ModelList(QWidget):
    """Pick models: type or choose ``ARCH[:WEIGHTS]`` and press Add, or add a model file."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.entry = QComboBox()
        self.entry.setEditable(True)
        self.entry.addItems([*KNOWN_ARCHITECTURES, "resnet50:IMAGENET1K_V1", "resnet18:random"])
        self.entry.setToolTip(
            "ARCH, ARCH:WEIGHTS (a torchvision weights name or 'random'). The -v1 models are ResNet v1: "
            "no ImageNet weights exist for them (random weights, or your own file as ARCH:FILE)."
        )
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_entry)
        self.file_button = QPushButton("Add Model File…")
        self.file_button.clicked.connect(self.add_file)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.error = InlineStatus()
        row = QHBoxLayout()
        row.addWidget(self.entry, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.file_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.error.hide()

    def add_choice(self, choice: ModelRef) -> None:
        text = choice.text()
        if text in self.texts():
            return
        item = QListWidgetItem(choice.label())
        item.setData(Qt.ItemDataRole.UserRole, text)
        item.setToolTip(text)
        self.list.addItem(item)
        self.changed.emit()

    def add_entry(self) -> None:
        try:
            choice = ModelRef.parse(self.entry.currentText())
        except WeightsError as exc:
            self.error.show_error(exc)
            self.error.show()
            return
        self.error.hide()
        self.add_choice(choice)

    def add_file(self) -> None:
        path = dialogs.ask_model_file(self)
        if path is not None:
            self.add_choice(ModelRef(file=Path(path)))

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()

    def texts(self) -> list[str]:
        return [str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def choices(self) -> list[ModelRef]:
        return [ModelRef.parse(text) for text in self.texts()]

    def set_texts(self, texts: list[str]) -> None:
        self.list.clear()
        for text in texts:
            try:
                self.add_choice(ModelRef.parse(text))
            except WeightsError:
                continue  # a remembered file that is gone
