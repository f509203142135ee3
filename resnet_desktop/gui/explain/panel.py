"""Feature Maps panel: look inside the network for one image (a tab of the main window).

API for the main window: ``FeaturePanel.set_model(loaded)`` (a core ``LoadedModel``),
``FeaturePanel.set_image(path)``, and ``clear(message)`` / ``show_unreadable(path, reason)`` for a
row that has no image to show. The panel captures in its own one-thread pool, only while it is
visible, and keeps the activations of the *current* image only (bounded by ``budget_bytes``; see
``core.features.ActivationCache``). Its hooks act only in its own worker thread, so the main window
may classify with the same model meanwhile; code that needs the model exclusively can take
``core.features.model_lock(loaded.model)``, which capture and Grad-CAM hold while they run.

The channel grid of a layer is painted as *one* image (numpy tiling in ``core.heatmaps``), so a
2048-channel layer costs milliseconds, not thousands of widgets.

This module holds the image's state and the capture flow; the parts are in their own modules:
``tree`` (layer tree), ``grid`` and ``detail`` (the two sides), ``cam`` (Grad-CAM), ``layout``
(wide / stacked), ``export`` (PNG files) and ``state`` (what is known about the image).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from PySide6.QtCore import QModelIndex, QPointF, QRectF, QSize, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QTreeView, QVBoxLayout, QWidget

from resnet_desktop.core.errors import OutputError, describe
from resnet_desktop.core.explain.api import Prepared, apply_colormap, fetch_layer, prepare
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.tasks import TaskContext, TaskRunner
from resnet_desktop.gui.explain.cam import GradCamControl
from resnet_desktop.gui.explain.detail import DetailSide, scaled_channel
from resnet_desktop.gui.explain.export import MIN_GRID_EXPORT_SIDE, ask_export_path, enlarge, write_png
from resnet_desktop.gui.explain.grid import GridSide
from resnet_desktop.gui.explain.layout import PanelLayout, mode_for
from resnet_desktop.gui.explain.state import ImageState
from resnet_desktop.gui.explain.tree import NAME_ROLE, LayerTree

R = TypeVar("R")
if TYPE_CHECKING:
    from resnet_desktop.core.explain.api import CamResult
    from resnet_desktop.core.models.ref import LoadedModel

DEFAULT_LAYER = "layer1"


class FeaturePanel(QWidget):
    """Layer tree, channel grid, enlarged channel with value readout, overlays and Grad-CAM.

    The widgets are built by ``LayerTree``, ``GridSide`` and ``DetailSide`` and stacked by
    ``PanelLayout``; this class holds the current image's state and reacts to the controls.
    """

    #: The image's activations are ready (after ``set_image``/``set_model``).
    captured = Signal()
    #: A layer's grid is on screen.
    layerShown = Signal(str)
    #: A Grad-CAM overlay for this class index is on screen.
    camShown = Signal(int)
    #: Something failed; the message is also in the status line.
    failed = Signal(str)
    #: The panel is shown with an image but the model runs torch-free: load the torch model, then
    #: ``set_model`` it (feature maps need the torch model; classifying does not).
    modelWanted = Signal()

    def __init__(self, parent: QWidget | None = None, *, budget_bytes: int = 256 * 1024 * 1024) -> None:
        super().__init__(parent)
        self.budget_bytes = budget_bytes
        self._loaded: LoadedModel | None = None
        self._on_demand = False
        self._unavailable: str | None = None  # why the on-demand model could not be loaded
        self._path: Path | None = None
        self._pending = False
        self._tasks = TaskRunner(self, max_threads=1, name="features")  # one capture at a time, in order
        self.last_grid_ms = 0.0
        self._build_ui()
        self._reset_image_state()
        self._update_enabled()

    # -- public API ------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel | None, *, on_demand: bool = False) -> None:
        """Show this model; the current image is captured again. ``None`` with ``on_demand``: a model
        is ready but not loaded with torch; ``modelWanted`` asks for it once an image is shown here."""
        self._loaded = loaded
        self._on_demand = loaded is None and on_demand
        self._unavailable = None
        self._tree.clear_layers()
        self._request_capture()

    def model_unavailable(self, reason: str) -> None:
        """The on-demand model could not be loaded: say so, and stop asking for it on every photo
        (``set_model`` asks again, e.g. after Retry)."""
        self._on_demand = False
        self._unavailable = f"Feature maps are unavailable: {reason}"
        self._request_capture()

    def set_image(self, path: str | Path | None) -> None:
        """Show this image; the previous image's activations are dropped."""
        self._path = Path(path) if path is not None else None
        self._request_capture()

    def clear(self, message: str | None = None) -> None:
        """Show no image (running work is cancelled and its answers dropped), with ``message`` if given.

        The main window calls this when the selected row is a file that could not be read, so the
        tab never goes on showing the previous photo's features.
        """
        self._path = None
        self._request_capture()
        if message:
            self.grid_info.setText(message)
            self.status.show_info(message)

    def show_unreadable(self, path: str | Path, reason: str = "") -> None:
        """Clear the panel and say why there is nothing to show for ``path``."""
        why = f": {reason}" if reason else ""
        self.clear(f"No features for {Path(path).name}: the file could not be read{why}.")

    @property
    def layer_tree(self) -> QTreeView:
        """The Layer / Type / Output tree (e.g. to click a layer)."""
        return self._tree

    @property
    def stacked(self) -> bool:
        """True when narrow: the grid on top, tree and detail below (or, when short too, in two columns)."""
        return bool(self._layout.narrow)

    @property
    def busy(self) -> bool:
        """True while a capture, layer fetch or Grad-CAM runs."""
        return self._tasks.busy

    @property
    def current_layer(self) -> str | None:
        return self._image.layer

    @property
    def current_channel(self) -> int | None:
        return self._image.channel

    @property
    def current_activation(self) -> np.ndarray | None:
        """The shown layer's output for the current image, (C, H, W) float32."""
        return self._image.activation

    @property
    def probabilities(self) -> np.ndarray | None:
        """Class probabilities of the current image (None for a head that does not match the labels)."""
        return self._image.probabilities

    @property
    def forward_passes(self) -> int:
        """Forwards run so far for the current image's activations (1 when everything fitted)."""
        return 0 if self._image.cache is None else int(self._image.cache.forwards)

    def layer_names(self) -> list[str]:
        return list(self._image.layers)

    def select_layer(self, name: str) -> None:
        """Select ``name`` in the tree (which shows its grid)."""
        index = self._tree.find_layer(name)
        if index is None:
            raise ValueError(f"Unknown layer {name!r}")
        self._tree.setCurrentIndex(index)

    def select_channel(self, channel: int) -> None:
        """Enlarge one channel of the current layer."""
        if self._image.activation is None or not 0 <= channel < self._image.activation.shape[0]:
            raise ValueError(f"No channel {channel} in {self._image.layer}")
        self._image.channel = channel
        self.grid_canvas.set_highlight(self.tile_rect(channel))
        self._update_detail()

    def tile_rect(self, channel: int) -> QRectF:
        """Where a channel's tile is in the grid picture (picture pixels)."""
        if self._image.activation is None:
            return QRectF()
        return self._grid.tile_rect(channel)

    def tile_center(self, channel: int) -> QPointF:
        """Widget position (in the grid canvas) of a channel's tile, e.g. to click it in tests."""
        return self.grid_canvas.widget_pos(self.tile_rect(channel).center())

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel running work and wait for the worker (call before the app quits)."""
        self._tasks.shutdown(timeout_ms / 1000)

    @property
    def _order(self) -> np.ndarray:
        """Channels in tile order (tools/screenshots.py picks the first tile)."""
        return self._grid.order

    @property
    def _cam(self) -> CamResult | None:
        """The Grad-CAM on screen when Grad-CAM is checked (tools/screenshots.py waits for it)."""
        return self._gradcam.current

    # -- UI --------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._tree = LayerTree()
        self._tree.selectionModel().currentChanged.connect(self._on_tree_current)

        self._grid = middle = GridSide()
        self.norm_combo, self.sort_combo, self.cmap_combo = middle.norm_combo, middle.sort_combo, middle.cmap_combo
        for combo in (self.norm_combo, self.sort_combo, self.cmap_combo):
            combo.currentIndexChanged.connect(self._render_grid)
        self.export_grid_button = middle.export_grid_button
        self.export_grid_button.clicked.connect(self.export_grid)
        self.grid_canvas, self.grid_scroll, self.grid_info = middle.grid_canvas, middle.grid_scroll, middle.grid_info
        middle.channelClicked.connect(self.select_channel)

        self._detail = right = DetailSide()
        self.detail_title, self.detail_canvas, self.readout = right.detail_title, right.detail_canvas, right.readout
        self.detail_canvas.hovered.connect(self._on_detail_hovered)
        self.overlay_check, self.opacity_slider = right.overlay_check, right.opacity_slider
        self.overlay_check.toggled.connect(self._update_detail)
        self.opacity_slider.valueChanged.connect(self._update_detail)
        self.cam_check, self.class_combo = right.cam_check, right.class_combo
        self.cam_layer_combo = right.cam_layer_combo
        self.export_channel_button = right.export_channel_button
        self.export_overlay_button = right.export_overlay_button
        self.export_channel_button.clicked.connect(self.export_channel)
        self.export_overlay_button.clicked.connect(self.export_overlay)

        self._tree.setMinimumWidth(120)
        self._layout = PanelLayout(self, self._tree, middle, right)

        self.status = InlineStatus(wrap=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # usually a tab page: its frame is margin enough
        layout.addWidget(self._layout.outer, 1)
        layout.addWidget(self.status)
        self._gradcam = GradCamControl(right, self._submit, self.status.show_busy, self._show_cam, self._update_detail)

    def sizeHint(self) -> QSize:
        return QSize(self._layout.preferred_width(), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout.arrange(mode_for(event.size().width(), event.size().height()))
        super().resizeEvent(event)

    def _update_enabled(self) -> None:
        has_grid = self._grid.rgb is not None
        self.export_grid_button.setEnabled(has_grid)
        self.export_channel_button.setEnabled(self._image.channel is not None and not self.cam_check.isChecked())
        self.export_overlay_button.setEnabled(self._detail.overlay is not None)
        self.cam_check.setEnabled(self._image.cache is not None)

    # -- capture ---------------------------------------------------------------------------

    def _reset_image_state(self) -> None:
        self._image = ImageState()
        self._grid.reset()
        self._gradcam.reset()
        self._detail.reset()

    def _submit(self, kind: str, work: Callable[[TaskContext], R], on_done: Callable[[R], object]) -> None:
        self._tasks.submit(work, name=kind, on_returned=on_done, on_failed=lambda exc: self._on_failed(kind, exc))

    def _request_capture(self) -> None:
        """Forget the old image's activations at once; capture the new one when visible."""
        self._tasks.invalidate()  # running work for the old image is cancelled and its answers dropped
        wanted_layer = self._image.layer or DEFAULT_LAYER
        self._reset_image_state()
        self._wanted_layer = wanted_layer
        self._grid.clear_picture()
        self._detail.clear_picture()
        if self._loaded is None and self._on_demand and self._path is not None:
            self.grid_info.setText("Loading the model for feature maps…")
            self._pending = True
            if self.isVisible():
                self.modelWanted.emit()
            self._update_enabled()
            return
        if self._loaded is None and self._unavailable is not None:
            self.grid_info.setText(self._unavailable)
            self._pending = False
            self._update_enabled()
            return
        if self._loaded is None or self._path is None:
            hint = "Choose an image" if self._loaded is not None else "Load a model"
            self.grid_info.setText(f"{hint} to see its feature maps.")
            self._pending = False
            self._update_enabled()
            return
        self._pending = True
        if self.isVisible():
            self._start_capture()
        self._update_enabled()

    def _start_capture(self) -> None:
        self._pending = False
        loaded, path, layer = self._loaded, self._path, self._wanted_layer
        assert path is not None and loaded is not None
        self.status.show_busy(f"Capturing activations of {path.name}")
        budget = self.budget_bytes
        self._submit("prepare", lambda ctx: prepare(loaded, path, layer, ctx.cancel, budget), self._on_prepared)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending and self._loaded is None:
            self.modelWanted.emit()
        elif self._pending:
            self._start_capture()

    def _on_failed(self, kind: str, exc: BaseException) -> None:
        self.status.show_error(exc, f"Could not {'open the image' if kind == 'prepare' else 'compute ' + kind}")
        self.failed.emit(describe(exc))

    def _on_layer(self, fetched: tuple[str, np.ndarray]) -> None:
        name, activation = fetched
        if name == self._image.layer:
            self._show_activation(name, activation)

    def _on_prepared(self, prepared: Prepared) -> None:
        self._image.cache = prepared.cache
        self._gradcam.reset(self._loaded, prepared.cache)
        self._image.layers = {layer.name: layer for layer in prepared.layers}
        self._image.view = prepared.view
        self._image.probabilities = prepared.probabilities
        if self._tree.is_empty():
            self._tree.fill(prepared.layers)
            self._layout.fit_tree()
        self._gradcam.fill_choices(self._image.probabilities, self._image.layers.values())
        self._image.layer = prepared.first_layer
        index = self._tree.find_layer(prepared.first_layer)
        if index is not None:
            self._tree.select_quietly(index)
        self._show_activation(prepared.first_layer, prepared.first_activation)
        cached = sum(1 for name in self._image.layers if self._image.cache.is_cached(name))
        self.status.show_info(
            f"{prepared.path.name}: {cached} of {len(self._image.layers)} layers captured "
            f"({self._image.cache.cached_bytes / 2**20:.0f} MB)"
        )
        self._update_enabled()
        self.captured.emit()
        if self.cam_check.isChecked():
            self._gradcam.request()

    # -- showing a layer, a channel, a Grad-CAM ---------------------------------------------

    def _on_tree_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        name = current.data(NAME_ROLE)
        if not name or self._image.cache is None or name == self._image.layer:
            return
        layer = self._image.layers[name]
        if not layer.is_spatial:
            self.grid_info.setText(
                f"{name} gives a vector of {layer.shape[0]} values, not feature maps; choose a convolutional layer."
            )
            return
        self._image.layer = name
        cached = self._image.cache.peek(name)
        if cached is not None:
            self._show_activation(name, cached.numpy())
            return
        self.grid_info.setText(f"Capturing {name}…")
        cache = self._image.cache
        self._submit("layer", lambda ctx: fetch_layer(cache, name, ctx.cancel), self._on_layer)

    def _show_activation(self, name: str, activation: np.ndarray) -> None:
        self._image.activation = activation
        if self._image.channel is not None and self._image.channel >= activation.shape[0]:
            self._image.channel = None
        self._render_grid()
        self.layerShown.emit(name)

    def _render_grid(self) -> None:
        if self._image.activation is None:
            return
        start = time.perf_counter()
        self._grid.show_layer(self._image.activation, self._image.channel)
        self.last_grid_ms = (time.perf_counter() - start) * 1000.0
        channels, height, width = self._image.activation.shape
        self.grid_info.setText(
            f"{self._image.layer}: {channels} channels of {height}×{width}, "
            f"values {self._image.activation.min():.3g} … {self._image.activation.max():.3g}"
        )
        self._update_detail()
        self._update_enabled()

    def _update_detail(self) -> None:
        cam = self._gradcam.current if self.cam_check.isChecked() else None
        label = "" if cam is None else self._gradcam.label(cam.class_index)
        normalization, colormap = self.norm_combo.currentData(), self.cmap_combo.currentData()
        self._detail.show_current(
            cam,
            label,
            self._image.activation,
            self._image.channel,
            self._image.layer,
            self._image.view,
            normalization,
            colormap,
        )
        self._update_enabled()

    def _on_detail_hovered(self, pos: QPointF) -> None:
        what = "Grad-CAM" if self.cam_check.isChecked() and self._cam is not None else f"channel {self._image.channel}"
        self._detail.show_readout(pos, what)

    def _show_cam(self, result: CamResult) -> None:
        self.status.show_info(f"Grad-CAM for {self._gradcam.label(result.class_index)} at {result.layer}")
        self._update_detail()
        self.camShown.emit(result.class_index)

    # -- export ----------------------------------------------------------------------------

    def _export(self, title: str, suffix: str, rgb: np.ndarray | None) -> Path | None:
        if rgb is None:
            return None
        target = ask_export_path(self, title, self._path, suffix)
        if target is None:
            return None
        try:
            write_png(rgb, target)
        except (OutputError, OSError) as exc:  # OutputError: the atomic writer's disk-full / read-only message
            message = str(exc) if isinstance(exc, OutputError) else f"Could not save {target}: {exc.strerror or exc}"
            self.status.show_error(message)
            self.failed.emit(message)
            return None
        self.status.show_info(f"Saved {target}")
        return target

    def export_grid(self) -> Path | None:
        """Save the current layer's channel grid (one pixel per activation) as PNG."""
        rgb = self._grid.rgb
        return self._export(
            "Export channel grid",
            f"{self._image.layer}-grid",
            None if rgb is None else enlarge(rgb, MIN_GRID_EXPORT_SIDE),
        )

    def export_channel(self) -> Path | None:
        """Save the enlarged channel, colour-mapped and scaled up with crisp pixels."""
        if self._image.channel is None or self._image.activation is None:
            return None
        scaled = scaled_channel(self._image.activation, self._image.channel, self.norm_combo.currentData())
        rgb = apply_colormap(scaled, self.cmap_combo.currentData())
        rgb = enlarge(rgb)
        return self._export("Export channel", f"{self._image.layer}-channel{self._image.channel}", rgb)

    def export_overlay(self) -> Path | None:
        """Save the overlay on the photo (Grad-CAM or channel) as shown."""
        what = "gradcam" if self.cam_check.isChecked() and self._cam is not None else f"channel{self._image.channel}"
        return self._export("Export overlay", f"{self._image.layer}-{what}-overlay", self._detail.overlay)
