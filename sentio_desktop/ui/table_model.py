"""The library table's Qt model: a view (order + filter) over `TrackColumns` arrays.

Sorting is a stable argsort on a pre-ranked column and filtering a boolean mask, so a 100,000-row
library sorts and filters in milliseconds; `data()` only formats the rows Qt actually paints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from sentio_desktop.ui.track_data import TrackColumns, filter_mask

ModelIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index Qt passes for the table's root


def format_duration(seconds: float) -> str:
    if math.isnan(seconds):
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def format_unit(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"


@dataclass(frozen=True)
class Column:
    key: str  # attribute of TrackColumns
    title: str
    formatter: Callable[[Any], str] | None = None
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("title", "Title"),
    Column("artist", "Artist"),
    Column("album", "Album"),
    Column("genre", "Genre"),
    Column("duration", "Duration", format_duration, numeric=True),
    Column("valence", "Valence", format_unit, numeric=True),
    Column("arousal", "Arousal", format_unit, numeric=True),
    Column("mood", "Mood"),
    Column("status", "Status"),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)

TRACK_INDEX_ROLE = Qt.ItemDataRole.UserRole + 1  # position in TrackColumns
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # raw value


class TrackTableModel(QAbstractTableModel):
    """Rows are visible tracks in the current order; `track_index(row)` maps back to the arrays."""

    def __init__(self, tracks: TrackColumns | None = None, parent=None) -> None:
        super().__init__(parent)
        self._tracks = tracks or TrackColumns.empty()
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._ranks: dict[str, np.ndarray] = {}
        self._text = ""
        self._valence = (0.0, 1.0)
        self._arousal = (0.0, 1.0)
        self._mask = np.ones(len(self._tracks), dtype=bool)
        self._view = np.arange(len(self._tracks))
        self._row_of: np.ndarray | None = None
        self._only: np.ndarray | None = None

    # -- data in -------------------------------------------------------------------------------
    @property
    def tracks(self) -> TrackColumns:
        return self._tracks

    def set_tracks(self, tracks: TrackColumns) -> None:
        self.beginResetModel()
        self._tracks = tracks
        self._ranks.clear()
        self._only = None
        self._recompute()
        self.endResetModel()

    def tracks_changed(self, indices: np.ndarray | list[int]) -> None:
        """Some tracks got new values in place (fresh analysis results): repaint their rows."""
        self._ranks.clear()
        rows = [self.row_of(int(i)) for i in indices]
        rows = [r for r in rows if r is not None]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))

    # -- filter & sort -------------------------------------------------------------------------
    def set_filter(self, text: str | None = None, valence: tuple[float, float] | None = None,
                   arousal: tuple[float, float] | None = None) -> None:
        if text is not None:
            self._text = text
        if valence is not None:
            self._valence = (float(valence[0]), float(valence[1]))
        if arousal is not None:
            self._arousal = (float(arousal[0]), float(arousal[1]))
        self.layoutAboutToBeChanged.emit()
        self._recompute()
        self.layoutChanged.emit()

    def set_only(self, track_indices: np.ndarray | None) -> None:
        """Show only these tracks (on top of the other filters); None shows every track again."""
        self._only = None if track_indices is None else np.asarray(track_indices, dtype=np.int64)
        self.layoutAboutToBeChanged.emit()
        self._recompute()
        self.layoutChanged.emit()

    @property
    def only(self) -> np.ndarray | None:
        return self._only

    @property
    def mask(self) -> np.ndarray:
        """Boolean mask over all tracks: True where the current filter lets the track through."""
        return self._mask

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        self._recompute(refilter=False)
        self.layoutChanged.emit()

    def _rank(self, key: str) -> np.ndarray:
        """Sort keys for a column; strings are ranked once (case-insensitive) so sorting is integer argsort."""
        if key not in self._ranks:
            values = getattr(self._tracks, key)
            if values.dtype.kind == "U":
                lowered = np.char.lower(values) if len(values) else values
                _, ranks = np.unique(lowered, return_inverse=True)
                blank = values == ""
                ranks = ranks.astype(np.float64)
                ranks[blank] = np.inf  # blanks sort last
                self._ranks[key] = ranks
            else:
                self._ranks[key] = np.where(np.isnan(values), np.inf, values)
        return self._ranks[key]

    def _recompute(self, refilter: bool = True) -> None:
        if refilter:
            self._mask = filter_mask(self._tracks, self._text, self._valence, self._arousal)
        visible = np.flatnonzero(self._mask)
        if self._only is not None:
            keep = np.zeros(len(self._tracks), dtype=bool)
            keep[self._only[(self._only >= 0) & (self._only < len(keep))]] = True
            visible = visible[keep[visible]]
        if 0 <= self._sort_column < len(COLUMNS):
            keys = self._rank(COLUMNS[self._sort_column].key)[visible]
            if self._sort_order == Qt.SortOrder.DescendingOrder:
                finite = np.isfinite(keys)
                keys = np.where(finite, -keys, np.inf)  # still blanks last
            visible = visible[np.argsort(keys, kind="stable")]
        self._view = visible
        self._row_of = None

    # -- index mapping -------------------------------------------------------------------------
    def track_index(self, row: int) -> int:
        return int(self._view[row])

    def track_indices(self) -> np.ndarray:
        """Track indices of the visible rows, in display order."""
        return self._view

    def _rows(self) -> np.ndarray:
        if self._row_of is None:
            self._row_of = np.full(len(self._tracks), -1, dtype=np.int64)
            self._row_of[self._view] = np.arange(len(self._view))
        return self._row_of

    def rows_of(self, track_indices: np.ndarray) -> np.ndarray:
        """Rows of many track indices at once (-1 where hidden by the filter or unknown)."""
        rows = self._rows()
        idx = np.asarray(track_indices, dtype=np.int64)
        valid = (idx >= 0) & (idx < len(rows))
        out = np.full(idx.shape, -1, dtype=np.int64)
        out[valid] = rows[idx[valid]]
        return out

    def row_of(self, track_index: int) -> int | None:
        self._rows()
        if not 0 <= track_index < len(self._row_of):
            return None
        row = int(self._row_of[track_index])
        return None if row < 0 else row

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else int(len(self._view))

    def columnCount(self, parent: ModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if COLUMNS[
                section].numeric else None
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        column = COLUMNS[index.column()]
        track = int(self._view[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            value = getattr(self._tracks, column.key)[track]
            return column.formatter(float(value)) if column.formatter else str(value)
        if role == Qt.ItemDataRole.ToolTipRole and column.key == "mood" and self._tracks.not_music[track]:
            return (f"Not music (P(Music) = {self._tracks.music[track]:.2f}): speech, animal sounds or a field "
                    "recording; left out of playlists unless asked")
        if role == Qt.ItemDataRole.ToolTipRole and column.key in ("title", "status"):
            return str(self._tracks.path[track]) if column.key == "title" else str(self._tracks.status[track])
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == TRACK_INDEX_ROLE:
            return track
        if role == SORT_ROLE:
            value = getattr(self._tracks, column.key)[track]
            return float(value) if column.numeric else str(value)
        return None
