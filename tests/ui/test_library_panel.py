"""The library panel: selection sync by track, sorting that keeps the selection, big scattered selections."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from sentio_desktop.ui.library_panel import MAX_SELECTION_RANGES, LibraryPanel
from sentio_desktop.ui.track_data import TrackColumns


def panel_with(qtbot, n: int) -> LibraryPanel:
    rng = np.random.default_rng(5)
    tracks = TrackColumns.from_arrays(track_id=np.arange(n), title=np.array([f"song {i:05d}" for i in range(n)]),
                                      valence=rng.random(n), arousal=rng.random(n))
    panel = LibraryPanel()
    qtbot.addWidget(panel)
    panel.set_tracks(tracks)
    return panel


def test_sorting_keeps_the_selected_tracks(qtbot) -> None:
    panel = panel_with(qtbot, 200)
    panel.select_tracks([3, 50, 120], current=50)
    panel.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # valence, via the header's indicator
    values = panel.model.tracks.valence[panel.model.track_indices()]
    assert np.all(np.diff(values) <= 0)
    assert panel.selected_tracks().tolist() == sorted([3, 50, 120], key=lambda i: -values[panel.model.row_of(i)]) \
        or sorted(panel.selected_tracks().tolist()) == [3, 50, 120]
    assert panel.model.track_index(panel.table.selectionModel().currentIndex().row()) == 50


def test_a_big_scattered_selection_narrows_the_table_until_show_all(qtbot) -> None:
    n = 4 * MAX_SELECTION_RANGES
    panel = panel_with(qtbot, n)
    scattered = np.arange(0, n, 2)  # every other row: one range per song
    changed = []
    panel.selectionChanged.connect(changed.append)
    panel.select_tracks(scattered)
    assert panel.model.rowCount() == len(scattered) and not panel.only_label.isHidden()
    assert sorted(panel.selected_tracks().tolist()) == scattered.tolist()
    assert changed == []  # mirroring the map's selection does not echo back to the map
    panel.show_all()  # the whole table again; too scattered to select row by row, so no rows are
    assert panel.model.rowCount() == n and panel.only_label.isHidden()
    assert len(panel.selected_tracks()) == 0 and changed == []  # ... and the map keeps its selection
    panel.select_tracks(scattered[:10])  # a small selection: whole table, rows selected in place
    assert panel.model.rowCount() == n and len(panel.selected_tracks()) == 10
