"""The results table widget: confidence bars, filter bar, copy and "Show in folder"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeyEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.api import LibraryView
from resnet_desktop.gui.classify.browse_bar import BrowseBar
from resnet_desktop.gui.classify.results_model import (
    COL_CONFIDENCE,
    COL_FOLDER,
    COL_LABEL,
    COL_MODEL,
    COL_NAME,
    COL_TAKEN,
    COL_THUMB,
    CONFIDENCE_ROLE,
    ROW_ROLE,
    ResultsFilter,
    ResultsModel,
)
from resnet_desktop.gui.common.bars import draw_bar
from resnet_desktop.gui.common.text import plural
from resnet_desktop.gui.common.thumbnails import THUMB_SIZE


class ConfidenceDelegate(QStyledItemDelegate):
    """Paints the top-1 probability as a horizontal bar in the palette's highlight colour."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(CONFIDENCE_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        palette = option.palette
        bar = option.rect.adjusted(4, 6, -4, -6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        # On a selected (highlight-coloured) row the bar is drawn in the highlighted-text colour.
        fill = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight)
        fill.setAlpha(110 if selected else 170)
        draw_bar(painter, QRectF(bar), float(value), palette, fill, radius=3, minimum=2)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(role))
        painter.drawText(bar.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.restore()


class ResultsTable(QTableView):
    """The table; Ctrl+Home/End/Page/arrow keys move the highlight with the current row.

    With extended selection Qt moves only the current row on Ctrl+navigation (to toggle with Space):
    the preview followed the current row while the highlight stayed on the old one, so the person saw
    one photo and the actions (copy, remove) worked on another.
    """

    NAVIGATION = (
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
    )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        modifiers = event.modifiers()
        ctrl_only = (
            modifiers & Qt.KeyboardModifier.ControlModifier and not modifiers & Qt.KeyboardModifier.ShiftModifier
        )
        current = self.currentIndex()
        if ctrl_only and event.key() in self.NAVIGATION and current.isValid():
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            self.selectionModel().select(current, flags)


class ResultsPanel(QWidget):
    """Filter bar + sortable table; emits ``current_changed`` with the selected row (or ``None``)."""

    current_changed = Signal(Prediction)  # or None: no row is current

    def __init__(self, model: ResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(model)

        self.filter_edit = QLineEdit(placeholderText="Filter by label or file name…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.min_confidence = QDoubleSpinBox(suffix=" %", decimals=0, maximum=100.0, singleStep=5.0)
        self.min_confidence.setToolTip("Hide rows whose top-1 confidence is below this")
        self.min_confidence.valueChanged.connect(lambda v: self.proxy.set_min_confidence(v / 100.0))
        self.count_label = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(QLabel("Min. confidence:"))
        bar.addWidget(self.min_confidence)
        bar.addWidget(self.count_label)

        self.table = ResultsTable()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # arrival order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 6)
        self.table.setItemDelegateForColumn(COL_CONFIDENCE, ConfidenceDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_THUMB, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_THUMB, THUMB_SIZE + 10)
        header.resizeSection(COL_NAME, 180)
        header.resizeSection(COL_LABEL, 200)
        header.resizeSection(COL_CONFIDENCE, 130)
        header.resizeSection(COL_MODEL, 180)
        header.resizeSection(COL_FOLDER, 240)
        header.setStretchLastSection(True)
        self.table.setColumnHidden(COL_TAKEN, True)  # shown with library photos, which have dates
        self._sorted_column = -1
        header.sortIndicatorChanged.connect(self._on_sort_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.copy_action = self._table_action("&Copy Rows", self.copy_selected, QKeySequence.StandardKey.Copy)
        self.remove_action = self._table_action("&Remove Rows", self.remove_selected, QKeySequence.StandardKey.Delete)
        self.show_in_folder_action = self._table_action("Show in &Folder", self.show_in_folder)
        self.find_action = QAction("&Find…", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.setStatusTip("Filter the table by label or file name")
        self.find_action.triggered.connect(self.focus_filter)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.table.doubleClicked.connect(lambda _i: self._open_current())

        self.browse_bar = BrowseBar(self.proxy)
        self.browse_bar.closed.connect(lambda: self._show_taken(False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browse_bar)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        for signal in (
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.modelReset,
            self.proxy.layoutChanged,
        ):
            signal.connect(self._update_count)
            signal.connect(self._update_actions)
        # The proxy reports a removal before the source has dropped the row: count again after it.
        model.rowsRemoved.connect(self._update_count)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._update_model_column)
        self.table.setColumnHidden(COL_MODEL, True)
        self._update_count()
        self._update_actions()

    def show_library(self, view: LibraryView) -> None:
        """Show a library folder's photos (or the whole library's) from the index: each with its
        folder's model, its date taken and tags; date and tag filters; newest photo first."""
        self.model.clear()
        self.model.taken.update(view.taken)
        self.model.tags.update(view.tags)
        by_model: dict[str, list[Prediction]] = {}
        for row in view.rows:
            folder = next((f for f in view.models if Path(row.path).is_relative_to(f)), "")
            by_model.setdefault(view.models.get(folder, ""), []).append(row)
            self.model.origins[str(row.path)] = "From the library index"
        for model, rows in by_model.items():
            self.model.append_predictions(rows, model)
        self.browse_bar.show_library(view.title, view.all_tags)
        self._show_taken(True)
        self.table.sortByColumn(COL_TAKEN, Qt.SortOrder.DescendingOrder)

    def _show_taken(self, shown: bool) -> None:
        self.table.setColumnHidden(COL_TAKEN, not shown)
        self.table.horizontalHeader().setStretchLastSection(not shown)

    def _table_action(self, text: str, slot: object, shortcut: QKeySequence.StandardKey | None = None) -> QAction:
        """An action on the selected rows: in the table's context menu, its key only while the table has focus."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.table.addAction(action)
        return action

    def _update_actions(self, *_args: object) -> None:
        has_selection = self.table.selectionModel().hasSelection()
        for action in (self.copy_action, self.remove_action, self.show_in_folder_action):
            action.setEnabled(has_selection)
        self.find_action.setEnabled(self.model.rowCount() > 0)

    def _update_model_column(self, *_args: object) -> None:
        """The Model column is shown while the table holds rows of more than one model."""
        self.table.setColumnHidden(COL_MODEL, len(self.model.models()) <= 1)

    def _update_count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if total and not shown:
            self.count_label.setText(f"No matches among {plural(total, 'file')}")
        else:
            self.count_label.setText(f"{shown} of {total}" if shown != total else plural(total, "file"))

    def _on_sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        """The first click on Confidence sorts the most confident first (what a person looks for)."""
        if column == COL_CONFIDENCE and column != self._sorted_column and order == Qt.SortOrder.AscendingOrder:
            self._sorted_column = column
            self.table.horizontalHeader().setSortIndicator(column, Qt.SortOrder.DescendingOrder)
            return
        self._sorted_column = column

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(current.data(ROW_ROLE) if current.isValid() else None)

    def current_row(self) -> Prediction | None:
        index = self.table.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def selected_rows(self) -> list[Prediction]:
        indexes = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [i.data(ROW_ROLE) for i in indexes]

    def select_row(self, proxy_row: int) -> None:
        self.table.selectRow(proxy_row)
        self.table.setCurrentIndex(self.proxy.index(proxy_row, COL_NAME))

    def select_path(self, path: Path) -> bool:
        """Make ``path``'s row the current one (clearing the filter if it hides it); False if not in the table."""
        row = self.model.row_of(path)
        if row is None:
            return False
        proxied = self.proxy.mapFromSource(self.model.index(row, COL_NAME))
        if not proxied.isValid():
            self.filter_edit.clear()
            self.min_confidence.setValue(0.0)
            proxied = self.proxy.mapFromSource(self.model.index(row, COL_NAME))
        if not proxied.isValid():
            return False
        self.select_row(proxied.row())
        self.table.scrollTo(proxied)
        return True

    def remove_selected(self) -> int:
        """Delete: take the selected rows off the table (the files themselves are never touched)."""
        selected = self.table.selectionModel().selectedRows()
        if not selected:
            return 0
        first = min(i.row() for i in selected)
        removed = self.model.remove(self.proxy.mapToSource(i).row() for i in selected)
        if self.proxy.rowCount():  # the row that moved up into place becomes the current one
            self.select_row(min(first, self.proxy.rowCount() - 1))
        else:
            self.current_changed.emit(None)
        return removed

    def copy_selected(self) -> str:
        """Copy the selected rows as tab-separated text with a header (path, label, confidence or error)."""
        lines = ["path\tlabel\tconfidence"]
        for row in self.selected_rows():
            if row.error:
                lines.append(f"{row.path}\tERROR\t{row.error}")
            else:
                top = row.top1
                lines.append(f"{row.path}\t{top.label}\t{top.probability:.4f}" if top else str(row.path))
        if len(lines) == 1:
            return ""
        text = "\n".join(lines)
        QGuiApplication.clipboard().setText(text)
        return text

    def show_in_folder(self) -> None:
        row = self.current_row()
        if row is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(row.path).parent)))

    def _open_current(self) -> None:
        row = self.current_row()
        if row is not None and row.ok:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(row.path)))
