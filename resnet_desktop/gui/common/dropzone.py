"""Drag-and-drop pieces: reading paths from mime data, the drop highlight, the empty-state page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget


def local_paths(mime: QMimeData | None) -> list[Path]:
    """The local files/folders in a drop or paste (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class DropOverlay(QWidget):
    """A translucent highlight with a dashed border, shown over the window while files hover."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.text = "Drop to classify"
        self.hide()

    def show_over(self, text: str) -> None:
        self.text = text
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        fill = QColor(highlight)
        fill.setAlpha(50)
        rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        painter.setBrush(fill)
        painter.setPen(QPen(highlight, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(rect, 12, 12)
        # The message sits on a solid "pill" so it stays readable over the table.
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        pill = QRectF(0, 0, metrics.horizontalAdvance(self.text) + 48, metrics.height() + 28)
        pill.moveCenter(rect.center())
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(highlight, 2))
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, self.text)
        painter.end()


class DropTarget(QObject):
    """Makes ``widget`` accept dropped files and folders: highlights it while they hover, emits
    ``dropped(paths)``. ``describe(paths)`` gives the highlight's text."""

    dropped = Signal(list)

    def __init__(self, widget: QWidget, overlay: DropOverlay, describe: Callable[[list[Path]], str]) -> None:
        super().__init__(widget)
        self.widget = widget
        self.overlay = overlay
        self.describe = describe
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.DragEnter and isinstance(event, QDragEnterEvent):
            paths = local_paths(event.mimeData())
            if not paths:
                event.ignore()
                return True
            event.acceptProposedAction()
            self.overlay.show_over(self.describe(paths))
            return True
        if kind == QEvent.Type.DragMove and isinstance(event, QDragMoveEvent):
            if event.mimeData().hasUrls():
                event.acceptProposedAction()
            return True
        if kind == QEvent.Type.DragLeave:
            self.overlay.hide()
            return False
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            self.overlay.hide()
            paths = local_paths(event.mimeData())
            if not paths:
                event.ignore()
                return True
            event.acceptProposedAction()
            self.dropped.emit(paths)
            return True
        parent = self.overlay.parentWidget()
        if kind == QEvent.Type.Resize and self.overlay.isVisible() and parent is not None:
            self.overlay.setGeometry(parent.rect())
        return False


class EmptyState(QWidget):
    """What the results area shows before anything was classified."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon).pixmap(64, 64))
        # Wrapped: one long line made the results side 486 px wide at least, so on a small screen the
        # Features tab could not get the room it needs.
        title = QLabel(
            "Drop photos or folders anywhere on this window", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True
        )
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel(
            "Every image is classified on a background thread; results stream into a table you can "
            "sort, filter and export.",
            alignment=Qt.AlignmentFlag.AlignCenter,
            wordWrap=True,
        )
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for action in actions:
            button = QPushButton(action.text().replace("&", "").rstrip("…").rstrip(".") + "…")
            button.clicked.connect(action.trigger)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(3)
        # Shown only before the first results: its width must not hold the results side open later
        # (a stacked widget is as wide as its widest page).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
