"""View > Theme: System / Light / Dark, applied at once and remembered between runs."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from resnet_desktop.gui.settings import AppSettings
from resnet_desktop.gui.theme import SCHEMES, apply_color_scheme, normalize_scheme

LABELS = {"system": "&System", "light": "&Light", "dark": "&Dark"}
TIPS = {
    "system": "Follow the desktop's light or dark setting",
    "light": "Always light",
    "dark": "Always dark",
}


class ThemeMenu(QMenu):
    """Exclusive, checkable actions; triggering one applies the scheme and stores it in the settings."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__("&Theme", parent)
        self.settings = settings
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.scheme_actions: dict[str, QAction] = {}
        for scheme in SCHEMES:
            action = QAction(LABELS[scheme], self, checkable=True)
            action.setStatusTip(TIPS[scheme])
            action.setData(scheme)
            action.triggered.connect(lambda _checked=False, s=scheme: self.choose(s))
            self.group.addAction(action)
            self.addAction(action)
            self.scheme_actions[scheme] = action
        self.show_scheme(settings.color_scheme())

    def show_scheme(self, scheme: str) -> None:
        """Check the action for ``scheme`` without applying anything (e.g. a --color-scheme at start)."""
        self.scheme_actions[normalize_scheme(scheme)].setChecked(True)

    def choose(self, scheme: str) -> None:
        scheme = normalize_scheme(scheme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_color_scheme(app, scheme)
        self.settings.set_color_scheme(scheme)
        self.show_scheme(scheme)
