"""The results table: one row per classified file, appended as predictions stream in.

``ResultsModel`` is a plain ``QAbstractTableModel`` over the core's ``Prediction`` records (torch-free;
embeddings are dropped, the table never needs them). ``ResultsFilter`` adds sorting by
any column and filtering by label text and minimum confidence, and for library photos by the date
taken (EXIF) and by tag (XMP keywords).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QStyle

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.gui.classify.row_models import RowModel
from resnet_desktop.gui.common.thumbnails import THUMB_SIZE, ThumbnailLoader

ModelIndex = QModelIndex | QPersistentModelIndex

COL_THUMB, COL_NAME, COL_LABEL, COL_CONFIDENCE, COL_MODEL, COL_FOLDER, COL_TAKEN = range(7)
#: "Model" is hidden while every row comes from one model (``ResultsPanel`` shows it otherwise); it
#: comes before the long Folder column so it is seen without scrolling. "Taken": library photos.
HEADERS = ("", "File", "Top-1 label", "Confidence", "Model", "Folder", "Taken")
#: Numeric/lower-case values the proxy sorts by (so 9% sorts below 10%).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The ``Prediction`` behind a row (any column).
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
#: Top-1 probability as a float, or ``None`` for an error row (the confidence bar reads it).
CONFIDENCE_ROLE = Qt.ItemDataRole.UserRole + 3
#: The date taken (ISO text, "" unknown) and the tags of a library photo.
TAKEN_ROLE = Qt.ItemDataRole.UserRole + 4
TAGS_ROLE = Qt.ItemDataRole.UserRole + 5


class ResultsModel(QAbstractTableModel):
    """Rows in arrival order; the proxy does sorting and filtering."""

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Prediction] = []
        self._row_of: dict[str, list[int]] = {}
        #: path -> where its result came from ("From the library index", "Newly classified"), for the tooltip.
        self.origins: dict[str, str] = {}
        #: path -> the date a library photo was taken (EXIF, ISO text) and its XMP keywords (tags).
        self.taken: dict[str, str] = {}
        self.tags: dict[str, tuple[str, ...]] = {}
        #: path -> the model that made its row; ``_known`` names -> label sets of models seen this session.
        self._model_of: dict[str, RowModel] = {}
        self._model_counts: Counter[RowModel] = Counter()
        self._known: dict[str, RowModel] = {}
        self.thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail)

    # -- editing -------------------------------------------------------------------------------

    def append(self, rows: Iterable[Prediction]) -> None:
        rows = list(rows)
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for offset, row in enumerate(rows):
            self._rows.append(row)
            self._row_of.setdefault(str(row.path), []).append(first + offset)
        self.endInsertRows()

    def register(self, model: RowModel) -> None:
        """Remember the label set of a model by its name (rows appended under that name carry it)."""
        self._known[model.name] = model

    def known(self, name: str) -> RowModel:
        return self._known.get(name) or RowModel.unknown(name)

    def append_predictions(self, predictions: Iterable[Prediction], model: str = "") -> None:
        """Add new files; a file already in the table is updated in place (never a second row).
        ``model`` names the model that made the predictions (see ``classified_with``, ``register``)."""
        made_by = self.known(model)
        new: dict[str, Prediction] = {}  # a dict, not a list: 100,000 reopened rows stay linear
        for prediction in predictions:
            row = prediction if prediction.embedding is None else replace(prediction, embedding=None)
            key = str(row.path)
            self._set_model(key, made_by)
            existing = self._row_of.get(key)
            if existing:
                self._rows[existing[0]] = row
                self.dataChanged.emit(self.index(existing[0], 0), self.index(existing[0], len(HEADERS) - 1))
            elif key not in new:
                new[key] = row
        self.append(new.values())

    def _set_model(self, key: str, model: RowModel | None) -> None:
        old = self._model_of.pop(key, None)
        if old is not None:
            self._model_counts[old] -= 1
            if self._model_counts[old] <= 0:
                del self._model_counts[old]
        if model is not None:
            self._model_of[key] = model
            self._model_counts[model] += 1

    def classified_with(self, model: str) -> frozenset[Path]:
        """Files whose row is a prediction (not an error) made by ``model``: no need to classify again."""
        return frozenset(r.path for r in self._rows if r.ok and self.model_of(r.path).name == model)

    def model_of(self, path: Path | str) -> RowModel:
        return self._model_of.get(str(path)) or RowModel.unknown("")

    def models(self, rows: Iterable[Prediction] | None = None) -> Counter[RowModel]:
        """How many rows each model made: of the whole table, or of ``rows``."""
        if rows is None:
            return Counter(self._model_counts)
        return Counter(self.model_of(row.path) for row in rows)

    def remove(self, source_rows: Iterable[int]) -> int:
        """Remove rows by their index in this model (not the proxy); returns how many went."""
        doomed = sorted(set(source_rows), reverse=True)
        for row in doomed:
            self.beginRemoveRows(QModelIndex(), row, row)
            self._set_model(str(self._rows[row].path), None)
            del self._rows[row]
            self.endRemoveRows()
        self._row_of = {}
        for index, kept in enumerate(self._rows):
            self._row_of.setdefault(str(kept.path), []).append(index)
        return len(doomed)

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._row_of.clear()
        self._model_of.clear()
        self.taken.clear()
        self.tags.clear()
        self._model_counts.clear()
        self.endResetModel()

    def row_of(self, path: Path) -> int | None:
        """The (first) row of ``path`` in this model, or None when it is not in the table."""
        found = self._row_of.get(str(path))
        return found[0] if found else None

    def rows(self) -> list[Prediction]:
        return list(self._rows)

    def row_at(self, row: int) -> Prediction:
        return self._rows[row]

    def paths(self) -> list[Path]:
        """Every file in the table, once each, in arrival order (for re-running with another model)."""
        return list(dict.fromkeys(r.path for r in self._rows))

    # -- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == 0:
            return "Thumbnail"
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == ROW_ROLE:
            return row
        if role == CONFIDENCE_ROLE:
            return row.top1.probability if row.top1 else None
        if role == TAKEN_ROLE:
            return self.taken.get(str(row.path), "")
        if role == TAGS_ROLE:
            return self.tags.get(str(row.path), ())
        if role == SORT_ROLE and column == COL_TAKEN:
            return self.taken.get(str(row.path), "")
        if role == Qt.ItemDataRole.DisplayRole and column == COL_TAKEN:
            return self.taken.get(str(row.path), "").replace("T", " ")[:16]
        if role == SORT_ROLE and column == COL_MODEL:
            return self.model_of(row.path).name.lower()
        if role == SORT_ROLE:
            return self._sort_value(row, column)
        if role == Qt.ItemDataRole.DisplayRole and column == COL_MODEL:
            return self.model_of(row.path).name
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == COL_THUMB:
            if row.error:  # never hand a file the core could not read to Qt's decoders
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            if self.thumbnails is None:
                return None
            pixmap = self.thumbnails.pixmap(str(row.path), THUMB_SIZE)
            if pixmap is None and self.thumbnails.failed(str(row.path), THUMB_SIZE):
                # Qt cannot decode every format the core reads (e.g. HEIC): show a generic file icon.
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
            return pixmap
        if role == Qt.ItemDataRole.ToolTipRole:
            origin = self.origins.get(str(row.path))
            extra = [origin] if origin else []
            if self.taken.get(str(row.path)):
                extra.append(f"Taken {self.taken[str(row.path)].replace('T', ' ')}")
            if self.tags.get(str(row.path)):
                extra.append("Tags: " + ", ".join(self.tags[str(row.path)]))
            return "\n".join([self._tooltip(row), *extra])
        if role == Qt.ItemDataRole.ForegroundRole and row.error and column == COL_LABEL:
            return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        return None

    @staticmethod
    def _display(row: Prediction, column: int) -> str | None:
        if column == COL_NAME:
            return row.path.name
        if column == COL_LABEL:
            return f"⚠ {row.error}" if row.error else (row.top1.label if row.top1 else "")
        if column == COL_CONFIDENCE:
            return f"{row.top1.probability:.1%}" if row.top1 else ""
        if column == COL_FOLDER:
            return str(row.path.parent)
        return None

    @staticmethod
    def _sort_value(row: Prediction, column: int) -> Any:
        if column == COL_CONFIDENCE:
            return row.top1.probability if row.top1 else -1.0
        if column == COL_LABEL:
            if row.error:
                return row.error.lower()
            return row.top1.label.lower() if row.top1 else ""
        if column == COL_FOLDER:
            return str(row.path.parent).lower()
        return row.path.name.lower()

    @staticmethod
    def _tooltip(row: Prediction) -> str:
        if row.error:
            return f"{row.path}\n{row.error}"
        lines = [str(row.path)] + [f"{s.probability:6.1%}  {s.label}" for s in row.scores]
        return "\n".join(lines)

    def _on_thumbnail(self, path: str, size: int) -> None:
        for row in self._row_of.get(path, ()):
            index = self.index(row, COL_THUMB)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ResultsFilter(QSortFilterProxyModel):
    """Sort by any column; keep rows where any top-k label, the file name or the error contains the text,
    and whose confidence is high enough."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._text = ""
        self._min_confidence = 0.0
        self._taken_from = ""
        self._taken_to = ""
        self._tag = ""

    @property
    def min_confidence(self) -> float:
        return self._min_confidence

    def set_text(self, text: str) -> None:
        self._change_filter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_min_confidence(self, value: float) -> None:
        """Rows under ``value`` (0-1) are hidden; error rows are shown only when it is 0."""
        self._change_filter(lambda: setattr(self, "_min_confidence", max(0.0, min(1.0, value))))

    def set_taken_range(self, start: str, end: str) -> None:
        """Keep photos taken from ``start`` to ``end`` (ISO dates, inclusive; "" for no bound)."""

        def change() -> None:
            self._taken_from, self._taken_to = start, end

        self._change_filter(change)

    def set_tag(self, tag: str) -> None:
        """Keep photos with this XMP keyword ("" for any)."""
        self._change_filter(lambda: setattr(self, "_tag", tag))

    def _change_filter(self, change: Any) -> None:
        # Qt >= 6.10 wants begin/endFilterChange; older Qt only has invalidateRowsFilter.
        if hasattr(self, "endFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        row: Prediction | None = model.data(index, ROW_ROLE)
        if row is None:
            return False
        if self._taken_from or self._taken_to:
            taken: str = model.data(index, TAKEN_ROLE) or ""
            if not taken or taken[:10] < (self._taken_from or "0") or taken[:10] > (self._taken_to or "9"):
                return False
        if self._tag and self._tag not in (model.data(index, TAGS_ROLE) or ()):
            return False
        # The model's name matches too, so typing it keeps one model's rows of a mixed table.
        named = self._text in row.path.name.lower() or (
            isinstance(model, ResultsModel) and self._text in model.model_of(row.path).name.lower()
        )
        if row.error is not None:
            if self._min_confidence > 0:
                return False
            return not self._text or self._text in row.error.lower() or named
        if row.top1 is not None and row.top1.probability < self._min_confidence:
            return False
        if not self._text:
            return True
        return any(self._text in s.label.lower() for s in row.scores) or named

    def visible_rows(self) -> list[Prediction]:
        """Rows as shown: filtered and in display order (what Export writes)."""
        return [self.data(self.index(r, 0), ROW_ROLE) for r in range(self.rowCount())]
