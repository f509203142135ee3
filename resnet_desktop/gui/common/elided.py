"""A one-line label that shows what fits with an ellipsis, never a word cut mid-way.

A status line cut by its box ("Drop images t", "ONNX Runtir") reads as a bug; elided
("Drop images…") reads as "there is more", and the full text is the tooltip. ``text()`` is the
full text; ``shown()`` is what is on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def shown(self) -> str:
        """The text as it is drawn (elided to the label's width)."""
        return super().text()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        return QSize(width, hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("…") * 4, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        margins = self.contentsMargins()
        room = max(0, self.width() - margins.left() - margins.right() - 2)
        metrics = self.fontMetrics()
        # elidedText measures with fractional advances: given exactly the room sizeHint asked for, it
        # would still elide ("No …del"); a text that fits is shown whole
        fits = metrics.horizontalAdvance(self._full) <= room
        super().setText(self._full if fits else metrics.elidedText(self._full, self._mode, room))
