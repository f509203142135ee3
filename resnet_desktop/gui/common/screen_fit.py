"""Windows open on the screen, sized to it.

A fixed first size (the model lab's 1100x820, the main window's 1180x720) ran off a 1024x700 or
1366x768 screen; a size remembered on a bigger monitor does too. Every top-level window asks here for
the size it would like and gets at most what the screen's free area holds (less the window frame),
placed inside that area: centred on its parent, or on the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

#: Room for the window manager's frame and title bar (the frame is unknown until the window is shown).
FRAME = QSize(16, 40)


def screen_of(widget: QWidget | None) -> QScreen:
    screen = widget.screen() if widget is not None else None
    return screen or QGuiApplication.primaryScreen()


def free_area(widget: QWidget | None) -> QRect:
    """The part of ``widget``'s screen that windows may use (without panels and docks)."""
    return screen_of(widget).availableGeometry()


def fitted(wanted: QSize, area: QRect) -> QSize:
    """``wanted``, shrunk to fit ``area`` with room for the frame."""
    return QSize(
        max(200, min(wanted.width(), area.width() - FRAME.width())),
        max(150, min(wanted.height(), area.height() - FRAME.height())),
    )


def fit_window(window: QWidget, wanted: QSize, parent: QWidget | None = None) -> QSize:
    """Resize ``window`` to ``wanted`` or less, and place it inside the screen (centred on ``parent``)."""
    area = free_area(parent if parent is not None else window)
    size = fitted(wanted, area)
    window.resize(size)
    centre = parent.frameGeometry().center() if parent is not None and parent.isVisible() else area.center()
    place(window, QRect(QPoint(0, 0), size + FRAME), centre, area)
    return size


def keep_on_screen(window: QWidget) -> None:
    """After restoring a remembered geometry: shrink and move it back inside the screen if it left it."""
    area = free_area(window)
    size = fitted(window.size(), area)
    if size != window.size():
        window.resize(size)
    frame = QRect(window.pos(), size + FRAME)
    if not area.contains(frame):
        place(window, frame, frame.center(), area)


def place(window: QWidget, frame: QRect, centre: QPoint, area: QRect) -> None:
    """Move ``window`` (whose frame is ``frame``) so it is centred on ``centre`` but wholly inside ``area``."""
    frame.moveCenter(centre)
    x = min(max(frame.left(), area.left()), area.right() + 1 - frame.width())
    y = min(max(frame.top(), area.top()), area.bottom() + 1 - frame.height())
    window.move(max(area.left(), x), max(area.top(), y))
