"""A widget that shows one numpy RGB picture scaled to fit and reports clicks/hover in picture pixels.

The feature panel paints whole channel grids as one image (thousands of tiles, one QImage), so
the canvas only needs to scale it and translate mouse positions back to picture coordinates.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An independent QImage copy of an (H, W, 3) uint8 array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # the array may go away; the copy owns its pixels


class ImageCanvas(QWidget):
    """Paints a picture as large as fits, centred; ``smooth=False`` keeps tiles crisp (nearest).

    ``clicked``/``hovered`` carry the position in picture pixels (x, y floats); ``left`` fires
    when the cursor leaves the picture.
    """

    clicked = Signal(QPointF)
    hovered = Signal(QPointF)
    left = Signal()

    def __init__(self, parent: QWidget | None = None, *, smooth: bool = False, minimum: int = 160) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._highlight: QRectF | None = None
        self._smooth = smooth
        self._minimum = minimum
        self._min_scale = 0.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(480, 480)

    def minimumSizeHint(self) -> QSize:
        side = QSize(self._minimum, self._minimum)
        if self._image is None or self._min_scale <= 0:
            return side
        need = QSize(
            int(self._image.width() * self._min_scale + 0.999), int(self._image.height() * self._min_scale + 0.999)
        )
        return side.expandedTo(need)

    def set_min_scale(self, scale: float) -> None:
        """Never draw the picture smaller than ``scale`` x its pixels: ask for that much room (in a
        scroll area the canvas then scrolls instead of shrinking)."""
        self._min_scale = scale
        self.setMinimumSize(self.minimumSizeHint())
        self.updateGeometry()

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        """Show an (H, W, 3) uint8 picture, or nothing."""
        self._image = None if rgb is None else rgb_to_qimage(rgb)
        if self._min_scale > 0:
            self.setMinimumSize(self.minimumSizeHint())
        self.update()

    def set_highlight(self, rect: QRectF | None) -> None:
        """Outline a rectangle given in picture pixels (the selected tile), or nothing."""
        self._highlight = rect
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def target_rect(self) -> QRectF:
        """Where the picture is drawn, in widget coordinates (aspect kept, centred)."""
        if self._image is None or self._image.isNull():
            return QRectF()
        width, height = self._image.width(), self._image.height()
        scale = min(self.width() / width, self.height() / height)
        if not self._smooth and scale > 1 and int(scale) / scale >= 0.8:
            scale = float(int(scale))  # integer zoom (every tile pixel the same size) unless it wastes room
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def picture_pos(self, widget_pos: QPointF) -> QPointF | None:
        """Widget position -> picture pixel position, or None outside the picture."""
        rect = self.target_rect()
        if rect.isEmpty() or not rect.contains(widget_pos) or self._image is None:
            return None
        x = (widget_pos.x() - rect.left()) * self._image.width() / rect.width()
        y = (widget_pos.y() - rect.top()) * self._image.height() / rect.height()
        return QPointF(min(x, self._image.width() - 1e-3), min(y, self._image.height() - 1e-3))

    def widget_pos(self, picture_pos: QPointF) -> QPointF:
        """Picture pixel position -> widget position (for tests and overlays)."""
        rect = self.target_rect()
        assert self._image is not None
        return QPointF(
            rect.left() + picture_pos.x() * rect.width() / self._image.width(),
            rect.top() + picture_pos.y() * rect.height() / self._image.height(),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
            painter.drawImage(self.target_rect(), self._image)
            if self._highlight is not None:
                top_left = self.widget_pos(self._highlight.topLeft())
                bottom_right = self.widget_pos(self._highlight.bottomRight())
                painter.setPen(QPen(QColor(0, 200, 255), 2))
                painter.drawRect(QRectF(top_left, bottom_right).adjusted(-1, -1, 1, 1))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            pos = self.picture_pos(event.position())
            if pos is not None:
                self.clicked.emit(pos)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = self.picture_pos(event.position())
        if pos is None:
            self.left.emit()
        else:
            self.hovered.emit(pos)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.left.emit()
        super().leaveEvent(event)
