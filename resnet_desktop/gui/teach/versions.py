"""The set's saved versions: which one is active, make another active, compare two on held-out labels."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.teach.api import VersionComparison, VersionInfo
from resnet_desktop.gui.common.inline_status import InlineStatus

HEADERS = ("Version", "Saved", "Labels", "Held-out accuracy", "")


def accuracy(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "—"


def comparison_text(c: VersionComparison) -> str:
    if not c.held_out:
        return f"Versions {c.first} and {c.second}: no held-out labels to compare them on yet."
    better = ""
    if c.first_accuracy is not None and c.second_accuracy is not None and c.first_accuracy != c.second_accuracy:
        winner = c.first if c.first_accuracy > c.second_accuracy else c.second
        better = f" Version {winner} is better."
    return (
        f"On {c.held_out} held-out labels: version {c.first} {accuracy(c.first_accuracy)}, "
        f"version {c.second} {accuracy(c.second_accuracy)}; they disagree on {c.differ}.{better}"
    )


class VersionsDialog(QDialog):
    """Lists the versions; ``activate(n)`` and ``compare(a, b)`` are the room's (they run on its worker)."""

    def __init__(
        self,
        activate: Callable[[int], None],
        compare: Callable[[int, int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Versions")
        self.resize(620, 360)
        self._activate = activate
        self._compare = compare
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.status = InlineStatus("Select a version to make it active, or two to compare them.")
        self.activate_button = QPushButton("Make Active")
        self.compare_button = QPushButton("Compare")
        self.activate_button.clicked.connect(self._on_activate)
        self.compare_button.clicked.connect(self._on_compare)
        buttons = QHBoxLayout()
        buttons.addWidget(self.activate_button)
        buttons.addWidget(self.compare_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.versions: list[VersionInfo] = []
        self._update_buttons()

    def show_versions(self, versions: Sequence[VersionInfo]) -> None:
        self.versions = list(versions)
        self.table.setRowCount(len(self.versions))
        for row, v in enumerate(self.versions):
            cells = (
                str(v.number),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created)),
                str(v.labels),
                accuracy(v.held_out_accuracy),
                "active" if v.active else "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
                self.table.setItem(row, column, item)
        if not self.versions:
            self.status.show_info("No version saved yet: Save Version keeps what the model has learned so far.")
        self._update_buttons()

    def selected(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.versions[r].number for r in rows if r < len(self.versions)]

    def row_texts(self) -> list[str]:
        def cell(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [" | ".join(cell(r, c) for c in range(len(HEADERS))) for r in range(self.table.rowCount())]

    def _update_buttons(self) -> None:
        chosen = self.selected()
        self.activate_button.setEnabled(len(chosen) == 1)
        self.compare_button.setEnabled(len(chosen) == 2)

    def _on_activate(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self._activate(chosen[0])

    def _on_compare(self) -> None:
        chosen = self.selected()
        if len(chosen) == 2:
            self.status.show_busy(f"Comparing versions {chosen[0]} and {chosen[1]}")
            self._compare(chosen[0], chosen[1])

    def show_comparison(self, comparison: VersionComparison) -> None:
        self.status.show_info(comparison_text(comparison))
