"""The organize options: destination, copy/move/link, structure, threshold, top-k, XMP keywords.

Every choice is remembered (``organize/...`` in the app's settings) and ``changed`` fires on any
edit, so the dialog can plan again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.api import DEFAULT_THRESHOLD, Mode, Naming, OrganizeOptions, read_suggested_threshold

MODES = [
    (Mode.COPY, "Copy (originals stay where they are)"),
    (Mode.MOVE, "Move"),
    (Mode.LINK, "Hard link (no extra space, same disk only)"),
    (Mode.SYMLINK, "Symbolic link"),
]
NAMINGS = [
    (Naming.FULL, "photo.jpg.xmp (digiKam, darktable)"),
    (Naming.BASE, "photo.xmp (Lightroom, Capture One)"),
    (Naming.BOTH, "Both"),
]


class OptionsForm(QWidget):
    changed = Signal()
    #: A message for the person (a report without a threshold); the dialog shows it.
    problem = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.dest_edit = QLineEdit(str(settings.value("organize/dest", "") or ""))
        self.dest_edit.setPlaceholderText("Folder to sort into")
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.clicked.connect(self.browse)
        dest_row = QHBoxLayout()
        dest_row.setContentsMargins(0, 0, 0, 0)
        dest_row.addWidget(self.dest_edit, 1)
        dest_row.addWidget(self.browse_button)

        self.mode_combo = QComboBox()
        for mode, text in MODES:
            self.mode_combo.addItem(text, mode.value)
        self._select(self.mode_combo, str(settings.value("organize/mode", Mode.COPY.value)))
        self.keep_structure = QCheckBox("&Keep the folder structure below each class")
        self.keep_structure.setChecked(str(settings.value("organize/flat", "false")).lower() != "true")
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(_float(settings.value("organize/threshold", DEFAULT_THRESHOLD)))
        self.threshold_spin.setToolTip("Photos whose best class is below this go to _uncertain")
        self.report_button = QPushButton("From &report…")
        self.report_button.setToolTip("Use the threshold an evaluation report suggests")
        self.report_button.clicked.connect(self.threshold_from_report)
        threshold_row = QHBoxLayout()
        threshold_row.setContentsMargins(0, 0, 0, 0)
        threshold_row.addWidget(self.threshold_spin)
        threshold_row.addWidget(self.report_button)
        threshold_row.addStretch(1)
        self.topk_spin = QSpinBox()
        self.topk_spin.setRange(1, 5)
        self.topk_spin.setValue(max(1, min(5, int(_float(settings.value("organize/topk", 1))))))
        self.topk_spin.setToolTip("Above 1: a photo goes to every class among its top k above the threshold")
        self.xmp_check = QCheckBox("Add the labels as &XMP keywords")
        self.xmp_check.setChecked(str(settings.value("organize/xmp", "false")).lower() == "true")
        self.naming_combo = QComboBox()
        for naming, text in NAMINGS:
            self.naming_combo.addItem(text, naming.value)
        self._select(self.naming_combo, str(settings.value("organize/xmp_naming", Naming.FULL.value)))

        self.topk_spin.setMaximumWidth(80)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for text, buddy, field in (
            ("&Into:", self.dest_edit, dest_row),
            ("&Mode:", self.mode_combo, self.mode_combo),
            ("", None, self.keep_structure),
            ("&Threshold:", self.threshold_spin, threshold_row),
            ("Top-&k classes:", self.topk_spin, self.topk_spin),
            ("", None, self.xmp_check),
            ("Sidecar &names:", self.naming_combo, self.naming_combo),
        ):
            label = QLabel(text)
            if buddy is not None:
                label.setBuddy(buddy)  # Alt+letter focuses the field
            form.addRow(label, field)
        self._sync()
        self.dest_edit.textChanged.connect(self._changed)
        for combo in (self.mode_combo, self.naming_combo):
            combo.currentIndexChanged.connect(self._changed)
        for check in (self.keep_structure, self.xmp_check):
            check.toggled.connect(self._changed)
        self.threshold_spin.valueChanged.connect(self._changed)
        self.topk_spin.valueChanged.connect(self._changed)

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(0, index))

    def _sync(self) -> None:
        self.naming_combo.setEnabled(self.xmp_check.isChecked())
        moving = self.mode_combo.currentData() == Mode.MOVE.value
        if moving and self.topk_spin.value() > 1:
            self.topk_spin.setValue(1)
        self.topk_spin.setEnabled(not moving)  # a moved photo can be in one folder only

    def _changed(self, *_args: object) -> None:
        self._sync()
        self.remember()
        self.changed.emit()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Organize Into", self.dest_edit.text())
        if folder:
            self.dest_edit.setText(folder)

    def threshold_from_report(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluation Report", "", "Reports (*.json);;All files (*)")
        if not path:
            return
        try:
            self.threshold_spin.setValue(read_suggested_threshold(path))
        except SettingsError as exc:
            self.problem.emit(str(exc))

    def dest(self) -> Path | None:
        text = self.dest_edit.text().strip()
        return Path(text).expanduser() if text else None

    def options(self) -> OrganizeOptions:
        return OrganizeOptions(
            mode=Mode(self.mode_combo.currentData()),
            flat=not self.keep_structure.isChecked(),
            threshold=self.threshold_spin.value(),
            topk=self.topk_spin.value(),
            xmp=self.xmp_check.isChecked(),
            xmp_naming=Naming(self.naming_combo.currentData()),
        )

    def remember(self) -> None:
        options = self.options()
        s = self.settings
        s.setValue("organize/dest", self.dest_edit.text())
        for key, value in options.to_dict().items():
            s.setValue(f"organize/{key}", str(value).lower() if isinstance(value, bool) else value)


def _float(value: object) -> float:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD
