"""Error analysis: Grad-CAM for the true class and for the predicted class of one photo, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QWidget

from resnet_desktop.gui.common.inline_status import InlineStatus

if TYPE_CHECKING:
    from resnet_desktop.core.explain.api import CamPair


def pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap of an (H, W, 3) uint8 array (copied, so the array may go)."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class CamDialog(QDialog):
    """Filled by ``show_pair`` once the background task has computed both heatmaps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Why this prediction? Grad-CAM")
        self.status = InlineStatus()
        self.status.show_busy("Computing Grad-CAM for the true and the predicted class")
        self.true_image = QLabel()
        self.pred_image = QLabel()
        # Class names are folder names: plain text (a folder called "<b>" shows as typed), bold by font.
        self.true_caption = InlineStatus()
        self.pred_caption = InlineStatus()
        for caption in (self.true_caption, self.pred_caption):
            font = caption.font()
            font.setBold(True)
            caption.setFont(font)
        for label in (self.true_image, self.pred_image, self.true_caption, self.pred_caption):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid = QGridLayout(self)
        grid.addWidget(self.status, 0, 0, 1, 2)
        grid.addWidget(self.true_caption, 1, 0)
        grid.addWidget(self.pred_caption, 1, 1)
        grid.addWidget(self.true_image, 2, 0)
        grid.addWidget(self.pred_image, 2, 1)
        self.pair: CamPair | None = None

    def show_pair(self, pair: CamPair, true_name: str, pred_name: str) -> None:
        self.pair = pair
        same = pair.true_index == pair.pred_index
        self.status.show_info(
            f"{pair.path}\nWarm colours: the parts of the photo that raised each class's score (layer4)."
            + ("\nThe prediction is right: both sides explain the same class." if same else "")
        )
        self.true_caption.show_info(f"True: {true_name} (probability {pair.true_probability:.1%})")
        self.pred_caption.show_info(f"Predicted: {pred_name} (probability {pair.pred_probability:.1%})")
        self.true_image.setPixmap(pixmap(pair.true_overlay))
        self.pred_image.setPixmap(pixmap(pair.pred_overlay))

    def show_error(self, error: BaseException | str) -> None:
        self.status.show_error(error, "Grad-CAM failed")
