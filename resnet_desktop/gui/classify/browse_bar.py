"""The bar above the table while it shows library photos: which folder, and filters by the date a
photo was taken (EXIF) and by tag (XMP keywords). Class and confidence are the table's own filters."""

from __future__ import annotations

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QPushButton, QWidget

from resnet_desktop.gui.classify.results_model import ResultsFilter

#: A date edit at this date means "no bound" (shown as "any").
ANY_DATE = QDate(1800, 1, 1)
ANY_TAG = "Any tag"


def _date_edit(tip: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(ANY_DATE)
    edit.setSpecialValueText("any")
    edit.setDate(ANY_DATE)
    edit.setToolTip(tip)
    return edit


class BrowseBar(QWidget):
    """``Library: Photos  Taken from [any] to [any]  [Any tag]  [Done]``; hidden for other rows."""

    #: the person closed the bar (the rows stay; the library filters are cleared)
    closed = Signal()

    def __init__(self, proxy: ResultsFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proxy = proxy
        self.where = QLabel()
        self.taken_from = _date_edit("Only photos taken on or after this day (EXIF date)")
        self.taken_to = _date_edit("Only photos taken on or before this day (EXIF date)")
        self.tag = QComboBox()
        self.tag.setToolTip("Only photos with this keyword in their XMP sidecar")
        self.done_button = QPushButton("Done")
        self.done_button.setToolTip("Stop filtering by date and tag")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.where, 1)
        layout.addWidget(QLabel("Taken from"))
        layout.addWidget(self.taken_from)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.taken_to)
        layout.addWidget(self.tag)
        layout.addWidget(self.done_button)
        self.taken_from.dateChanged.connect(lambda _d: self._apply_dates())
        self.taken_to.dateChanged.connect(lambda _d: self._apply_dates())
        self.tag.currentIndexChanged.connect(lambda _i: self.proxy.set_tag(self.tag.currentData() or ""))
        self.done_button.clicked.connect(self.close_bar)
        self.hide()

    def show_library(self, where: str, tags: list[str]) -> None:
        """Show the bar for ``where`` (its photos are in the table), with these tags to choose from."""
        self.where.setText(f"Library: {where}")
        self.tag.blockSignals(True)
        self.tag.clear()
        self.tag.addItem(ANY_TAG, "")
        for tag in tags:
            self.tag.addItem(tag, tag)
        self.tag.blockSignals(False)
        self.reset()
        self.show()

    def reset(self) -> None:
        for edit in (self.taken_from, self.taken_to):
            edit.blockSignals(True)
            edit.setDate(ANY_DATE)
            edit.blockSignals(False)
        self.tag.setCurrentIndex(0)
        self.proxy.set_taken_range("", "")
        self.proxy.set_tag("")

    def close_bar(self) -> None:
        self.reset()
        self.hide()
        self.closed.emit()

    def _apply_dates(self) -> None:
        def text(edit: QDateEdit) -> str:
            return "" if edit.date() == ANY_DATE else edit.date().toString("yyyy-MM-dd")

        self.proxy.set_taken_range(text(self.taken_from), text(self.taken_to))
