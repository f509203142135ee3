"""Wizard page: training settings with sensible defaults (those of ``FineTuneSettings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
    QWizardPage,
)

from resnet_desktop.core.models.ref import looks_like_file
from resnet_desktop.gui.common.dialogs import MODEL_FILTER

if TYPE_CHECKING:
    from resnet_desktop.core.finetune.api import FineTuneSettings
    from resnet_desktop.core.models.ref import LoadedModel


CURRENT = "current"
#: Offered for every architecture; a file can be chosen too.
WEIGHT_CHOICES = (
    ("DEFAULT", "ImageNet (best available)"),
    ("IMAGENET1K_V1", "ImageNet V1"),
    ("random", "Random weights (demo / testing)"),
)
MODE_CHOICES = (
    ("head", "Head only (fast: features computed once)"),
    ("last-stage", "Head + last stage (slower, end to end)"),
)


class SettingsPage(QWizardPage):
    """Base model, mode, validation share, epochs, learning rate, batch size, augmentation, balancing, seed."""

    def __init__(
        self,
        current_loaded_model: LoadedModel | None = None,
        base_arch: str | None = None,
        base_weights: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        from resnet_desktop.core.finetune.api import FineTuneSettings

        defaults = FineTuneSettings()
        self.setTitle("Settings")
        self.setSubTitle(
            "The defaults suit most folders. Each augmented view costs about one more pass over the training images."
        )
        self.current = current_loaded_model
        self.arch = QComboBox()
        if current_loaded_model is not None:
            self.arch.addItem(
                f"Current model ({getattr(current_loaded_model, 'source', 'open in the main window')})", CURRENT
            )
        for arch in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
            self.arch.addItem(arch, arch)
        self.weights = QComboBox()
        self.weights.setEditable(False)
        for name, text in WEIGHT_CHOICES:
            self.weights.addItem(text, name)
        weights_file = QPushButton("File…")
        weights_file.clicked.connect(self._choose_file)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.mode = QComboBox()
        for name, text in MODE_CHOICES:
            self.mode.addItem(text, name)
        self.val_percent = _spin(5, 50, round(defaults.val_split * 100), " %")
        self.epochs = _spin(1, 500, defaults.epochs)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(1e-5, 1.0)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(defaults.learning_rate)
        self.batch_size = _spin(1, 1024, defaults.batch_size)
        self.augment = _spin(0, 10, defaults.augment)
        self.balance = QCheckBox("Weight the loss so every class counts equally")
        self.seed = _spin(0, 2**31 - 1, defaults.seed)
        self.optimizer = QComboBox()
        self.optimizer.addItem("L-BFGS, regularisation chosen by cross-validation", "lbfgs")
        self.optimizer.addItem("AdamW (uses learning rate and batch size)", "adamw")
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights, 1)
        weights_row.addWidget(weights_file)
        form = QFormLayout(self)
        form.addRow("Base model", self.arch)
        form.addRow("Base weights", weights_row)
        form.addRow("Mode", self.mode)
        form.addRow("Validation share", self.val_percent)
        form.addRow("Max. epochs", self.epochs)
        form.addRow("Head optimiser", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Batch size", self.batch_size)
        # L-BFGS on the head uses every image at once and picks its own steps: say so instead of
        # offering two boxes that would change nothing.
        self.hyper_note = QLabel(
            "Learning rate and batch size do not apply here: L-BFGS uses all training images at once and "
            "chooses its own step size. They apply to AdamW and to the last-stage mode."
        )
        self.hyper_note.setWordWrap(True)
        # A palette role, not a style sheet: it follows View > Theme (a style sheet keeps its first colours).
        self.hyper_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        form.addRow(self.hyper_note)
        form.addRow("Augmented views", self.augment)
        form.addRow("Class balancing", self.balance)
        form.addRow("Seed", self.seed)
        note = QLabel("Training stops early when the validation loss stops improving.")
        note.setWordWrap(True)
        form.addRow(note)
        self._select(self.arch, base_arch or (CURRENT if current_loaded_model is not None else defaults.arch))
        if base_weights:
            self.set_weights(base_weights)
        self._form = form
        self.mode.currentIndexChanged.connect(self._update_hyperparameters)
        self.optimizer.currentIndexChanged.connect(self._update_hyperparameters)
        self._arch_changed()
        self._update_hyperparameters()

    def hyperparameters_apply(self) -> bool:
        """Learning rate and batch size matter for AdamW, and for the end-to-end (last-stage) phase."""
        return self.optimizer.currentData() == "adamw" or self.mode.currentData() == "last-stage"

    def _update_hyperparameters(self) -> None:
        applies = self.hyperparameters_apply()
        self._form.setRowVisible(self.learning_rate, applies)
        self._form.setRowVisible(self.batch_size, applies)
        self._form.setRowVisible(self.hyper_note, not applies)

    def set_weights(self, name: str) -> None:
        if self.weights.findData(name) < 0:
            self.weights.addItem(name, name)
        self._select(self.weights, name)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Base weights", "", MODEL_FILTER)
        if path:
            self.set_weights(path)

    def _arch_changed(self) -> None:
        self.weights.setEnabled(self.arch.currentData() != CURRENT)

    @staticmethod
    def _select(combo: QComboBox, data: str | None) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def use_current_model(self) -> bool:
        return self.arch.currentData() == CURRENT

    def settings(self) -> FineTuneSettings:
        """The chosen :class:`FineTuneSettings` (arch/weights of the current model when chosen)."""
        from resnet_desktop.core.finetune.api import FineTuneSettings

        if self.use_current_model():
            assert self.current is not None, "offered only with a loaded model"
            arch = self.current.arch
            weights = str(self.current.custom_file or self.current.weights_name or "current")
        else:
            arch, weights = self.arch.currentData(), self.weights.currentData()
            if looks_like_file(weights):
                arch = None  # a weights file brings its own architecture (read when it loads)
        return FineTuneSettings(
            arch=arch,
            weights=weights,
            mode=self.mode.currentData(),
            val_split=self.val_percent.value() / 100,
            epochs=self.epochs.value(),
            learning_rate=self.learning_rate.value(),
            batch_size=self.batch_size.value(),
            augment=self.augment.value(),
            balance=self.balance.isChecked(),
            seed=self.seed.value(),
            optimizer=self.optimizer.currentData(),
        )


def _spin(low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin
