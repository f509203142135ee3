"""Toolbar pickers: architecture + weights (or a model file), device, and top-k.

The lists come from the core (``zoo.list_weights``, ``devices.available_devices``) via the
worker's ``Catalog``; until torch is imported the pickers show just the remembered choice.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QToolBar, QWidget

from resnet_desktop.core.models.ref import ModelRef, looks_like_file
from resnet_desktop.gui.common.model_service import Catalog

OPEN_FILE = "__open_model_file__"


class ModelToolbar(QToolBar):
    """Emits ``modelChosen(ModelRef)``, ``deviceChosen(str)``, ``topkChanged(int)``, ``openModelFile()``."""

    modelChosen = Signal(ModelRef)
    deviceChosen = Signal(str)
    topkChanged = Signal(int)
    openModelFile = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.setObjectName("modelToolbar")
        self.catalog: Catalog | None = None
        self.custom_files: list[str] = []
        self._ref = ModelRef()
        self.arch_combo = QComboBox()
        self.arch_combo.setToolTip("Network architecture")
        self.arch_combo.setMinimumContentsLength(9)
        self.arch_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.weights_combo = QComboBox()
        self.weights_combo.setToolTip("Trained weights, or a model file of your own")
        self.weights_combo.setMinimumContentsLength(34)
        self.weights_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the model runs")
        self.device_combo.setMinimumContentsLength(24)
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.topk_spin = QSpinBox()
        self.topk_spin.setRange(1, 20)
        self.topk_spin.setValue(5)
        self.topk_spin.setToolTip("How many classes to keep per image")
        for label, widget in (
            ("Model ", self.arch_combo),
            (" ", self.weights_combo),
            ("  Device ", self.device_combo),
            ("  Top-k ", self.topk_spin),
        ):
            self.addWidget(QLabel(label))
            self.addWidget(widget)
        self.arch_combo.activated.connect(self._on_arch)
        self.weights_combo.activated.connect(self._on_weights)
        self.device_combo.activated.connect(lambda _i: self.deviceChosen.emit(self.device()))
        self.topk_spin.valueChanged.connect(self.topkChanged)
        self.set_ref(ModelRef())
        self.set_device_choice("auto")

    # -- state ---------------------------------------------------------------------------------

    def ref(self) -> ModelRef:
        return self._ref

    def device(self) -> str:
        return str(self.device_combo.currentData() or "auto")

    def topk(self) -> int:
        return self.topk_spin.value()

    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        with QSignalBlocker(self.device_combo):
            current = self.device()
            self.device_combo.clear()
            self.device_combo.addItem("Auto", "auto")
            for device_id, name in catalog.devices:
                self.device_combo.addItem(name, device_id)
                self.device_combo.setItemData(self.device_combo.count() - 1, device_id, 3)  # tooltip
            self.set_device_choice(current)
        self.set_ref(self._ref)

    def set_device_choice(self, device: str) -> None:
        index = self.device_combo.findData(device)
        if index < 0:
            self.device_combo.addItem(device, device)
            index = self.device_combo.count() - 1
        with QSignalBlocker(self.device_combo):
            self.device_combo.setCurrentIndex(index)

    def set_ref(self, ref: ModelRef) -> None:
        """Show ``ref`` in the pickers without emitting ``modelChosen``."""
        catalog = self.catalog
        arch = ref.arch or (catalog.default_arch if catalog else None)
        weights = ref.weights_or_file or (catalog.default_weights if catalog else None)
        self._ref = ref
        if ref.file is not None and weights and weights not in self.custom_files:
            self.custom_files.insert(0, weights)
        with QSignalBlocker(self.arch_combo):
            self.arch_combo.clear()
            for name in catalog.architectures if catalog else ([arch] if arch else []):
                self.arch_combo.addItem(name, name)
            if not catalog and not arch:
                self.arch_combo.addItem("Default", None)
            self.arch_combo.setCurrentIndex(max(0, self.arch_combo.findData(arch)))
        self._fill_weights(arch, weights)

    def forget_file(self, path: str) -> None:
        """Take a file that could not be loaded off the weights list."""
        if path in self.custom_files:
            self.custom_files.remove(path)

    def _fill_weights(self, arch: str | None, selected: str | None) -> None:
        catalog = self.catalog
        with QSignalBlocker(self.weights_combo):
            self.weights_combo.clear()
            if catalog and arch:
                for name, text in catalog.weights.get(arch, []):
                    self.weights_combo.addItem(text, name)
                self.weights_combo.addItem("random (demo only: meaningless predictions)", catalog.random_weights)
            elif selected and not is_weights_file(selected):
                self.weights_combo.addItem(selected, selected)
            elif not selected:
                self.weights_combo.addItem("Default weights", None)
            if self.custom_files:
                self.weights_combo.insertSeparator(self.weights_combo.count())
                for path in self.custom_files:
                    self.weights_combo.addItem(Path(path).name, path)
                    self.weights_combo.setItemData(self.weights_combo.count() - 1, path, 3)
            self.weights_combo.insertSeparator(self.weights_combo.count())
            self.weights_combo.addItem("Open model file…", OPEN_FILE)
            index = self.weights_combo.findData(selected)
            self.weights_combo.setCurrentIndex(index if index >= 0 else 0)

    # -- user actions --------------------------------------------------------------------------

    def _on_arch(self, _index: int) -> None:
        arch = self.arch_combo.currentData()
        default = None
        if self.catalog:
            default = next((n for n, text in self.catalog.weights.get(arch, []) if "(default)" in text), None)
        self._fill_weights(arch, default)
        self._emit_current()

    def _on_weights(self, _index: int) -> None:
        if self.weights_combo.currentData() == OPEN_FILE:
            self.set_ref(self._ref)  # put the previous choice back; the window opens a dialog
            self.openModelFile.emit()
            return
        self._emit_current()

    def _emit_current(self) -> None:
        weights = self.weights_combo.currentData()
        if weights is not None and is_weights_file(weights):
            ref = ModelRef(file=Path(weights))  # a file brings its own architecture
        else:
            ref = ModelRef.parse(self.arch_combo.currentData(), weights)
        if ref != self._ref:
            self._ref = ref
            self.modelChosen.emit(ref)


def is_weights_file(weights: str) -> bool:
    """Whether a weights choice names a file rather than torchvision weights (``ref``'s one rule)."""
    return looks_like_file(weights)
