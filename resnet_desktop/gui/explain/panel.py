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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QModelIndex, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.errors import describe
from resnet_desktop.core.explain.heatmaps import (
    COLORMAPS,
    DEFAULT_COLORMAP,
    apply_colormap,
    normalize_maps,
    overlay,
    render_grid,
    save_png,
    tile_at,
)
from resnet_desktop.gui.common.dialogs import confirm_changed_name
from resnet_desktop.gui.common.tasks import TaskRunner, Work
from resnet_desktop.gui.explain.canvas import ImageCanvas
from resnet_desktop.gui.explain.jobs import Prepared, compute_cam, fetch_layer, prepare

if TYPE_CHECKING:
    from resnet_desktop.core.explain.activations import ActivationCache
    from resnet_desktop.core.explain.gradcam import CamResult
    from resnet_desktop.core.explain.hooks import LayerInfo
    from resnet_desktop.core.models.zoo import LoadedModel

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
GRID_PAD = 1
DEFAULT_LAYER = "layer1"
DEFAULT_CAM_LAYER = "layer4"
MIN_EXPORT_SIDE = 256
#: Below this width the panel stacks the detail view under the grid (e.g. as a side tab).
NARROW_WIDTH = 1000
#: Smallest on-screen tile side (px); below it the grid scrolls.
MIN_TILE_PX = 12
#: The layer tree never takes more than this for its three columns.
MAX_TREE_WIDTH = 380


class FeaturePanel(QWidget):
    """Layer tree, channel grid, enlarged channel with value readout, overlays and Grad-CAM."""

    # The current image's state (reset by ``_reset_image_state``).
    _cache: ActivationCache | None
    _layers: dict[str, LayerInfo]
    _view: np.ndarray | None
    _probabilities: np.ndarray | None
    _layer: str | None
    _activation: np.ndarray | None
    _order: np.ndarray
    _columns: int
    _grid_rgb: np.ndarray | None
    _channel: int | None
    _cams: dict[tuple[int, str], CamResult]
    _cam: CamResult | None

    #: The image's activations are ready (after ``set_image``/``set_model``).
    captured = Signal()
    #: A layer's grid is on screen.
    layerShown = Signal(str)
    #: A Grad-CAM overlay for this class index is on screen.
    camShown = Signal(int)
    #: Something failed; the message is also in the status line.
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, budget_bytes: int = 256 * 1024 * 1024) -> None:
        super().__init__(parent)
        self.budget_bytes = budget_bytes
        self._loaded: LoadedModel | None = None
        self._path: Path | None = None
        self._pending = False
        self._tasks = TaskRunner(self, max_threads=1, name="features")  # one capture at a time, in order
        self._reset_image_state()
        self.last_grid_ms = 0.0
        self._build_ui()

    # -- public API ------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        """Show this model; the current image is captured again."""
        self._loaded = loaded
        self._tree_model.removeRows(0, self._tree_model.rowCount())
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
            self.status.setText(message)

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
        """True when narrow: the grid on top, tree and detail below."""
        return bool(self._narrow)

    @property
    def busy(self) -> bool:
        """True while a capture, layer fetch or Grad-CAM runs."""
        return self._tasks.busy

    @property
    def current_layer(self) -> str | None:
        return self._layer

    @property
    def current_channel(self) -> int | None:
        return self._channel

    @property
    def current_activation(self) -> np.ndarray | None:
        """The shown layer's output for the current image, (C, H, W) float32."""
        return self._activation

    @property
    def probabilities(self) -> np.ndarray | None:
        """Class probabilities of the current image (None for a head that does not match the labels)."""
        return self._probabilities

    @property
    def forward_passes(self) -> int:
        """Forwards run so far for the current image's activations (1 when everything fitted)."""
        return 0 if self._cache is None else int(self._cache.forwards)

    def layer_names(self) -> list[str]:
        return list(self._layers)

    def select_layer(self, name: str) -> None:
        """Select ``name`` in the tree (which shows its grid)."""
        index = self._find_index(name)
        if index is None:
            raise ValueError(f"Unknown layer {name!r}")
        self._tree.setCurrentIndex(index)

    def select_channel(self, channel: int) -> None:
        """Enlarge one channel of the current layer."""
        if self._activation is None or not 0 <= channel < self._activation.shape[0]:
            raise ValueError(f"No channel {channel} in {self._layer}")
        self._channel = channel
        self.grid_canvas.set_highlight(self.tile_rect(channel))
        self._update_detail()

    def tile_rect(self, channel: int) -> QRectF:
        """Where a channel's tile is in the grid picture (picture pixels)."""
        if self._activation is None:
            return QRectF()
        tile = int(np.flatnonzero(self._order == channel)[0])
        _, height, width = self._activation.shape
        row, col = divmod(tile, self._columns)
        return QRectF(col * (width + GRID_PAD), row * (height + GRID_PAD), width, height)

    def tile_center(self, channel: int) -> QPointF:
        """Widget position (in the grid canvas) of a channel's tile, e.g. to click it in tests."""
        return self.grid_canvas.widget_pos(self.tile_rect(channel).center())

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel running work and wait for the worker (call before the app quits)."""
        self._tasks.shutdown(timeout_ms / 1000)

    # -- UI --------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._tree_model = QStandardItemModel(0, 3, self)
        self._tree_model.setHorizontalHeaderLabels(["Layer", "Type", "Output"])
        self._tree = QTreeView()
        self._tree.setModel(self._tree_model)
        self._tree.setUniformRowHeights(True)
        self._tree.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self._tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._tree.header().setStretchLastSection(False)
        self._tree.selectionModel().currentChanged.connect(self._on_tree_current)

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
        for combo in (self.norm_combo, self.sort_combo, self.cmap_combo):
            combo.currentIndexChanged.connect(self._render_grid)
        self.export_grid_button = QPushButton("Export grid…")
        self.export_grid_button.clicked.connect(self.export_grid)

        controls = QHBoxLayout()
        for widget in (self.norm_combo, self.sort_combo, self.cmap_combo):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.export_grid_button)

        self.grid_canvas = ImageCanvas(smooth=False)
        # The canvas fits the grid to the room it has, but never below MIN_TILE_PX per tile: a
        # 2048-channel layer then scrolls instead of turning into specks.
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_scroll.setWidget(self.grid_canvas)
        self.grid_scroll.setMinimumHeight(120)
        self.grid_canvas.setToolTip("Click a channel to enlarge it")
        self.grid_canvas.clicked.connect(self._on_grid_clicked)
        self.grid_canvas.hovered.connect(self._on_grid_hovered)
        self.grid_info = QLabel("Choose an image to see its feature maps.")
        self.grid_info.setTextFormat(Qt.TextFormat.PlainText)
        self.grid_info.setWordWrap(True)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(controls)
        middle_layout.addWidget(self.grid_scroll, 1)
        middle_layout.addWidget(self.grid_info)

        self.detail_title = QLabel("No channel selected")
        self.detail_title.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_title.setStyleSheet("font-weight: bold")
        self.detail_title.setWordWrap(True)
        self.detail_canvas = ImageCanvas(smooth=False, minimum=120)
        self.detail_canvas.hovered.connect(self._on_detail_hovered)
        self.readout = QLabel(" ")
        self.detail_canvas.left.connect(lambda: self.readout.setText(" "))
        self.overlay_check = QCheckBox("Overlay on photo")
        self.overlay_check.toggled.connect(self._update_detail)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Heatmap opacity")
        self.opacity_slider.valueChanged.connect(self._update_detail)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity_slider, 1)

        self.cam_check = QCheckBox("Show Grad-CAM")
        self.cam_check.toggled.connect(self._on_cam_settings)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Class to explain (the image's top 5)")
        self.class_combo.activated.connect(self._on_cam_settings)
        self.cam_layer_combo = QComboBox()
        self.cam_layer_combo.setToolTip("Layer whose output Grad-CAM weighs")
        self.cam_layer_combo.activated.connect(self._on_cam_settings)
        cam_box = QGroupBox("Grad-CAM: where the class came from")
        cam_layout = QVBoxLayout(cam_box)
        cam_layout.addWidget(self.cam_check)
        cam_layout.addWidget(self.class_combo)
        cam_layout.addWidget(self.cam_layer_combo)

        self.export_channel_button = QPushButton("Export channel…")
        self.export_channel_button.clicked.connect(self.export_channel)
        self.export_overlay_button = QPushButton("Export overlay…")
        self.export_overlay_button.clicked.connect(self.export_overlay)
        exports = QHBoxLayout()
        exports.addWidget(self.export_channel_button)
        exports.addWidget(self.export_overlay_button)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.detail_canvas, 1)
        detail_layout.addWidget(self.readout)
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(self.overlay_check)
        settings_layout.addLayout(opacity_row)
        settings_layout.addWidget(cam_box)
        settings_layout.addLayout(exports)
        settings_layout.addStretch(1)
        right = QWidget()
        self._right_layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, right)
        self._right_layout.setContentsMargins(0, 0, 0, 0)
        self._right_layout.addWidget(detail, 1)
        self._right_layout.addWidget(settings, 0)

        self._tree.setMinimumWidth(120)
        for combo in (self.class_combo, self.cam_layer_combo):  # long labels: let them shrink
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self._middle, self._right = middle, right
        self._top = QSplitter(Qt.Orientation.Horizontal)  # tree | detail under the grid, used when narrow
        self._outer = QSplitter(Qt.Orientation.Horizontal)
        self._narrow: bool | None = None
        self._arrange(narrow=False)

        self.status = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # usually a tab page: its frame is margin enough
        layout.addWidget(self._outer, 1)
        layout.addWidget(self.status)
        self._update_enabled()

    def _arrange(self, narrow: bool) -> None:
        """Wide: tree | grid | detail side by side. Narrow (a side tab): the grid on top, full width;
        tree | detail below, so the grid gets the room and the tree its columns."""
        if narrow == self._narrow:
            return
        self._narrow = narrow
        tree_width = self._tree_width()
        if narrow:
            self._top.setOrientation(Qt.Orientation.Horizontal)
            self._top.addWidget(self._tree)
            self._top.addWidget(self._right)
            self._top.setStretchFactor(0, 0)
            self._top.setStretchFactor(1, 1)
            self._top.setSizes([tree_width, max(200, self.width() - tree_width)])
            self._outer.setOrientation(Qt.Orientation.Vertical)
            self._outer.insertWidget(0, self._middle)
            self._outer.insertWidget(1, self._top)
            self._top.show()
            self._outer.setStretchFactor(0, 3)
            self._outer.setStretchFactor(1, 2)
            height = max(self.height(), 600)
            self._outer.setSizes([height * 3 // 5, height * 2 // 5])
            self._right_layout.setDirection(QBoxLayout.Direction.TopToBottom)
        else:
            self._outer.setOrientation(Qt.Orientation.Horizontal)
            self._outer.insertWidget(0, self._tree)
            self._outer.insertWidget(1, self._middle)
            self._outer.insertWidget(2, self._right)
            self._top.setParent(None)
            self._outer.setStretchFactor(0, 0)
            self._outer.setStretchFactor(1, 2)  # the grid gets two thirds of what grows
            self._outer.setStretchFactor(2, 1)
            rest = max(600, self.width() - tree_width)
            self._outer.setSizes([tree_width, rest * 2 // 3, rest // 3])
            self._right_layout.setDirection(QBoxLayout.Direction.TopToBottom)

    def _tree_width(self) -> int:
        """Room for all three columns of the layer tree (and its scroll bar), at most MAX_TREE_WIDTH."""
        header = self._tree.header()
        columns = sum(max(header.sectionSize(c), self._tree.sizeHintForColumn(c)) for c in range(header.count()))
        scrollbar = self._tree.verticalScrollBar().sizeHint().width()
        return min(MAX_TREE_WIDTH, max(220, columns + scrollbar + 2 * self._tree.frameWidth() + 4))

    def _fit_tree(self) -> None:
        """After filling: columns sized to their contents, and the tree as wide as they need."""
        for column in range(self._tree_model.columnCount()):
            self._tree.resizeColumnToContents(column)
        width = self._tree_width()
        self._tree.setMinimumWidth(min(width, 140))
        splitter = self._top if self._narrow else self._outer
        sizes = splitter.sizes()
        if sizes and sizes[0] < width:
            sizes[1] = max(100, sizes[1] - (width - sizes[0]))
            sizes[0] = width
            splitter.setSizes(sizes)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._arrange(narrow=event.size().width() < NARROW_WIDTH)
        super().resizeEvent(event)

    def _update_enabled(self) -> None:
        has_grid = self._grid_rgb is not None
        self.export_grid_button.setEnabled(has_grid)
        self.export_channel_button.setEnabled(self._channel is not None and not self.cam_check.isChecked())
        self.export_overlay_button.setEnabled(self._detail_overlay is not None)
        self.cam_check.setEnabled(self._cache is not None)

    # -- capture ---------------------------------------------------------------------------

    def _reset_image_state(self) -> None:
        self._cache = None
        self._layers = {}
        self._view = None
        self._probabilities = None
        self._layer = None
        self._activation = None
        self._order = np.arange(0)
        self._columns = 1
        self._grid_rgb = None
        self._channel = None
        self._cams = {}
        self._cam = None
        self._detail_values: np.ndarray | None = None
        self._detail_overlay: np.ndarray | None = None

    def _submit(self, kind: str, work: Work, on_done: Callable[[Any], object]) -> None:
        self._tasks.submit(work, name=kind, on_returned=on_done, on_failed=lambda exc: self._on_failed(kind, exc))

    def _request_capture(self) -> None:
        """Forget the old image's activations at once; capture the new one when visible."""
        self._tasks.invalidate()  # running work for the old image is cancelled and its answers dropped
        wanted_layer = self._layer or DEFAULT_LAYER
        self._reset_image_state()
        self._wanted_layer = wanted_layer
        self.grid_canvas.set_rgb(None)
        self.grid_canvas.set_highlight(None)
        self.detail_canvas.set_rgb(None)
        self.detail_title.setText("No channel selected")
        self.class_combo.clear()
        if self._loaded is None or self._path is None:
            self.grid_info.setText(
                "Choose an image to see its feature maps."
                if self._loaded is not None
                else "Load a model to see its feature maps."
            )
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
        self.status.setText(f"Capturing activations of {path.name}…")
        budget = self.budget_bytes
        self._submit("prepare", lambda ctx: prepare(loaded, path, layer, ctx.cancel, budget), self._on_prepared)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending:
            self._start_capture()

    def _on_failed(self, kind: str, exc: BaseException) -> None:
        message = describe(exc)
        self.status.setText(f"Could not {'open the image' if kind == 'prepare' else 'compute ' + kind}: {message}")
        self.failed.emit(message)

    def _on_layer(self, fetched: tuple[str, np.ndarray]) -> None:
        name, activation = fetched
        if name == self._layer:
            self._show_activation(name, activation)

    def _on_prepared(self, prepared: Prepared) -> None:
        self._cache = prepared.cache
        self._layers = {layer.name: layer for layer in prepared.layers}
        self._view = prepared.view
        self._probabilities = prepared.probabilities
        if self._tree_model.rowCount() == 0:
            self._fill_tree(prepared.layers)
        self._fill_cam_choices()
        self._layer = prepared.first_layer
        index = self._find_index(prepared.first_layer)
        if index is not None:
            self._tree.blockSignals(True)
            self._tree.selectionModel().blockSignals(True)
            self._tree.setCurrentIndex(index)
            self._tree.selectionModel().blockSignals(False)
            self._tree.blockSignals(False)
            self._tree.scrollTo(index)
        self._show_activation(prepared.first_layer, prepared.first_activation)
        cached = sum(1 for name in self._layers if self._cache.is_cached(name))
        self.status.setText(
            f"{prepared.path.name}: {cached} of {len(self._layers)} layers captured "
            f"({self._cache.cached_bytes / 2**20:.0f} MB)"
        )
        self._update_enabled()
        self.captured.emit()
        if self.cam_check.isChecked():
            self._on_cam_settings()

    # -- layer tree ------------------------------------------------------------------------

    def _fill_tree(self, layers: list[Any]) -> None:
        items: dict[str, QStandardItem] = {}
        root = self._tree_model.invisibleRootItem()
        for layer in layers:
            name_item = QStandardItem(layer.name.rpartition(".")[2])
            name_item.setData(layer.name, NAME_ROLE)
            name_item.setToolTip(layer.name)
            shape = "×".join(str(s) for s in layer.shape)
            row = [name_item, QStandardItem(layer.type), QStandardItem(shape)]
            for item in row[1:]:
                item.setData(layer.name, NAME_ROLE)
            if not layer.is_spatial:
                for item in row:
                    item.setForeground(self.palette().placeholderText())
            parent = items.get(layer.parent, root) if layer.parent else root
            parent.appendRow(row)
            if layer.call == 0:
                items[layer.name] = name_item
        self._tree.expandToDepth(0)
        self._fit_tree()

    def _find_index(self, name: str) -> QModelIndex | None:
        matches = self._tree_model.match(
            self._tree_model.index(0, 0), NAME_ROLE, name, 1, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
        )
        return matches[0] if matches else None

    def _on_tree_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        name = current.data(NAME_ROLE)
        if not name or self._cache is None or name == self._layer:
            return
        layer = self._layers[name]
        if not layer.is_spatial:
            self.grid_info.setText(
                f"{name} gives a vector of {layer.shape[0]} values, not feature maps; choose a convolutional layer."
            )
            return
        self._layer = name
        cached = self._cache.peek(name)
        if cached is not None:
            self._show_activation(name, cached.numpy())
            return
        self.grid_info.setText(f"Capturing {name}…")
        cache = self._cache
        self._submit("layer", lambda ctx: fetch_layer(cache, name, ctx.cancel), self._on_layer)

    # -- channel grid ----------------------------------------------------------------------

    def _show_activation(self, name: str, activation: np.ndarray) -> None:
        self._activation = activation
        if self._channel is not None and self._channel >= activation.shape[0]:
            self._channel = None
        self._render_grid()
        self.layerShown.emit(name)

    def _render_grid(self) -> None:
        if self._activation is None:
            return
        start = time.perf_counter()
        rgb, order, columns = render_grid(
            self._activation,
            normalization=self.norm_combo.currentData(),
            sort=self.sort_combo.currentData(),
            pad=GRID_PAD,
            colormap=self.cmap_combo.currentData(),
        )
        self._grid_rgb, self._order, self._columns = rgb, order, columns
        self.grid_canvas.set_rgb(rgb)
        _, tile_h, tile_w = self._activation.shape
        self.grid_canvas.set_min_scale(MIN_TILE_PX / max(1, min(tile_h, tile_w)))
        self.grid_canvas.set_highlight(None if self._channel is None else self.tile_rect(self._channel))
        self.last_grid_ms = (time.perf_counter() - start) * 1000.0
        channels, height, width = self._activation.shape
        self.grid_info.setText(
            f"{self._layer}: {channels} channels of {height}×{width}, "
            f"values {self._activation.min():.3g} … {self._activation.max():.3g}"
        )
        self._update_detail()
        self._update_enabled()

    def _tile_channel(self, pos: QPointF) -> int | None:
        if self._activation is None:
            return None
        _, height, width = self._activation.shape
        tile = tile_at(int(pos.x()), int(pos.y()), (height, width), self._columns, len(self._order), GRID_PAD)
        return None if tile is None else int(self._order[tile])

    def _on_grid_clicked(self, pos: QPointF) -> None:
        channel = self._tile_channel(pos)
        if channel is not None:
            self.select_channel(channel)

    def _on_grid_hovered(self, pos: QPointF) -> None:
        channel = self._tile_channel(pos)
        if channel is not None and self._activation is not None:
            values = self._activation[channel]
            self.grid_canvas.setToolTip(f"channel {channel}: mean {values.mean():.3g}, max {values.max():.3g}")

    # -- enlarged channel / overlays -------------------------------------------------------

    def _scaled_channel(self, channel: int) -> np.ndarray:
        """The channel scaled like the grid shows it (its own range, or the layer's)."""
        assert self._activation is not None
        if self.norm_combo.currentData() == "layer":
            low, high = float(self._activation.min()), float(self._activation.max())
            values = self._activation[channel]
            return np.zeros_like(values) if high <= low else (values - low) / (high - low)
        return normalize_maps(self._activation[channel : channel + 1], "channel")[0]

    def _update_detail(self) -> None:
        colormap = self.cmap_combo.currentData()
        opacity = self.opacity_slider.value() / 100.0
        self._detail_overlay = None
        if self.cam_check.isChecked() and self._cam is not None:
            values = scaled = self._cam.heatmap
            label = self._class_label(self._cam.class_index)
            title = f"Grad-CAM at {self._cam.layer} for {label} ({self._cam.probability:.1%})"
        elif self._channel is not None and self._activation is not None:
            values = self._activation[self._channel]
            scaled = self._scaled_channel(self._channel)
            title = f"{self._layer} · channel {self._channel}"
        else:
            self._detail_values = None
            self.detail_title.setText(
                "Click a channel to enlarge it" if self._activation is not None else "No channel selected"
            )
            self.detail_canvas.set_rgb(self._view)
            self._update_enabled()
            return
        self._detail_values = values
        self.detail_title.setText(title)
        if self.overlay_check.isChecked() and self._view is not None:
            self._detail_overlay = np.asarray(overlay(self._view, scaled, opacity, colormap))
            self.detail_canvas.set_rgb(self._detail_overlay)
        else:
            self.detail_canvas.set_rgb(apply_colormap(scaled, colormap))
        self._update_enabled()

    def _on_detail_hovered(self, pos: QPointF) -> None:
        image = self.detail_canvas.image()
        if self._detail_values is None or image is None:
            return
        height, width = self._detail_values.shape
        x = min(width - 1, int(pos.x() * width / image.width()))
        y = min(height - 1, int(pos.y() * height / image.height()))
        what = "Grad-CAM" if self.cam_check.isChecked() and self._cam is not None else f"channel {self._channel}"
        self.readout.setText(f"{what} at x={x}, y={y}: {self._detail_values[y, x]:.4g}")

    # -- Grad-CAM --------------------------------------------------------------------------

    def _class_label(self, index: int) -> str:
        categories = getattr(self._loaded, "categories", None) or []
        return f"'{categories[index]}'" if index < len(categories) else f"class {index}"

    def _fill_cam_choices(self) -> None:
        self.class_combo.clear()
        if self._probabilities is not None:
            for index in np.argsort(-self._probabilities, kind="stable")[:5]:
                self.class_combo.addItem(
                    f"{self._class_label(int(index))}  {self._probabilities[index]:.1%}", int(index)
                )
        else:
            self.class_combo.addItem("Top-1 class", -1)
        current = self.cam_layer_combo.currentData() or DEFAULT_CAM_LAYER
        self.cam_layer_combo.clear()
        for layer in self._layers.values():
            if layer.is_spatial and "." not in layer.module and layer.call == 0:
                self.cam_layer_combo.addItem(f"at {layer.name}", layer.name)
        found = self.cam_layer_combo.findData(current)
        self.cam_layer_combo.setCurrentIndex(found if found >= 0 else self.cam_layer_combo.count() - 1)

    def _on_cam_settings(self, *args: object) -> None:
        if self.sender() is self.cam_check and self.cam_check.isChecked():
            self.overlay_check.setChecked(True)  # a heatmap means most over the photo
        if not self.cam_check.isChecked() or self._cache is None:
            self._update_detail()
            return
        target = self.class_combo.currentData()
        layer = self.cam_layer_combo.currentData() or DEFAULT_CAM_LAYER
        key = (-1 if target is None else int(target), layer)
        if key in self._cams:
            self._show_cam(self._cams[key])
            return
        loaded, cache = self._loaded, self._cache
        if loaded is None or cache is None:
            return
        self.status.setText(f"Computing Grad-CAM at {layer}…")
        wanted = None if key[0] < 0 else key[0]
        self._submit("cam", lambda ctx: (key, compute_cam(loaded, cache, wanted, layer, ctx.cancel)), self._on_cam)

    def _on_cam(self, payload: tuple[tuple[int, str], CamResult]) -> None:
        key, result = payload
        self._cams[key] = result
        if key == (self.class_combo.currentData(), self.cam_layer_combo.currentData()) or key[0] < 0:
            self._show_cam(result)

    def _show_cam(self, result: Any) -> None:
        self._cam = result
        self.status.setText(f"Grad-CAM for {self._class_label(result.class_index)} at {result.layer}")
        self._update_detail()
        self.camShown.emit(result.class_index)

    # -- export ----------------------------------------------------------------------------

    def _ask_path(self, title: str, suggestion: str) -> Path | None:
        start = str((self._path.parent if self._path else Path.home()) / suggestion)
        # The dialog itself asks before replacing an existing file (Qt's default).
        chosen, _ = QFileDialog.getSaveFileName(self, title, start, "PNG image (*.png)")
        if not chosen:
            return None
        path = Path(chosen)
        final = path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")
        return final if confirm_changed_name(self, path, final) else None

    def _export(self, title: str, suffix: str, rgb: np.ndarray | None) -> Path | None:
        if rgb is None:
            return None
        stem = self._path.stem if self._path else "image"
        target = self._ask_path(title, f"{stem}-{suffix}.png")
        if target is None:
            return None
        from PIL import Image

        try:
            # The person confirmed the name in the dialog (which asks about replacing), so replace.
            save_png(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), target, overwrite=True)
        except OSError as exc:
            message = f"Could not save {target}: {exc.strerror or exc}"
            self.status.setText(message)
            self.failed.emit(message)
            return None
        self.status.setText(f"Saved {target}")
        return target

    def export_grid(self) -> Path | None:
        """Save the current layer's channel grid (one pixel per activation) as PNG."""
        return self._export("Export channel grid", f"{self._layer}-grid", self._grid_rgb)

    def export_channel(self) -> Path | None:
        """Save the enlarged channel, colour-mapped and scaled up with crisp pixels."""
        if self._channel is None or self._activation is None:
            return None
        rgb = apply_colormap(self._scaled_channel(self._channel), self.cmap_combo.currentData())
        factor = max(1, -(-MIN_EXPORT_SIDE // max(rgb.shape[:2])))
        rgb = rgb.repeat(factor, axis=0).repeat(factor, axis=1)
        return self._export("Export channel", f"{self._layer}-channel{self._channel}", rgb)

    def export_overlay(self) -> Path | None:
        """Save the overlay on the photo (Grad-CAM or channel) as shown."""
        what = "gradcam" if self.cam_check.isChecked() and self._cam is not None else f"channel{self._channel}"
        return self._export("Export overlay", f"{self._layer}-{what}-overlay", self._detail_overlay)
