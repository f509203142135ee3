"""The window's right-hand side panel (Preview, Features tabs) and how much room it gets."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QSplitter, QTabWidget


def make_room_for_tab(splitter: QSplitter, tabs: QTabWidget, index: int) -> None:
    """Widen the side panel when the tab shown needs more than it has: up to 60 % of the window, 70 % on a
    small screen (the Features tab needs its tree, grid and settings side by side there)."""
    widget = tabs.widget(index)
    inner = widget.widget() if isinstance(widget, QScrollArea) else widget
    if inner is None:
        return
    left, right = splitter.sizes()
    total = left + right
    share = 0.6 if total >= 1200 else 0.7
    need = max(inner.minimumSizeHint().width(), inner.sizeHint().width())
    wanted = min(need + 24, int(total * share))
    if wanted > right:
        splitter.setSizes([total - wanted, wanted])
