"""A rounded confidence bar: a faint track and a filled part, as the table and the preview draw it."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette


def draw_bar(
    painter: QPainter, bar: QRectF, fraction: float, palette: QPalette, fill: QColor, *, radius: float, minimum: float
) -> None:
    """Track in the palette's mid colour, then ``fraction`` of ``bar`` in ``fill`` (never thinner than ``minimum``)."""
    track = palette.color(QPalette.ColorRole.Mid)
    track.setAlpha(55)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(track)
    painter.drawRoundedRect(bar, radius, radius)
    filled = QRectF(bar)
    filled.setWidth(max(minimum, bar.width() * fraction))
    painter.setBrush(fill)
    painter.drawRoundedRect(filled, radius, radius)
