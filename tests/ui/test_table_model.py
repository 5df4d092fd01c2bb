"""The array-backed table model: sorting, filtering and row ↔ track mapping without per-row Python."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt

from sentio_desktop.ui.table_model import COLUMN_KEYS, TRACK_INDEX_ROLE, TrackTableModel
from sentio_desktop.ui.track_data import TrackColumns, filter_mask


def sample() -> TrackColumns:
    return TrackColumns.from_records([
        {"id": 10, "title": "beta", "artist": "Zed", "genre": "Jazz", "duration": 61.0, "valence": 0.8,
         "arousal": 0.7, "mood": "excited", "status": "analysed", "path": "/m/b.flac"},
        {"id": 11, "title": "Alpha", "artist": "amy", "genre": "Rock", "duration": 3725.0, "valence": 0.2,
         "arousal": 0.3, "mood": "sad", "status": "analysed", "path": "/m/a.mp3"},
        {"id": 12, "title": "", "artist": "Bob", "genre": "", "duration": None, "valence": None,
         "arousal": None, "mood": "", "status": "not analysed", "path": "/m/c.ogg"},
        {"id": 13, "title": "gamma", "artist": "", "genre": "jazz", "duration": 200.0, "valence": 0.55,
         "arousal": 0.9, "mood": "alert", "status": "analysed", "path": "/m/g.wav"},
    ])


def column(model: TrackTableModel, key: str) -> list[str]:
    c = COLUMN_KEYS.index(key)
    return [model.data(model.index(r, c)) for r in range(model.rowCount())]


def test_sort_is_case_insensitive_with_blanks_last_both_ways() -> None:
    model = TrackTableModel(sample())
    model.sort(COLUMN_KEYS.index("title"), Qt.SortOrder.AscendingOrder)
    assert column(model, "title") == ["Alpha", "beta", "gamma", ""]
    model.sort(COLUMN_KEYS.index("title"), Qt.SortOrder.DescendingOrder)
    assert column(model, "title") == ["gamma", "beta", "Alpha", ""]
    model.sort(COLUMN_KEYS.index("valence"), Qt.SortOrder.DescendingOrder)
    assert column(model, "valence") == ["0.800", "0.550", "0.200", ""]
    model.sort(COLUMN_KEYS.index("artist"), Qt.SortOrder.AscendingOrder)
    assert column(model, "artist") == ["amy", "Bob", "Zed", ""]


def test_filter_text_and_ranges_and_mapping() -> None:
    model = TrackTableModel(sample())
    model.set_filter(text="JAZZ")
    assert sorted(column(model, "title")) == ["beta", "gamma"]
    model.set_filter(text="jazz gam")  # every word must match
    assert column(model, "title") == ["gamma"]
    model.set_filter(text="", valence=(0.5, 1.0), arousal=(0.0, 0.8))
    assert column(model, "title") == ["beta"]  # gamma's arousal 0.9 is out; unanalysed rows drop out of ranges
    assert model.rowCount() == 1 and model.data(model.index(0, 0), TRACK_INDEX_ROLE) == 0
    assert model.row_of(0) == 0 and model.row_of(2) is None
    model.set_filter(valence=(0.0, 1.0), arousal=(0.0, 1.0))
    assert model.rowCount() == 4  # full ranges keep unanalysed tracks


def test_formatting_and_in_place_updates() -> None:
    tracks = sample()
    model = TrackTableModel(tracks)
    assert column(model, "duration") == ["1:01", "1:02:05", "", "3:20"]
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    index = tracks.update_analysis(12, 0.25, 0.75, "a-much-longer-mood-word", "analysed")
    model.tracks_changed([index])
    assert changed and column(model, "mood")[2] == "a-much-longer-mood-word"
    assert not math.isnan(tracks.valence[2]) and tracks.index_of(999) is None


def test_filter_mask_on_100k_rows_is_vectorised() -> None:
    n = 100_000
    rng = np.random.default_rng(1)
    tracks = TrackColumns.from_arrays(track_id=np.arange(n), title=np.array([f"t{i}" for i in range(n)]),
                                      valence=rng.random(n), arousal=rng.random(n))
    mask = filter_mask(tracks, "t9999", (0.0, 1.0), (0.0, 1.0))
    assert mask.sum() == 11  # t9999 and t99990..t99999
    model = TrackTableModel(tracks)
    model.sort(COLUMN_KEYS.index("valence"))
    values = tracks.valence[model.track_indices()]
    assert np.all(np.diff(values) >= 0)


def test_rows_of_many_tracks_at_once() -> None:
    model = TrackTableModel(sample())
    model.sort(COLUMN_KEYS.index("title"), Qt.SortOrder.AscendingOrder)  # Alpha, beta, gamma, ""
    assert model.rows_of(np.array([1, 0, 3, 2, 99, -1])).tolist() == [0, 1, 2, 3, -1, -1]
    model.set_filter(text="jazz")
    assert model.rows_of(np.array([0, 1, 3])).tolist() == [0, -1, 1]
