"""The library panel: search box, valence/arousal range filters and the track table."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sentio_desktop.ui.table_model import COLUMNS, TrackTableModel
from sentio_desktop.ui.track_data import TrackColumns

FILTER_DELAY_MS = 150  # typing pauses this long before the (vectorised) filter runs


class RangeEdit(QWidget):
    """Two spin boxes for an inclusive [low, high] range on the 0–1 scale."""

    changed = Signal(float, float)

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(QLabel(label, self))
        self.low = self._spin(0.0)
        self.high = self._spin(1.0)
        layout.addWidget(self.low)
        layout.addWidget(QLabel("–", self))
        layout.addWidget(self.high)
        self.low.valueChanged.connect(self._emit)
        self.high.valueChanged.connect(self._emit)

    def _spin(self, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(value)
        spin.setKeyboardTracking(False)
        return spin

    def value(self) -> tuple[float, float]:
        low, high = self.low.value(), self.high.value()
        return (min(low, high), max(low, high))

    def set_value(self, low: float, high: float) -> None:
        for spin, v in ((self.low, low), (self.high, high)):
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)
        self._emit()

    def _emit(self) -> None:
        self.changed.emit(*self.value())


class LibraryPanel(QWidget):
    """Signals carry track indices (positions in `TrackColumns`)."""

    currentTrackChanged = Signal(int)
    selectionChanged = Signal(object)  # np.ndarray of track indices
    trackActivated = Signal(int)
    filterChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TrackTableModel(parent=self)
        self._syncing = False

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search title, artist, album, genre, mood…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.valence_range = RangeEdit("Valence", self)
        self.arousal_range = RangeEdit("Arousal", self)
        self.reset_button = QToolButton(self)
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Clear the search and the ranges")
        self.count_label = QLabel(self)

        self.table = QTableView(self)
        self.table.setObjectName("libraryTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: O(1) layout at 100k
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        widths = {"title": 240, "artist": 160, "album": 160, "genre": 100, "duration": 70, "valence": 70,
                  "arousal": 70, "mood": 90}
        for i, column in enumerate(COLUMNS):
            if column.key in widths:
                header.resizeSection(i, widths[column.key])

        ranges = QHBoxLayout()
        ranges.addWidget(self.valence_range)
        ranges.addSpacing(12)
        ranges.addWidget(self.arousal_range)
        ranges.addStretch(1)
        ranges.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addLayout(ranges)
        layout.addWidget(self.table)
        layout.addWidget(self.count_label)

        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.valence_range.changed.connect(lambda *_: self.apply_filter())
        self.arousal_range.changed.connect(lambda *_: self.apply_filter())
        self.reset_button.clicked.connect(self.reset_filters)
        self.table.selectionModel().selectionChanged.connect(self._table_selection_changed)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.doubleClicked.connect(lambda index: self.trackActivated.emit(self.model.track_index(index.row())))
        self._update_count()

    # -- data ----------------------------------------------------------------------------------
    def set_tracks(self, tracks: TrackColumns) -> None:
        selected = self.selected_tracks()
        self.model.set_tracks(tracks)
        self._update_count()
        if len(selected):
            self.select_tracks(selected, emit=False)

    def tracks_changed(self, indices) -> None:
        self.model.tracks_changed(indices)

    def apply_filter(self) -> None:
        selected = self.selected_tracks()
        self.model.set_filter(text=self.search.text(), valence=self.valence_range.value(),
                              arousal=self.arousal_range.value())
        self._update_count()
        self.select_tracks(selected, emit=False)
        self.filterChanged.emit()

    def reset_filters(self) -> None:
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.valence_range.blockSignals(True)
        self.arousal_range.blockSignals(True)
        self.valence_range.set_value(0.0, 1.0)
        self.arousal_range.set_value(0.0, 1.0)
        self.valence_range.blockSignals(False)
        self.arousal_range.blockSignals(False)
        self.apply_filter()

    def _update_count(self) -> None:
        total, shown = len(self.model.tracks), self.model.rowCount()
        analysed = int(self.model.tracks.analysed.sum()) if total else 0
        text = f"{shown:,} of {total:,} tracks shown · {analysed:,} analysed"
        self.count_label.setText(text)

    # -- selection -----------------------------------------------------------------------------
    def selected_tracks(self) -> np.ndarray:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return np.array([self.model.track_index(r) for r in rows], dtype=np.int64)

    def select_tracks(self, indices, current: int | None = None, emit: bool = False) -> None:
        """Select the rows of these track indices (those hidden by the filter are skipped)."""
        rows = sorted(r for r in (self.model.row_of(int(i)) for i in np.asarray(indices).ravel()) if r is not None)
        selection = QItemSelection()
        start = prev = None
        last_column = self.model.columnCount() - 1
        for row in rows + [None]:  # merge consecutive rows into ranges
            if start is not None and (row is None or row != prev + 1):
                selection.select(self.model.index(start, 0), self.model.index(prev, last_column))
                start = None
            if row is not None and start is None:
                start = row
            prev = row
        self._syncing = not emit
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.table.selectionModel().select(selection, flags)
            if current is not None:
                row = self.model.row_of(int(current))
                if row is not None:
                    index = self.model.index(row, 0)
                    self.table.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                    self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False

    def _table_selection_changed(self, *_args) -> None:
        if not self._syncing:
            self.selectionChanged.emit(self.selected_tracks())

    def _current_row_changed(self, current, _previous) -> None:
        if not self._syncing and current.isValid():
            self.currentTrackChanged.emit(self.model.track_index(current.row()))
