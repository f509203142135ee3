"""Folder Rules…: what to do with each new photo of a library folder (off by default)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.api import FolderRules, Mode
from resnet_desktop.gui.common.inline_status import InlineStatus

EXPLANATION = (
    "Rules act on photos classified after they are switched on, once per photo. What they do goes "
    "through the organize journal: Undo Last Rule Run reverses it."
)


class RulesDialog(QDialog):
    def __init__(self, folder: Path, rules: FolderRules, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Rules for {folder.name or folder}")
        self.rules = rules
        self.xmp = QCheckBox("Write the top label as an XMP keyword (sidecar next to the photo)")
        self.xmp.setChecked(rules.xmp)
        self.organize = QComboBox()
        self.organize.addItem("Leave new photos where they are", None)
        self.organize.addItem("Copy new photos into class folders", Mode.COPY)
        self.organize.addItem("Move new photos into class folders", Mode.MOVE)
        self.organize.setCurrentIndex(self.organize.findData(rules.organize))
        self.into = QLineEdit(str(rules.organize_into) if rules.organize_into else "")
        self.into.setPlaceholderText("Folder to organize into")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        into_row = QHBoxLayout()
        into_row.addWidget(self.into, 1)
        into_row.addWidget(browse)
        self.threshold = QDoubleSpinBox(suffix=" %", decimals=0, maximum=100.0, singleStep=5.0)
        self.threshold.setValue(rules.threshold * 100)
        self.threshold.setToolTip("Below this top-1 confidence: no keyword, and the _uncertain folder")
        self.status = InlineStatus()
        form = QFormLayout()
        form.addRow(self.xmp)
        form.addRow("Organize:", self.organize)
        form.addRow("Into:", into_row)
        form.addRow("Minimum confidence:", self.threshold)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = QLabel(EXPLANATION)
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Organize New Photos Into")
        if chosen:
            self.into.setText(chosen)

    def chosen(self) -> FolderRules:
        into = self.into.text().strip()
        rules = replace(
            self.rules,
            xmp=self.xmp.isChecked(),
            organize=self.organize.currentData(),
            threshold=self.threshold.value() / 100,
        )
        return rules.with_into(Path(into) if into else None)

    def accept(self) -> None:
        try:
            self.chosen().check()
        except SettingsError as exc:
            self.status.show_error(exc)  # e.g. an organize rule without a folder: say so, stay open
            return
        self.rules = self.chosen()
        super().accept()
