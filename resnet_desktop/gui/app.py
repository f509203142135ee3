"""GUI entry point (placeholder until the main window lands): shows a window at once."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("ResNet Desktop")
    label = QLabel("ResNet Desktop: the main window is being built.")
    label.setMinimumSize(480, 200)
    label.show()
    return app.exec()
