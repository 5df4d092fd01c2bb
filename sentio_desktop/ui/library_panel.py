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

# The mood columns come right after Title and Artist (shown order; the model's order is unchanged), so
# they are visible without scrolling in a library dock of ~450 px (a 1280 px wide window).
SHOWN_ORDER = ("title", "artist", "valence", "arousal", "mood", "album", "genre", "duration", "status")
COLUMN_WIDTHS = {"title": 150, "artist": 105, "valence": 58, "arousal": 58, "mood": 76, "album": 140,
                 "genre": 90, "duration": 62}
FILTER_DELAY_MS = 150  # typing pauses this long before the (vectorised) filter runs
# A map selection that would be more separate row ranges than this (a region in a table sorted by
# artist, say) is shown by narrowing the table to the selected songs: one range, instant.
MAX_SELECTION_RANGES = 500


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
        self.only_label = QLabel(self)
        self.show_all_button = QToolButton(self)
        self.show_all_button.setText("Show all songs")
        self.show_all_button.clicked.connect(self.show_all)
        self.only_label.hide()
        self.show_all_button.hide()

        self.table = QTableView(self)
        self.table.setObjectName("libraryTable")
        self.table.setModel(self.model)
        # Sorting is driven here, not by QTableView: the selection is set aside around every layout
        # change, since Qt would otherwise track each selected cell one by one (slow at 100k rows).
        self.table.setSortingEnabled(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)  # see show_column
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: O(1) layout at 100k
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self.sort)
        keys = [column.key for column in COLUMNS]
        for visual, key in enumerate(SHOWN_ORDER):
            header.moveSection(header.visualIndex(keys.index(key)), visual)
        for key, width in COLUMN_WIDTHS.items():
            header.resizeSection(keys.index(key), width)
        header.setMinimumSectionSize(40)

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
        only_row = QHBoxLayout()
        only_row.addWidget(self.only_label, 1)
        only_row.addWidget(self.show_all_button)
        layout.addLayout(only_row)
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
        self.only_label.hide()
        self.show_all_button.hide()
        self.model.set_tracks(tracks)
        self._update_count()
        if len(selected):
            self.select_tracks(selected, emit=False)

    def tracks_changed(self, indices) -> None:
        self.model.tracks_changed(indices)

    def _relayout(self, change) -> None:
        """Run a model layout change with the selection set aside and restored by track."""
        selected = self.selected_tracks()
        current = self.table.selectionModel().currentIndex()
        current_track = self.model.track_index(current.row()) if current.isValid() else None
        self._syncing = True
        try:
            self.table.selectionModel().clear()
        finally:
            self._syncing = False
        change()
        self._update_count()
        self.select_tracks(selected, current=current_track, emit=False)

    def sort(self, column: int, order: Qt.SortOrder) -> None:
        self._relayout(lambda: self.model.sort(column, order))
        self.show_column(column)

    def show_column(self, column: int) -> None:
        """Scroll sideways (only if needed) so that `column` is in view, e.g. the one just sorted by."""
        header = self.table.horizontalHeader()
        left = header.sectionPosition(column)
        right = left + header.sectionSize(column)
        bar = self.table.horizontalScrollBar()
        width = self.table.viewport().width()
        if left < bar.value():
            bar.setValue(left)
        elif right > bar.value() + width:
            bar.setValue(min(left, right - width))

    def apply_filter(self) -> None:
        self._relayout(lambda: self.model.set_filter(text=self.search.text(), valence=self.valence_range.value(),
                                                     arousal=self.arousal_range.value()))
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
        """Track indices of the selected rows, read from the selection's ranges (no per-row objects)."""
        ranges = self.table.selectionModel().selection()
        if ranges.isEmpty():
            return np.zeros(0, dtype=np.int64)
        rows = np.unique(np.concatenate([np.arange(r.top(), r.bottom() + 1) for r in ranges]))
        return self.model.track_indices()[rows[rows < self.model.rowCount()]].astype(np.int64)

    def select_tracks(self, indices, current: int | None = None, emit: bool = False, narrow: bool = True) -> None:
        """Select the rows of these track indices (those hidden by the filter are skipped).

        When they are too scattered to select row by row, the table narrows to them (`narrow`) or,
        with narrow=False, leaves the rows unselected.
        """
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if self.model.only is not None and not np.array_equal(np.sort(indices), np.sort(self.model.only)):
            self.show_all(emit=False)  # a new selection: leave the "only the selection" view
        rows = np.unique(self.model.rows_of(indices))
        rows = rows[rows >= 0]
        scattered = len(rows) > 1 and int((np.diff(rows) != 1).sum()) >= MAX_SELECTION_RANGES
        if scattered and not narrow:
            rows = rows[:0]
        elif scattered:
            self._syncing = True
            try:
                self.table.selectionModel().clear()  # replaced below; spares Qt tracking every cell
            finally:
                self._syncing = False
            self.model.set_only(indices)
            self.only_label.setText(f"Showing the {len(indices):,} songs selected on the map.")
            self.only_label.show()
            self.show_all_button.show()
            self._update_count()
            rows = np.unique(self.model.rows_of(indices))
            rows = rows[rows >= 0]
        selection = QItemSelection()
        last_column = self.model.columnCount() - 1
        if len(rows):  # consecutive rows become one range: a handful of ranges even for 100k rows
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            for start, end in zip(starts.tolist(), ends.tolist()):
                selection.select(self.model.index(start, 0), self.model.index(end, last_column))
        self._syncing = not emit
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.table.selectionModel().select(selection, flags)
            if current is not None:
                row = self.model.row_of(int(current))
                if row is not None:
                    index = self.model.index(row, 0)
                    self.table.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                    self.scroll_to_row(row)
        finally:
            self._syncing = False

    def scroll_to_row(self, row: int) -> None:
        """Bring a row into view without scrolling sideways (the sorted column stays where it is)."""
        bar = self.table.horizontalScrollBar()
        left = bar.value()
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.EnsureVisible)
        bar.setValue(left)

    def show_all(self, emit: bool = True) -> None:
        """Leave the "only the map selection" view (the selection itself is kept)."""
        if self.model.only is None:
            return
        selected = self.selected_tracks()
        self._syncing = True
        try:
            self.table.selectionModel().clear()
        finally:
            self._syncing = False
        self.model.set_only(None)
        self.only_label.hide()
        self.show_all_button.hide()
        self._update_count()
        if emit:
            self.select_tracks(selected, narrow=False)

    def _table_selection_changed(self, *_args) -> None:
        if not self._syncing:
            self.selectionChanged.emit(self.selected_tracks())

    def _current_row_changed(self, current, _previous) -> None:
        if not self._syncing and current.isValid():
            self.currentTrackChanged.emit(self.model.track_index(current.row()))
