"""How the feature panel stacks its three parts: layer tree, channel grid and detail side.

Wide: tree | grid | detail side by side. Narrow (e.g. a side tab): the grid on top, full width,
with tree | detail below, so the grid gets the room and the tree its columns.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from resnet_desktop.gui.explain.tree import LayerTree

#: Below this width the panel stacks the detail view under the grid (e.g. as a side tab).
NARROW_WIDTH = 1000


class PanelLayout:
    """Owns the splitters that hold ``tree``, ``middle`` (the grid) and ``right`` (the detail side).

    ``host`` is the panel, whose size sets the splitters' first sizes; put ``outer`` in its layout.
    """

    def __init__(self, host: QWidget, tree: LayerTree, middle: QWidget, right: QWidget) -> None:
        self._host, self._tree, self._middle, self._right = host, tree, middle, right
        self.top = QSplitter(Qt.Orientation.Horizontal)  # tree | detail under the grid, used when narrow
        self.outer = QSplitter(Qt.Orientation.Horizontal)
        self.narrow: bool | None = None
        self.arrange(narrow=False)

    def arrange(self, narrow: bool) -> None:
        """Put the parts side by side (wide) or the grid above tree | detail (narrow)."""
        if narrow == self.narrow:
            return
        self.narrow = narrow
        tree_width = self._tree.content_width()
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

    def fit_tree(self) -> None:
        """After filling: columns sized to their contents, and the tree as wide as they need."""
        self._tree.fit_columns()
        width = self._tree.content_width()
        self._tree.setMinimumWidth(min(width, 140))
        splitter = self.top if self.narrow else self.outer
        sizes = splitter.sizes()
        if sizes and sizes[0] < width:
            sizes[1] = max(100, sizes[1] - (width - sizes[0]))
            sizes[0] = width
            splitter.setSizes(sizes)
