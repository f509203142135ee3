"""The one inline status line every panel, page and dialog uses: plain text by construction.

A status names files and quotes errors, so it is never markup: ``InlineStatus`` is a ``QLabel`` whose
text format is fixed to plain text (``setTextFormat`` cannot change it), and whose four states say what
kind of message it holds — ``show_info``, ``show_busy`` (a trailing "…"), ``show_error`` (an exception
described for a person, in the theme's error colour) and ``clear``. The error colour follows the
theme: it is recomputed whenever the palette changes (View > Theme), so it is never dark red on dark
grey. ``TaskRunner`` uses ``show_error`` as its default failure path.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from resnet_desktop.core.errors import describe

#: Readable on the light palette (WCAG AA on white) and on the dark one (on #2d2d30).
LIGHT_ERROR = QColor(183, 28, 28)
DARK_ERROR = QColor(255, 128, 128)


class StatusKind(Enum):
    EMPTY = "empty"
    INFO = "info"
    BUSY = "busy"
    ERROR = "error"


class InlineStatus(QLabel):
    """A one-or-more-line message in a panel; plain text whatever is passed to it."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> None:
        super().__init__(parent)
        super().setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(wrap)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # messages can be copied
        self.kind = StatusKind.EMPTY
        self._applying = False
        if text:
            self.show_info(text)

    def setTextFormat(self, _format: Qt.TextFormat) -> None:
        """Ignored: a status is plain text by construction (a file called ``<b>.png`` shows as typed)."""

    # -- the four states ----------------------------------------------------------------------

    def show_info(self, text: str) -> None:
        self._set(StatusKind.INFO, text)

    def show_busy(self, text: str) -> None:
        """Work in progress ("Evaluating resnet18…"); the ellipsis is added when missing."""
        self._set(StatusKind.BUSY, text if text.endswith("…") else f"{text}…")

    def show_error(self, error: BaseException | str, what: str | None = None) -> None:
        """An error as a person reads it (``core.errors.describe``), optionally after what failed."""
        message = error if isinstance(error, str) else describe(error)
        self._set(StatusKind.ERROR, f"{what}: {message}" if what else message)

    def clear(self) -> None:
        self._set(StatusKind.EMPTY, "")

    # -- plumbing -----------------------------------------------------------------------------

    def _set(self, kind: StatusKind, text: str) -> None:
        self.kind = kind
        self.setText(text)
        self.setToolTip(text if len(text) > 80 else "")
        self._apply_colour()

    def _apply_colour(self) -> None:
        """Only the text colour of an error is our own; everything else is inherited from the theme."""
        if self._applying:
            return
        self._applying = True
        try:
            own = QPalette()  # nothing set: every role follows the window (and later theme switches)
            if self.kind is StatusKind.ERROR:
                window = self.palette().color(QPalette.ColorRole.Window)
                own.setColor(QPalette.ColorRole.WindowText, DARK_ERROR if window.lightness() < 128 else LIGHT_ERROR)
            self.setPalette(own)
        finally:
            self._applying = False

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_colour()
