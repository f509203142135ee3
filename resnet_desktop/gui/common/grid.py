"""A grid of photo thumbnails with a badge on each, for libraries of 100,000 photos.

Qt model/view: ``PhotoGridModel`` holds the paths and a function that gives a row's ``Badge`` on
demand, so re-badging 100,000 photos after a refit is one ``dataChanged``, not 100,000 objects.
``PhotoGrid`` is a ``QListView`` laid out as an icon grid with uniform item sizes (Qt places the rows
arithmetically); ``GridDelegate`` paints what is on screen only: the thumbnail (decoded off the GUI
thread by ``ThumbnailLoader``, kept on disk by its ``DiskThumbnailCache``), the badge in its class's
colour, the file name. Scrolling drops the thumbnail decodes of rows that went out of sight, so the
photos on screen come first.

Multi-select works as in a file manager (click, Ctrl+click, Shift+click, Shift+arrows, Ctrl+A), and
photos can be dragged out (as file URLs: onto a class list, or another program). Shared by the teach
room and other rooms (a library folder's photos).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QStringListModel,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from resnet_desktop.gui.common.thumbnails import ThumbnailLoader

ModelIndex = QModelIndex | QPersistentModelIndex

#: The role ``set_badges`` names in its ``dataChanged`` (the badge itself is read with ``badge(row)``).
BADGE_ROLE = Qt.ItemDataRole.UserRole + 2

DEFAULT_SIDE = 112
PADDING = 6


@dataclass(frozen=True)
class Badge:
    """What a photo's badge says: ``text`` in a pill of ``colour`` (``#rrggbb``). ``mine``: the person's
    own label (a filled pill); otherwise a prediction (an outlined pill). ``tip``: the sentence behind it."""

    text: str
    colour: str
    mine: bool = False
    tip: str = ""


BadgeSource = Callable[[int], Badge | None]


def text_colour_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in (background.redF(), background.greenF(), background.blueF()))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return QColor(0, 0, 0) if luminance > 0.179 else QColor(255, 255, 255)


class PhotoGridModel(QStringListModel):
    """Rows: photo paths. Badges come from ``set_badges(fn)``: ``fn(row)`` is asked only for painted rows.

    A ``QStringListModel`` so that ``rowCount`` and ``data`` stay in C++: Qt's layout asks the row
    count once or twice per row, which for 100,000 rows through a Python override costs a second.
    The delegate reads paths and badges from here directly, never through ``data()``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._paths: tuple[str, ...] = ()
        self._row_of: dict[str, int] | None = None
        self._badge: BadgeSource | None = None

    # -- content -------------------------------------------------------------------------------

    def set_photos(self, paths: Sequence[str], badges: BadgeSource | None = None) -> None:
        self._paths = tuple(str(p) for p in paths)
        self._row_of = None
        self._badge = badges
        self.setStringList(list(self._paths))

    def set_badges(self, badges: BadgeSource | None) -> None:
        """New badges for every row at once (after a refit): one signal, painted rows re-asked."""
        self._badge = badges
        if self._paths:
            self.dataChanged.emit(self.index(0), self.index(len(self._paths) - 1), [BADGE_ROLE])

    def badge(self, row: int) -> Badge | None:
        return self._badge(row) if self._badge is not None and 0 <= row < len(self._paths) else None

    def paths(self) -> tuple[str, ...]:
        return self._paths

    def path(self, row: int) -> str:
        return self._paths[row]

    def row_of(self, path: str) -> int | None:
        if self._row_of is None:
            self._row_of = {p: i for i, p in enumerate(self._paths)}
        return self._row_of.get(str(path))

    def tooltip(self, row: int) -> str:
        badge = self.badge(row)
        return self._paths[row] + (f"\n{badge.tip or badge.text}" if badge else "")

    # -- dragging photos out ---------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setUrls([QUrl.fromLocalFile(self._paths[r]) for r in rows])
        return mime


_NAME_ALIGN = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
_CENTRE = Qt.AlignmentFlag.AlignCenter
_KEEP_ASPECT = Qt.AspectRatioMode.KeepAspectRatio
# As plain ints: a Python enum's ``&`` costs more than the rest of a cell's arithmetic.
_SELECTED = QStyle.StateFlag.State_Selected.value
_FOCUS = QStyle.StateFlag.State_HasFocus.value
#: Rendered badge pills and elided names kept (both are small; a screen needs ~60 of each).
_PILLS_KEPT = 2048
_NAMES_KEPT = 4096


class GridDelegate(QStyledItemDelegate):
    """Paints one cell: thumbnail, badge pill, file name (nothing is computed for cells off screen).

    Kept lean because it runs in Python for every cell on screen at every scroll step: badge pills
    are drawn once per (text, colour, kind) and reused as pixmaps, file names are elided once.
    """

    def __init__(self, thumbnails: ThumbnailLoader, side: int = DEFAULT_SIDE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.side = side
        self._pills: OrderedDict[tuple[Badge, int], QPixmap] = OrderedDict()
        self._names: OrderedDict[str, str] = OrderedDict()

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        return QSize(self.side + 2 * PADDING, self.side + metrics.height() + 3 * PADDING)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return self.cell_size(option.fontMetrics)

    def forget_rendered(self) -> None:
        """Drop the rendered pills and names (after a font or theme change)."""
        self._pills.clear()
        self._names.clear()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        model = index.model()
        if not isinstance(model, PhotoGridModel):
            return
        row = index.row()
        path = model.path(row)
        rect: QRect = option.rect
        palette: QPalette = option.palette
        metrics: QFontMetrics = option.fontMetrics
        state: int = option.state.value
        selected = bool(state & _SELECTED)
        side = self.side
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), palette.color(QPalette.ColorRole.Highlight))
        left, top = rect.left() + PADDING, rect.top() + PADDING
        pixmap = self.thumbnails.pixmap(path, side)
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.size().scaled(side, side, _KEEP_ASPECT)
            width, height = size.width(), size.height()
            painter.drawPixmap(left + (side - width) // 2, top + (side - height) // 2, width, height, pixmap)
        else:
            square = QRect(left, top, side, side)
            painter.fillRect(square, palette.color(QPalette.ColorRole.Midlight))
            if self.thumbnails.failed(path, side):
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(square, _CENTRE, "no preview")
        badge = model.badge(row)
        if badge is not None:
            pill = self._pill(badge, metrics)
            painter.drawPixmap(left + 2, top + side - pill.height() - 2, pill)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(role))
        name_rect = QRect(left, top + side + PADDING, side, metrics.height())
        painter.drawText(name_rect, _NAME_ALIGN, self._name(path, metrics))
        if state & _FOCUS:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DotLine))
            painter.drawRect(rect.adjusted(2, 2, -3, -3))

    def _name(self, path: str, metrics: QFontMetrics) -> str:
        name = self._names.get(path)
        if name is None:
            name = metrics.elidedText(os.path.basename(path), Qt.TextElideMode.ElideMiddle, self.side)
            self._names[path] = name
            if len(self._names) > _NAMES_KEPT:
                self._names.popitem(last=False)
        return name

    def _pill(self, badge: Badge, metrics: QFontMetrics) -> QPixmap:
        key = (badge, metrics.height())
        pill = self._pills.get(key)
        if pill is None:
            pill = render_pill(badge, metrics, self.side - 4)
            self._pills[key] = pill
            if len(self._pills) > _PILLS_KEPT:
                self._pills.popitem(last=False)
        return pill


def render_pill(badge: Badge, metrics: QFontMetrics, max_width: int) -> QPixmap:
    """A badge as a pill: filled with the class colour for the person's label, an outline of it on
    dark glass for a prediction (readable on any photo)."""
    colour = QColor(badge.colour)
    height = metrics.height() + 4
    text = metrics.elidedText(badge.text, Qt.TextElideMode.ElideRight, max_width - 12)
    width = min(max_width, metrics.horizontalAdvance(text) + 12)
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    radius = height / 2
    if badge.mine:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(0, 0, width, height), radius, radius)
        painter.setPen(text_colour_on(colour))
    else:
        painter.setPen(QPen(colour, 2))
        painter.setBrush(QColor(20, 20, 20, 210))
        painter.drawRoundedRect(QRectF(1, 1, width - 2, height - 2), radius - 1, radius - 1)
        painter.setPen(QColor(255, 255, 255))
    painter.drawText(QRect(0, 0, width, height), _CENTRE, text)
    painter.end()
    return pixmap


class PhotoGrid(QListView):
    """The grid widget. ``selected_paths()`` in row order; ``typed(text)`` replaces Qt's type-to-find
    when ``claim_typing`` is set (the teach room's class quick-pick)."""

    #: Letters typed while the grid has focus (only when ``claim_typing``).
    typed = Signal(str)

    def __init__(
        self,
        thumbnails: ThumbnailLoader,
        model: PhotoGridModel | None = None,
        *,
        side: int = DEFAULT_SIDE,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.grid_model = model if model is not None else PhotoGridModel(self)
        self.delegate = GridDelegate(thumbnails, side, self)
        self.claim_typing = False
        self.setModel(self.grid_model)
        self.setItemDelegate(self.delegate)
        # An icon grid (left to right, wrapping, fixed cells). Qt's IconMode itself would ask every
        # one of 100,000 rows for its size and keep a position per row; list mode with uniform sizes
        # places them arithmetically.
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(0)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._apply_cell()
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        thumbnails.ready.connect(self._on_thumbnail)

    def _apply_cell(self) -> None:
        cell = self.delegate.cell_size(self.fontMetrics())
        self.setGridSize(cell)
        self.verticalScrollBar().setSingleStep(cell.height() // 3)

    @property
    def side(self) -> int:
        return self.delegate.side

    # -- selection -------------------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def selected_paths(self) -> list[str]:
        return [self.grid_model.path(r) for r in self.selected_rows()]

    def current_path(self) -> str | None:
        index = self.currentIndex()
        return self.grid_model.path(index.row()) if index.isValid() else None

    def select_rows(self, rows: Sequence[int], *, current: int | None = None) -> None:
        """Select ``rows`` (nothing else); ``current`` (default the first) gets the focus and is shown."""
        model = self.grid_model
        count = model.rowCount()
        selection = QItemSelection()
        for row in rows:
            if 0 <= row < count:
                selection.select(model.index(row), model.index(row))
        focus = current if current is not None else (rows[0] if rows else None)
        if focus is not None and 0 <= focus < count:
            self.selectionModel().setCurrentIndex(model.index(focus), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.scrollTo(model.index(focus))
        self.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def select_path(self, path: str) -> bool:
        row = self.grid_model.row_of(path)
        if row is None:
            return False
        self.select_rows([row])
        return True

    # -- typing ------------------------------------------------------------------------------------

    def keyboardSearch(self, search: str) -> None:
        if self.claim_typing:
            self.typed.emit(search)
        else:
            super().keyboardSearch(search)

    # -- painting ------------------------------------------------------------------------------------

    def _on_scrolled(self, _value: int) -> None:
        self.thumbnails.drop_queued(self.side)
        self.thumbnails.hold()

    def _on_thumbnail(self, _path: str, size: int) -> None:
        # One repaint of what is on screen, however many thumbnails arrive before it (Qt merges
        # updates); cheaper than finding each one's row among 100,000.
        if size == self.side:
            self.viewport().update()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.indexAt(event.pos())
            if index.isValid():
                QToolTip.showText(event.globalPos(), self.grid_model.tooltip(index.row()), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.delegate.forget_rendered()
            self._apply_cell()
