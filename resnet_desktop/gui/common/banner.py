"""A non-modal message strip across the top of the window (e.g. "weights are missing").

A message that stays true only while something holds ("the images in the table were classified with
the previous model") is shown with a ``topic``; whoever ends that condition calls ``withdraw(topic)``,
so a banner never outlives what it says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class Banner(QFrame):
    """Icon, title, message and action buttons; the rest of the window stays usable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.icon = QLabel()
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # titles and messages name files: never markup
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 4, 0, 0)
        self.buttons.addStretch(1)
        close = QToolButton()
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.clicked.connect(self.hide)
        texts = QVBoxLayout()
        texts.addWidget(self.title)
        texts.addWidget(self.text)
        texts.addLayout(self.buttons)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(texts, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._button_widgets: list[QPushButton] = []
        #: What the message shown is about (None: a one-off message the person dismisses).
        self.topic: str | None = None
        self.hide()

    def show_message(
        self,
        title: str,
        text: str,
        actions: Sequence[tuple[str, Callable[[], None]]] = (),
        *,
        level: str = "warning",
        topic: str | None = None,
    ) -> None:
        """Replace the banner's content and show it. ``level`` is "warning" or "info"; ``topic``: see
        :meth:`withdraw`."""
        self.topic = topic
        for button in self._button_widgets:
            self.buttons.removeWidget(button)
            button.hide()  # at once: deleteLater waits for the event loop, and both buttons showed till then
            button.deleteLater()
        self._button_widgets = []
        for label, callback in actions:
            button = QPushButton(label)
            button.clicked.connect(callback)
            self.buttons.addWidget(button)
            self._button_widgets.append(button)
        pixmap = (
            QStyle.StandardPixmap.SP_MessageBoxWarning
            if level == "warning"
            else QStyle.StandardPixmap.SP_MessageBoxInformation
        )
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(32, 32))
        self.title.setText(title)
        self.text.setText(text)
        self._tint(level)
        self.show()

    def withdraw(self, topic: str) -> None:
        """Hide the banner if it shows a message about ``topic`` (which has stopped being true)."""
        if self.topic == topic:
            self.topic = None
            self.hide()

    def button_texts(self) -> list[str]:
        return [b.text() for b in self._button_widgets]

    def click(self, text: str) -> None:
        """Press the button labelled ``text`` (for keyboard users' tests and scripting)."""
        for button in self._button_widgets:
            if button.text() == text:
                button.click()
                return
        raise KeyError(text)

    def _tint(self, level: str) -> None:
        """A warm (warning) or cool (info) tint mixed into the palette's window colour, so dark mode works."""
        palette = self.palette()
        base = QApplication.palette().color(QPalette.ColorRole.Window)
        accent = QColor(230, 160, 30) if level == "warning" else palette.color(QPalette.ColorRole.Highlight)
        mixed = QColor(
            int(base.red() * 0.8 + accent.red() * 0.2),
            int(base.green() * 0.8 + accent.green() * 0.2),
            int(base.blue() * 0.8 + accent.blue() * 0.2),
        )
        palette.setColor(QPalette.ColorRole.Window, mixed)
        self.setPalette(palette)
