"""The window's right-hand side panel (Preview, Features tabs) and how much room it gets."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QSplitter, QTabWidget


def make_room_for_tab(splitter: QSplitter, tabs: QTabWidget, index: int) -> None:
    """Widen the side panel (up to 60 % of the window) when the tab shown needs more than it has."""
    widget = tabs.widget(index)
    inner = widget.widget() if isinstance(widget, QScrollArea) else widget
    if inner is None:
        return
    left, right = splitter.sizes()
    total = left + right
    wanted = min(inner.minimumSizeHint().width() + 24, int(total * 0.6))
    if wanted > right:
        splitter.setSizes([total - wanted, wanted])
