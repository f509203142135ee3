"""The detail side of the feature panel: the enlarged channel or Grad-CAM, its settings and exports.

``DetailSide`` shows one map (colour-mapped or over the photo) and reads values under the cursor;
the panel connects its controls and decides what it shows (the Grad-CAM logic is in ``cam.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.explain.api import apply_colormap, normalize_maps, overlay
from resnet_desktop.gui.explain.canvas import ImageCanvas

if TYPE_CHECKING:
    from resnet_desktop.core.explain.api import CamResult


class DetailSide(QWidget):
    """Title, enlarged picture and value readout; overlay, opacity, Grad-CAM and export controls."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reset()
        self.detail_title = QLabel("No channel selected")
        self.detail_title.setTextFormat(Qt.TextFormat.PlainText)
        # A bold font, not a style sheet: a widget with a style sheet keeps the palette it was polished
        # with, so after View > Theme its text was dark grey on dark grey.
        bold = self.detail_title.font()
        bold.setBold(True)
        self.detail_title.setFont(bold)
        self.detail_title.setWordWrap(True)
        self.detail_canvas = ImageCanvas(smooth=False, minimum=120)
        self.readout = QLabel(" ")
        self.detail_canvas.left.connect(lambda: self.readout.setText(" "))
        self.overlay_check = QCheckBox("Overlay on photo")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Heatmap opacity")
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity_slider, 1)

        self.cam_check = QCheckBox("Show Grad-CAM")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Class to explain (the image's top 5)")
        self.cam_layer_combo = QComboBox()
        self.cam_layer_combo.setToolTip("Layer whose output Grad-CAM weighs")
        for combo in (self.class_combo, self.cam_layer_combo):  # long labels: let them shrink
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        cam_box = QGroupBox("Grad-CAM: where the class came from")
        cam_layout = QVBoxLayout(cam_box)
        cam_layout.addWidget(self.cam_check)
        cam_layout.addWidget(self.class_combo)
        cam_layout.addWidget(self.cam_layer_combo)

        self.export_channel_button = QPushButton("Export channel…")
        self.export_overlay_button = QPushButton("Export overlay…")
        exports = QHBoxLayout()
        exports.addWidget(self.export_channel_button)
        exports.addWidget(self.export_overlay_button)

        #: The picture part (title, enlarged map, readout) and the settings part (overlay, Grad-CAM,
        #: exports): on a short screen the panel puts the settings under the layer tree instead.
        self.picture = detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.detail_canvas, 1)
        detail_layout.addWidget(self.readout)
        self.settings = settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(self.overlay_check)
        settings_layout.addLayout(opacity_row)
        settings_layout.addWidget(cam_box)
        settings_layout.addLayout(exports)
        settings_layout.addStretch(1)
        self._layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.take_parts_back()

    def take_parts_back(self) -> None:
        """The picture over the settings again (after the panel lent them out to its short layout)."""
        if self._layout.indexOf(self.picture) < 0:
            self._layout.insertWidget(0, self.picture, 1)
        if self._layout.indexOf(self.settings) < 0:
            self._layout.addWidget(self.settings, 0)
        self.picture.show()
        self.settings.show()

    def reset(self) -> None:
        #: The values under the shown map (for the readout), and the overlay picture if one is shown.
        self.values: np.ndarray | None = None
        self.overlay: np.ndarray | None = None

    def clear_picture(self) -> None:
        """No picture, no title, no Grad-CAM classes (a new image is coming)."""
        self.detail_canvas.set_rgb(None)
        self.detail_title.setText("No channel selected")
        self.class_combo.clear()

    def show_current(
        self,
        cam: CamResult | None,
        cam_label: str,
        activation: np.ndarray | None,
        channel: int | None,
        layer: str | None,
        view: np.ndarray | None,
        normalization: str,
        colormap: str,
    ) -> None:
        """Grad-CAM when given, else the chosen channel of ``activation``, else the photo (or nothing)."""
        if cam is not None:
            values = scaled = cam.heatmap
            title = f"Grad-CAM at {cam.layer} for {cam_label} ({cam.probability:.1%})"
        elif channel is not None and activation is not None:
            values = activation[channel]
            scaled = scaled_channel(activation, channel, normalization)
            title = f"{layer} · channel {channel}"
        else:
            self.show_nothing(
                "Click a channel to enlarge it" if activation is not None else "No channel selected", view
            )
            return
        self.show_map(title, values, scaled, view, colormap)

    def show_nothing(self, title: str, view: np.ndarray | None) -> None:
        """No map: the title, and the photo (or nothing)."""
        self.values = self.overlay = None
        self.detail_title.setText(title)
        self.detail_canvas.set_rgb(view)

    def show_map(
        self, title: str, values: np.ndarray, scaled: np.ndarray, view: np.ndarray | None, colormap: str
    ) -> None:
        """Show ``scaled`` (0..1) colour-mapped, over the photo when that is checked; read out ``values``."""
        self.values, self.overlay = values, None
        self.detail_title.setText(title)
        if self.overlay_check.isChecked() and view is not None:
            opacity = self.opacity_slider.value() / 100.0
            self.overlay = np.asarray(overlay(view, scaled, opacity, colormap))
            self.detail_canvas.set_rgb(self.overlay)
        else:
            self.detail_canvas.set_rgb(apply_colormap(scaled, colormap))

    def show_readout(self, pos: QPointF, what: str) -> None:
        """The value under ``pos`` (picture pixels of the canvas), e.g. ``channel 3 at x=1, y=2: 0.5``."""
        image = self.detail_canvas.image()
        if self.values is None or image is None:
            return
        height, width = self.values.shape
        x = min(width - 1, int(pos.x() * width / image.width()))
        y = min(height - 1, int(pos.y() * height / image.height()))
        self.readout.setText(f"{what} at x={x}, y={y}: {self.values[y, x]:.4g}")


def scaled_channel(activation: np.ndarray, channel: int, normalization: str) -> np.ndarray:
    """The channel scaled like the grid shows it (its own range, or the layer's)."""
    if normalization == "layer":
        low, high = float(activation.min()), float(activation.max())
        values = activation[channel]
        return np.zeros_like(values) if high <= low else (values - low) / (high - low)
    return normalize_maps(activation[channel : channel + 1], "channel")[0]
