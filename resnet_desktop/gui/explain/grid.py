"""The channel-grid side of the feature panel: scale / order / colormap choices, the grid, its info line.

``GridSide`` paints a layer's channels as one picture and maps tiles to channels and back; the
panel decides which layer it shows and connects the controls.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from resnet_desktop.core.explain.api import COLORMAPS, DEFAULT_COLORMAP, render_grid, tile_at
from resnet_desktop.gui.explain.canvas import ImageCanvas

GRID_PAD = 1
#: Smallest on-screen tile side (px); below it the grid scrolls.
MIN_TILE_PX = 12


class GridSide(QWidget):
    """Controls row, the scrollable grid canvas and the line that describes the layer."""

    #: A channel's tile was clicked.
    channelClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reset()
        self.norm_combo = QComboBox()
        self.norm_combo.setToolTip("Colour scale: each channel's own min..max, or the whole layer's")
        self.norm_combo.addItem("Per channel", "channel")
        self.norm_combo.addItem("Per layer", "layer")
        self.sort_combo = QComboBox()
        self.sort_combo.setToolTip("Tile order: channel number, or strongest mean / max activation first")
        self.sort_combo.addItem("By index", "index")
        self.sort_combo.addItem("By mean", "mean")
        self.sort_combo.addItem("By max", "max")
        self.cmap_combo = QComboBox()
        self.cmap_combo.setToolTip("Colormap (perceptually uniform)")
        for name in COLORMAPS:
            self.cmap_combo.addItem(name, name)
        self.cmap_combo.setCurrentIndex(COLORMAPS.index(DEFAULT_COLORMAP))
        self.export_grid_button = QPushButton("Export grid…")

        controls = QHBoxLayout()
        for widget in (self.norm_combo, self.sort_combo, self.cmap_combo):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.export_grid_button)

        self.grid_canvas = ImageCanvas(smooth=False)
        # The canvas fits the grid to the room it has, but never below
        # MIN_TILE_PX): a 2048-channel layer then scrolls instead of turning into specks.
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_scroll.setWidget(self.grid_canvas)
        self.grid_scroll.setMinimumHeight(120)
        self.grid_canvas.setToolTip("Click a channel to enlarge it")
        self.grid_canvas.clicked.connect(self._on_clicked)
        self.grid_canvas.hovered.connect(self._on_hovered)
        self.grid_info = QLabel("Choose an image to see its feature maps.")
        self.grid_info.setTextFormat(Qt.TextFormat.PlainText)
        self.grid_info.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.grid_scroll, 1)
        layout.addWidget(self.grid_info)

    def reset(self) -> None:
        """Forget the painted grid (the picture on the canvas is the caller's to clear)."""
        self.rgb: np.ndarray | None = None
        self._activation: np.ndarray | None = None
        self.order = np.arange(0)
        self.columns = 1
        self._tile_shape = (0, 0)

    def clear_picture(self) -> None:
        self.grid_canvas.set_rgb(None)
        self.grid_canvas.set_highlight(None)

    def show_layer(self, activation: np.ndarray, highlight: int | None) -> None:
        """Paint a (C, H, W) layer output with the chosen scale, order and colormap."""
        rgb, order, columns = render_grid(
            activation,
            normalization=self.norm_combo.currentData(),
            sort=self.sort_combo.currentData(),
            pad=GRID_PAD,
            colormap=self.cmap_combo.currentData(),
        )
        self.rgb, self.order, self.columns = rgb, order, columns
        self._activation = activation
        self.grid_canvas.set_rgb(rgb)
        _, tile_h, tile_w = activation.shape
        self._tile_shape = (tile_h, tile_w)
        self.grid_canvas.set_min_scale(MIN_TILE_PX / max(1, min(tile_h, tile_w)))
        self.grid_canvas.set_highlight(None if highlight is None else self.tile_rect(highlight))

    def tile_rect(self, channel: int) -> QRectF:
        """Where a channel's tile is in the painted grid (picture pixels)."""
        tile = int(np.flatnonzero(self.order == channel)[0])
        height, width = self._tile_shape
        row, col = divmod(tile, self.columns)
        return QRectF(col * (width + GRID_PAD), row * (height + GRID_PAD), width, height)

    def channel_at(self, pos: QPointF) -> int | None:
        """The channel whose tile is under ``pos`` (picture pixels), or None between tiles."""
        if self._activation is None:
            return None
        tile = tile_at(int(pos.x()), int(pos.y()), self._tile_shape, self.columns, len(self.order), GRID_PAD)
        return None if tile is None else int(self.order[tile])

    def _on_clicked(self, pos: QPointF) -> None:
        channel = self.channel_at(pos)
        if channel is not None:
            self.channelClicked.emit(channel)

    def _on_hovered(self, pos: QPointF) -> None:
        channel = self.channel_at(pos)
        if channel is not None and self._activation is not None:
            values = self._activation[channel]
            self.grid_canvas.setToolTip(f"channel {channel}: mean {values.mean():.3g}, max {values.max():.3g}")
