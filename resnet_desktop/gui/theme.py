"""Light/dark colour scheme: follow the system by default, or force one (``--color-scheme``, View > Theme).

Qt >= 6.8 can request a scheme from the platform theme; where the platform has none (plain X11,
offscreen) the request changes nothing, so we fall back to Fusion with a palette of our own.
Widgets only ever use palette roles, so both paths look right.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

logger = logging.getLogger(__name__)

#: The schemes a person can choose ("auto" is accepted as another name for "system").
SCHEMES = ("system", "light", "dark")

# The style and palette the app had before we forced a scheme, so "system" can bring them back.
_system_look: tuple[str, QPalette] | None = None


def normalize_scheme(scheme: str | None) -> str:
    value = (scheme or "system").strip().lower()
    value = "system" if value == "auto" else value
    return value if value in SCHEMES else "system"


def current_scheme(app: QApplication) -> str:
    """ "dark" or "light": what the palette in use looks like."""
    return "dark" if is_dark(app.palette()) else "light"


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    """A neutral dark palette for the Fusion style."""
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(225, 225, 225)
    highlight = QColor(64, 132, 214)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(40, 40, 43),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(55, 55, 58),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Light: QColor(80, 80, 84),
        QPalette.ColorRole.Midlight: QColor(65, 65, 68),
        QPalette.ColorRole.Mid: QColor(100, 100, 104),
        QPalette.ColorRole.Dark: QColor(25, 25, 27),
        QPalette.ColorRole.Shadow: QColor(0, 0, 0),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(110, 170, 240),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def apply_color_scheme(app: QApplication, scheme: str) -> None:
    """``"system"`` (or ``"auto"``) follows the system, undoing an earlier forced scheme;
    ``"dark"``/``"light"`` force one. Can be called again at any time (View > Theme)."""
    global _system_look
    scheme = normalize_scheme(scheme)
    hints = app.styleHints()
    if scheme == "system":
        if hasattr(hints, "unsetColorScheme"):
            hints.unsetColorScheme()
        if _system_look is not None:
            style, palette = _system_look
            app.setStyle(QStyleFactory.create(style))
            app.setPalette(palette)
            _system_look = None
        return
    if _system_look is None:
        _system_look = (app.style().name(), QPalette(app.palette()))
    want_dark = scheme == "dark"
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(Qt.ColorScheme.Dark if want_dark else Qt.ColorScheme.Light)
        QApplication.processEvents()
    if is_dark(app.palette()) != want_dark:
        logger.debug("The platform ignored the colour scheme request; using Fusion with our palette")
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(dark_palette() if want_dark else app.style().standardPalette())
