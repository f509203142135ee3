"""The review queue's panel: the photo the model is least sure of (or a possible mistake) beside the
Grad-CAM of its predicted class, what the model thinks, how many are left and the accuracy climbing.

Enter accepts the prediction, a digit key corrects it; either labels the photo and brings up the
next one (the room does that; this panel shows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from resnet_desktop.core.teach.api import ReviewItem
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

PHOTO_SIDE = 224
DONE_TEXT = "Every photo in the queue is done: the model is sure of the rest, or you labeled it."


def rgb_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap of an (H, W, 3) uint8 array (copied, so the array may go)."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class Picture(QLabel):
    """A picture scaled to whatever room the label has (kept whole, never cropped)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(96, 96)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def show_pixmap(self, pixmap: QPixmap | None) -> None:
        self.original = pixmap
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.original is None or self.original.isNull():
            self.clear()
            return
        keep, smooth = Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        self.setPixmap(self.original.scaled(self.width(), self.height(), keep, smooth))


def left_text(left: int) -> str:
    return f"Review queue: {left} left" if left else "Review queue: nothing left"


def accuracy_trail(history: Sequence[float]) -> str:
    """ "Held-out accuracy: 78% → 81% → 86%" (the last four refits while reviewing)."""
    if not history:
        return "Held-out accuracy: not measured yet"
    return "Held-out accuracy: " + " → ".join(f"{a:.0%}" for a in history[-4:])


def item_text(item: ReviewItem) -> str:
    if item.reason == "disagrees":
        return (
            f"You labeled it {item.label}; the model says {item.predicted} ({item.confidence:.0%}). A possible mistake."
        )
    return f"The model is unsure: {item.predicted} ({item.confidence:.0%})."


def cam_text(item: ReviewItem) -> str:
    return f"Grad-CAM of {item.predicted} by the current model: warm = what raised its score"


def keys_text(item: ReviewItem, keys: str) -> str:
    digits = f"; {keys} correct it" if keys else ""
    return f"Enter accepts {item.predicted}{digits}. The next one comes up."


class ReviewPanel(QWidget):
    """Filled by ``show_item``; ``show_cam`` once the background Grad-CAM is ready."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.title = InlineStatus(left_text(0))
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.trail = InlineStatus(accuracy_trail(()))
        self.photo = Picture()
        self.cam = Picture()
        self.photo_caption = InlineStatus("Photo")
        self.cam_caption = InlineStatus("Grad-CAM")
        self.caption = InlineStatus("")
        self.keys = InlineStatus("")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.trail, 1, 0, 1, 2)
        grid.addWidget(self.photo, 2, 0)
        grid.addWidget(self.cam, 2, 1)
        grid.addWidget(self.photo_caption, 3, 0)
        grid.addWidget(self.cam_caption, 3, 1)
        grid.addWidget(self.caption, 4, 0, 1, 2)
        grid.addWidget(self.keys, 5, 0, 1, 2)
        grid.setRowStretch(2, 1)
        self.item: ReviewItem | None = None
        thumbnails.ready.connect(self._on_thumbnail)

    def show_item(self, item: ReviewItem | None, left: int, keys: str = "") -> None:
        self.item = item
        self.title.show_info(left_text(left))
        self.cam.show_pixmap(None)
        if item is None:
            self.photo.show_pixmap(None)
            self.caption.show_info(
                "Every photo in the queue is done: the model is sure of the rest, or you labeled it."
            )
            self.keys.clear()
            self.cam_caption.show_info("Grad-CAM")
            return
        self.caption.show_info(item_text(item))
        self.keys.show_info(keys_text(item, keys))
        self.photo_caption.show_info(item.path.name)
        self.cam_caption.show_busy(f"Grad-CAM of {item.predicted}")
        self._show_photo()

    def show_cam(self, item: ReviewItem, rgb: np.ndarray) -> None:
        """The Grad-CAM drawn by the current model (the head that predicted what the badges show)."""
        if item != self.item:
            return  # the person moved on
        self.cam.show_pixmap(rgb_pixmap(rgb))
        self.cam_caption.show_info(cam_text(item))

    def show_cam_error(self, item: ReviewItem, error: BaseException) -> None:
        if item == self.item:
            self.cam_caption.show_error(error, "No Grad-CAM")

    def show_accuracy(self, history: Sequence[float]) -> None:
        self.trail.show_info(accuracy_trail(history))

    def count_text(self) -> str:
        return self.title.text()

    def _show_photo(self) -> None:
        if self.item is None:
            return
        pixmap = self.thumbnails.pixmap(str(self.item.path), PHOTO_SIDE)
        if pixmap is not None:  # small photos are shown as large as the Grad-CAM beside them
            self.photo.show_pixmap(pixmap)

    def _on_thumbnail(self, path: str, size: int) -> None:
        if size == PHOTO_SIDE and self.item is not None and path == str(self.item.path):
            self._show_photo()

    def describe(self) -> str:
        """Everything the panel says, top to bottom (for tests and for a screen reader)."""
        parts = [self.title.text(), self.trail.text(), self.caption.text(), self.keys.text(), self.cam_caption.text()]
        return "\n".join(p for p in parts if p)


def key_range(count: int) -> str:
    """The digit keys bound to ``count`` classes, as a person reads them ("1-3", "1-9 and 0")."""
    if count <= 0:
        return ""
    if count == 1:
        return "1"
    if count <= 9:
        return f"1-{count}"
    return "1-9 and 0"
