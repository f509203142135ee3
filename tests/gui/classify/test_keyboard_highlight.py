"""Issue 27 item 9: Ctrl+Home (and the other Ctrl+navigation keys) move the highlight with the preview.

Qt's extended selection moves only the current row on Ctrl+navigation: the preview showed the first
photo while the highlighted (selected) row, the one Copy and Remove act on, stayed where it was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from tests.badfiles import make_good_images
from tests.gui.harness import Person


def highlighted(person: Person) -> list[str]:
    return [row.path.name for row in person.window.results_panel.selected_rows()]


def test_ctrl_home_and_end_move_the_highlight_with_the_preview(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    person.drop(make_good_images(tmp_path / "photos", n=4))
    person.wait_idle()
    panel = window.results_panel
    table = panel.table
    names = [panel.proxy.index(r, 1).data() for r in range(panel.proxy.rowCount())]
    rect = table.visualRect(panel.proxy.index(2, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert highlighted(person) == [names[2]] and window.preview.title.text() == names[2]

    person.focus(table)
    person.press("Ctrl+Home")
    assert window.preview.title.text() == names[0]
    assert highlighted(person) == [names[0]], "the highlight follows the preview"

    person.press("Ctrl+End")
    assert window.preview.title.text() == names[-1] and highlighted(person) == [names[-1]]
    person.press("Ctrl+C")  # copies what is highlighted, which is what the preview shows
    copied = QGuiApplication.clipboard().text().splitlines()
    assert len(copied) == 2 and Path(copied[1].split("\t")[0]).name == names[-1]
