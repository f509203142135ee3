"""PySide6 6.12 on CPython 3.11 loses a reference to None at every void call (see gui/refcounts.py):
importing the GUI package pins None, True and False so that no session can spend them."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="immortal singletons from CPython 3.12")
def test_the_gui_package_pins_the_singletons_before_any_qt_call(qtbot) -> None:
    from PySide6.QtGui import QImage, QPainter

    import resnet_desktop.gui  # noqa: F401
    from resnet_desktop.gui.refcounts import RESERVE, pin_singletons

    assert pin_singletons() is True  # idempotent: pinned once
    before = sys.getrefcount(None)
    assert before > RESERVE // 2 and sys.getrefcount(True) > RESERVE // 2 and sys.getrefcount(False) > RESERVE // 2
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    for _ in range(20_000):  # 40,000 void calls: without the guard None's count would fall by as many
        painter.save()
        painter.restore()
    painter.end()
    assert sys.getrefcount(None) > RESERVE // 2
