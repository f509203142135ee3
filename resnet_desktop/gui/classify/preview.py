"""The large preview of the selected file with its top-k classes as labelled bars."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.gui.common.bars import draw_bar
from resnet_desktop.gui.common.inline_status import InlineStatus
from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

PREVIEW_SIZE = 720


class TopKBars(QWidget):
    """Horizontal bars, one per class: label on the left, percentage on the right."""

    ROW_HEIGHT = 26

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scores: tuple[ClassScore, ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scores(self, scores: tuple[ClassScore, ...]) -> None:
        self._scores = tuple(scores)
        self.updateGeometry()
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def scores(self) -> tuple[ClassScore, ...]:
        return self._scores

    def sizeHint(self) -> QSize:
        return QSize(280, max(1, len(self._scores)) * self.ROW_HEIGHT + 4)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        width = self.width()
        percent_width = self.fontMetrics().horizontalAdvance("100.0 %") + 8
        for i, score in enumerate(self._scores):
            top = i * self.ROW_HEIGHT + 2
            bar = QRectF(0, top, width - percent_width, self.ROW_HEIGHT - 4)
            fill = palette.color(QPalette.ColorRole.Highlight)
            fill.setAlpha(200 if i == 0 else 120)
            draw_bar(painter, bar, score.probability, palette, fill, radius=4, minimum=3)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            font = painter.font()
            font.setBold(i == 0)
            painter.setFont(font)
            text = self.fontMetrics().elidedText(score.label, Qt.TextElideMode.ElideRight, int(bar.width()) - 12)
            painter.drawText(
                bar.adjusted(8, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text
            )
            painter.drawText(
                QRectF(width - percent_width, top, percent_width, self.ROW_HEIGHT - 4),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{score.probability * 100:.1f} %",
            )
        painter.end()


class ImageLabel(QLabel):
    """A label that scales its pixmap to fit while keeping the aspect ratio."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, pixmap: QPixmap | None, placeholder: str = "") -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(placeholder)
        else:
            self.setText("")
            self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.setPixmap(
                self._pixmap.scaled(
                    self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )


class PreviewPanel(QWidget):
    """Shows the selected row: the image (decoded off-thread) and its top-k bars, or its error."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.row: Prediction | None = None
        self.topk = 5
        self.image = ImageLabel()
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a file name is never markup
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.message = InlineStatus()
        self.bars = TopKBars()
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.bars)
        layout.addWidget(self.message)
        loader.ready.connect(self._on_ready)
        self.show_row(None)

    def set_topk(self, topk: int) -> None:
        """The Top-k setting, for the hint text (the bars show whatever the row has)."""
        self.topk = topk
        if self.row is None:
            self.show_row(None)

    def show_row(self, row: Prediction | None) -> None:
        self.row = row
        if row is None:
            self.title.setText("")
            self.bars.set_scores(())
            classes = "top class" if self.topk == 1 else f"top-{self.topk} classes"
            self.message.show_info(f"Select a result to see it large with its {classes}.")
            self.image.set_image(None, "")
            return
        self.title.setText(row.path.name)
        self.title.setToolTip(str(row.path))
        self.bars.set_scores(row.scores)
        if row.error:
            self.message.show_error(row.error)
        else:
            self.message.clear()
        pixmap = self.loader.pixmap(str(row.path), PREVIEW_SIZE)
        waiting = pixmap is None and not self.loader.failed(str(row.path), PREVIEW_SIZE)
        self.image.set_image(pixmap, "Loading…" if waiting else "No preview")

    def _on_ready(self, path: str, size: int) -> None:
        if self.row is not None and size == PREVIEW_SIZE and path == str(self.row.path):
            pixmap = self.loader.cache.get((path, size))
            self.image.set_image(pixmap, "No preview")
