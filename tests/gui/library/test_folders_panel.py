"""The Library side list draws each folder as three lines (name, numbers, what is happening), one under
the other, each readable: Qt hands the item's text to the delegate with its new lines turned into line
separators, which once drew all three squeezed, centred, into one line's height."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from resnet_desktop.core.library.api import FolderStatus
from resnet_desktop.gui.library.folders_panel import FoldersPanel


class RecordingPainter(QPainter):
    """A painter on an image that remembers the text it was asked to draw and where."""

    def __init__(self, image: QImage) -> None:
        super().__init__(image)
        self.texts: list[tuple[QRect, str]] = []

    def drawText(self, *args: object) -> None:  # type: ignore[override]
        rect, _flags, text = args
        assert isinstance(rect, QRect) and isinstance(text, str)
        self.texts.append((QRect(rect), text))
        super().drawText(rect, _flags, text)  # type: ignore[call-overload]


def test_a_folder_item_is_drawn_as_three_lines_one_under_the_other(qtbot) -> None:
    panel = FoldersPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 300)
    panel.set_folders([FolderStatus(Path("/photos/Family"), "resnet18", files=18, indexed=17, pending=1)])
    panel.show_indexing(Path("/photos/Family"), 0, 1)
    index = panel.list.model().index(1, 0)
    option = QStyleOptionViewItem()
    option.initFrom(panel.list)
    option.rect = panel.list.visualRect(index)
    option.font = panel.list.font()
    image = QImage(panel.list.viewport().size(), QImage.Format.Format_ARGB32)
    painter = RecordingPainter(image)
    try:
        panel.list.itemDelegate().paint(painter, option, index)
    finally:
        painter.end()

    assert [text for _rect, text in painter.texts] == ["Family", "18 photos · 17 indexed · 1 pending", "indexing 0 / 1"]
    rows = [rect for rect, _text in painter.texts]
    height = option.fontMetrics.height()
    assert all(r.height() == height for r in rows)
    assert [r.top() - rows[0].top() for r in rows] == [0, height, 2 * height]  # one under the other
    assert all(option.rect.contains(r.topLeft()) and option.rect.contains(r.bottomLeft() - QPoint(0, 1)) for r in rows)
