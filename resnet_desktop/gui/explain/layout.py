"""How the feature panel stacks its three parts: layer tree, channel grid and detail side.

Wide: tree | grid | detail side by side. Narrow (e.g. a side tab): the grid on top, full width,
with tree | detail below, so the grid gets the room and the tree its columns. Narrow and short (a
side tab on a 1024x700 or 1366x768 screen): two columns, the tree over the detail's settings on the
left, the grid over the enlarged channel on the right, so neither the grid nor the settings are
squeezed to a strip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from resnet_desktop.gui.explain.detail import DetailSide
from resnet_desktop.gui.explain.tree import LayerTree

#: Below this width the panel stacks the detail view under the grid (e.g. as a side tab).
NARROW_WIDTH = 1000
#: Below this height a narrow panel uses two columns instead of stacking (small screens).
SHORT_HEIGHT = 760

WIDE, STACKED, SHORT = "wide", "stacked", "short"


def mode_for(width: int, height: int) -> str:
    if width >= NARROW_WIDTH:
        return WIDE
    return SHORT if height < SHORT_HEIGHT else STACKED


class PanelLayout:
    """Owns the splitters that hold ``tree``, ``middle`` (the grid) and ``right`` (the detail side).

    ``host`` is the panel, whose size sets the splitters' first sizes; put ``outer`` in its layout.
    """

    def __init__(self, host: QWidget, tree: LayerTree, middle: QWidget, right: DetailSide) -> None:
        self._host, self._tree, self._middle, self._right = host, tree, middle, right
        self.top = QSplitter(Qt.Orientation.Horizontal)  # tree | detail under the grid, used when narrow
        self.outer = QSplitter(Qt.Orientation.Horizontal)
        # Short: tree over the detail's settings | grid over the detail's picture.
        self.left_column = QSplitter(Qt.Orientation.Vertical)
        self.right_column = QSplitter(Qt.Orientation.Vertical)
        for column in (self.left_column, self.right_column):
            column.setChildrenCollapsible(False)
        self.mode: str | None = None
        self.arrange(WIDE)

    @property
    def narrow(self) -> bool | None:
        return None if self.mode is None else self.mode != WIDE

    def arrange(self, mode: str) -> None:
        """Put the parts side by side (wide), the grid above tree | detail (stacked), or in two columns (short)."""
        if mode == self.mode:
            return
        leaving_short = self.mode == SHORT
        self.mode = mode
        tree_width = self._tree.content_width()
        if leaving_short:  # lend the parts back before they are placed again
            self._right.take_parts_back()
            self.left_column.setParent(None)
            self.right_column.setParent(None)
        if mode == SHORT:
            self._arrange_short(tree_width)
            return
        narrow = mode == STACKED
        if narrow:
            self.top.setOrientation(Qt.Orientation.Horizontal)
            self.top.addWidget(self._tree)
            self.top.addWidget(self._right)
            self.top.setStretchFactor(0, 0)
            self.top.setStretchFactor(1, 1)
            self.top.setSizes([tree_width, max(200, self._host.width() - tree_width)])
            self.outer.setOrientation(Qt.Orientation.Vertical)
            self.outer.insertWidget(0, self._middle)
            self.outer.insertWidget(1, self.top)
            self.top.show()
            self.outer.setStretchFactor(0, 3)
            self.outer.setStretchFactor(1, 2)
            height = max(self._host.height(), 600)
            self.outer.setSizes([height * 3 // 5, height * 2 // 5])
        else:
            self.outer.setOrientation(Qt.Orientation.Horizontal)
            self.outer.insertWidget(0, self._tree)
            self.outer.insertWidget(1, self._middle)
            self.outer.insertWidget(2, self._right)
            self.top.setParent(None)
            self.outer.setStretchFactor(0, 0)
            self.outer.setStretchFactor(1, 2)  # the grid gets two thirds of what grows
            self.outer.setStretchFactor(2, 1)
            rest = max(600, self._host.width() - tree_width)
            self.outer.setSizes([tree_width, rest * 2 // 3, rest // 3])

    def preferred_width(self) -> int:
        """Narrow: the tree with all its columns beside the detail's settings or the grid's controls (what a
        side tab asks the window for); wide: whatever it has."""
        tree = max(self._tree.content_width(), self._tree.minimumWidth())
        beside = max(self._right.settings.sizeHint().width(), self._middle.sizeHint().width(), 300)
        return tree + beside + 16

    def _arrange_short(self, tree_width: int) -> None:
        self.top.setParent(None)
        self.left_column.addWidget(self._tree)
        self.left_column.addWidget(self._right.settings)
        self.right_column.addWidget(self._middle)
        self.right_column.addWidget(self._right.picture)
        self._right.setParent(None)
        self.outer.setOrientation(Qt.Orientation.Horizontal)
        self.outer.insertWidget(0, self.left_column)
        self.outer.insertWidget(1, self.right_column)
        self.left_column.show()
        self.right_column.show()
        self._right.settings.show()
        self._right.picture.show()
        self.outer.setStretchFactor(0, 0)
        self.outer.setStretchFactor(1, 1)
        self.left_column.setStretchFactor(0, 1)
        self.left_column.setStretchFactor(1, 0)
        self.right_column.setStretchFactor(0, 3)
        self.right_column.setStretchFactor(1, 1)
        height = max(self._host.height(), 400)
        settings = self._right.settings.sizeHint().height()
        self.left_column.setSizes([max(120, height - settings), settings])
        self.right_column.setSizes([height * 2 // 3, height // 3])
        self.outer.setSizes([tree_width, max(200, self._host.width() - tree_width)])

    def fit_tree(self) -> None:
        """After filling: columns sized to their contents, and the tree as wide as they need."""
        self._tree.fit_columns()
        width = self._tree.content_width()
        self._tree.setMinimumWidth(min(width, 140))
        splitter = self.top if self.mode == STACKED else self.outer
        sizes = splitter.sizes()
        if sizes and sizes[0] < width:
            sizes[1] = max(100, sizes[1] - (width - sizes[0]))
            sizes[0] = width
            splitter.setSizes(sizes)
