"""Table cells the app's tables share (one place, so every table aligns numbers the same way)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem


def number_cell(text: str) -> QTableWidgetItem:
    """A cell holding a number: right-aligned, so digits line up down the column."""
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
