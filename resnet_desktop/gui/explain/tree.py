"""The layer tree of the feature panel: a Layer / Type / Output view of the model's modules.

Each row carries the module's full name under ``NAME_ROLE`` so a click maps back to a layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

if TYPE_CHECKING:
    from collections.abc import Iterable

    from resnet_desktop.core.explain.api import LayerInfo

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
#: The layer tree never takes more than this for its three columns.
MAX_TREE_WIDTH = 380


class LayerTree(QTreeView):
    """A read-only tree of layers; ``fill`` it once per model, ``find_layer`` by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree_model = QStandardItemModel(0, 3, self)
        self.tree_model.setHorizontalHeaderLabels(["Layer", "Type", "Output"])
        self.setModel(self.tree_model)
        self.setUniformRowHeights(True)
        self.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(False)

    def is_empty(self) -> bool:
        return self.tree_model.rowCount() == 0

    def clear_layers(self) -> None:
        self.tree_model.removeRows(0, self.tree_model.rowCount())

    def fill(self, layers: Iterable[LayerInfo]) -> None:
        """One row per layer, nested under its parent module; non-spatial layers greyed out."""
        items: dict[str, QStandardItem] = {}
        root = self.tree_model.invisibleRootItem()
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
        self.expandToDepth(0)

    def find_layer(self, name: str) -> QModelIndex | None:
        matches = self.tree_model.match(
            self.tree_model.index(0, 0), NAME_ROLE, name, 1, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
        )
        return matches[0] if matches else None

    def select_quietly(self, index: QModelIndex) -> None:
        """Make ``index`` current without emitting ``currentChanged`` (the caller shows it itself)."""
        self.blockSignals(True)
        self.selectionModel().blockSignals(True)
        self.setCurrentIndex(index)
        self.selectionModel().blockSignals(False)
        self.blockSignals(False)
        self.scrollTo(index)

    def expected_width(self) -> int:
        """What a ResNet's three columns need before the tree is filled (the widest names of each column),
        so the window can make room for them at once."""
        metrics = self.fontMetrics()
        samples = ("maxpool", "AdaptiveAvgPool2d", "2048×14×14")
        return sum(metrics.horizontalAdvance(text) + 16 for text in samples) + 2 * self.indentation()

    def content_width(self) -> int:
        """Room for all three columns (and the scroll bar), at most MAX_TREE_WIDTH."""
        header = self.header()
        columns = sum(max(header.sectionSize(c), self.sizeHintForColumn(c)) for c in range(header.count()))
        if self.is_empty():
            columns = max(columns, self.expected_width())
        scrollbar = self.verticalScrollBar().sizeHint().width()
        return min(MAX_TREE_WIDTH, max(220, columns + scrollbar + 2 * self.frameWidth() + 4))

    def fit_columns(self) -> None:
        for column in range(self.tree_model.columnCount()):
            self.resizeColumnToContents(column)
