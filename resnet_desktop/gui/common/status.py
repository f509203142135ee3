"""The status bar: what the app is doing, a progress bar with images/s and ETA, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QProgressBar, QPushButton, QSizePolicy, QStatusBar, QWidget

from resnet_desktop.gui.common.elided import ElidedLabel

#: The model/device label takes at most this share of the bar; the message gets the rest.
MODEL_SHARE = 0.35


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def progress_text(done: int, total: int | None, rate: float, queued: int = 0) -> str:
    """``"37 / 200 · 12.3 images/s · ETA 13 s"`` (+ queued jobs)."""
    parts = [f"{done} / {total}" if total else f"{done}"]
    if rate > 0:
        parts.append(f"{rate:.1f} images/s")
        if total:
            parts.append(f"ETA {format_eta((total - done) / rate)}")
    if queued:
        parts.append(f"+{queued} queued")
    return " · ".join(parts)


class StatusBar(QStatusBar):
    """Message on the left; progress, Cancel and the model/device on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Long messages must not make the window wider than the screen: they are elided ("…", the full
        # text in the tooltip) instead, and so is the model label, which never takes the message's room.
        self.message = ElidedLabel()
        self.message.setMinimumWidth(80)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(380)
        self.progress.setMinimumWidth(180)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop (Esc); finished results are kept")
        self.model_label = ElidedLabel(Qt.TextElideMode.ElideMiddle)
        self.model_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.model_label.setMaximumWidth(520)
        self.model_label.setContentsMargins(12, 0, 4, 0)  # never runs into the message on its left
        self.addWidget(self.message, 1)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.cancel_button)
        self.addPermanentWidget(self.model_label)
        self.set_idle()

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)

    def set_model_text(self, text: str) -> None:
        """The loaded model and device, elided to fit; the full text is the tooltip."""
        self.model_label.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.model_label.setMaximumWidth(min(520, int(event.size().width() * MODEL_SHARE)))
        super().resizeEvent(event)

    def set_idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def set_busy(self, text: str = "", maximum: int = 0, value: int = 0) -> None:
        """``maximum == 0`` shows a busy (indeterminate) bar."""
        self.progress.setRange(0, maximum)
        self.progress.setValue(value)
        self.progress.setFormat(text or "%v / %m")
        self.progress.show()

    def show_cancel(self, visible: bool) -> None:
        self.cancel_button.setVisible(visible)
