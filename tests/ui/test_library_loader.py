"""The GUI's bulk load: `Library.track_rows` and the column arrays built from it."""
from __future__ import annotations

from pathlib import Path

from sentio_desktop.library import Library, TrackFilter
from sentio_desktop.ui.library_loader import load_columns


def test_track_rows_match_track_views(analysed_library) -> None:
    db, _music = analysed_library
    with Library(db) as library:
        rows = library.track_rows(TrackFilter(statuses=()))
        views = {v.id: v for v in library.tracks(TrackFilter(statuses=()))}
        assert len(rows) == len(views) == 9
        for row in rows:
            fields = dict(zip(Library.TRACK_ROW_FIELDS, row))
            view = views[fields["id"]]
            for name in ("path", "title", "artist", "album", "genre", "duration", "status", "valence", "arousal",
                         "mood", "stale"):
                assert fields[name] == getattr(view, name), name
        columns = load_columns(library)
    assert sorted(columns.track_id.tolist()) == sorted(views)
    assert set(columns.status.tolist()) == {"analysed"} and columns.analysed.all()
    assert all(Path(p).name.startswith("vibe_ace") for p in columns.path)
    assert "kevin macleod" in columns.search_text[0] and "vibe_ace" in columns.search_text[0]
