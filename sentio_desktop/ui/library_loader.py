"""Turn the library's answers into the column arrays the views use (runs on a worker thread)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import text

from sentio_desktop.library import Library, TrackFilter
from sentio_desktop.ui.track_data import TrackColumns
from sentio_ml.music_detector import shown_mood

ALL_STATUSES = TrackFilter(statuses=())  # every track, including missing and unreadable ones


def load_columns(library: Library) -> TrackColumns:
    """The whole library (every status) as column arrays, from one bulk query (`Library.track_rows`)."""
    failures = {f.track_id: f.reason for f in library.failures() if f.stage == "analysis"}
    rows = library.track_rows(ALL_STATUSES)
    fields = Library.TRACK_ROW_FIELDS
    n = len(rows)
    if not n:
        return TrackColumns.empty()
    cols = dict(zip(fields, zip(*rows)))

    def strings(values) -> np.ndarray:
        return np.array(["" if v is None else v for v in values], dtype=str)

    def floats(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    paths = cols["path"]
    valence = floats(cols["valence"])
    statuses = [
        (f"{status}: {problem}" if problem else status) if status != "ok"
        else ("stale (other model or changed)" if stale else "analysed") if v == v
        else (f"failed: {failures[tid]}" if tid in failures else "not analysed")
        for tid, status, problem, stale, v in zip(cols["id"], cols["status"], cols["problem"], cols["stale"],
                                                  valence.tolist())]
    tracks = TrackColumns(
        track_id=np.array(cols["id"], dtype=np.int64),
        title=strings([t or Path(p).stem for t, p in zip(cols["title"], paths)]),
        artist=strings(cols["artist"]), album=strings(cols["album"]), genre=strings(cols["genre"]),
        duration=floats(cols["duration"]), valence=valence, arousal=floats(cols["arousal"]),
        mood=strings([shown_mood(m, p) for m, p in zip(cols["mood"], cols["music"])]),
        status=np.array(statuses, dtype=str), path=strings(paths), music=floats(cols["music"]))
    order = np.lexsort((tracks.path, np.char.lower(tracks.artist)))  # artist, then path, like the CLI
    return tracks.take(order)



Extent = tuple[tuple[float, float], tuple[float, float]]  # (valence min/max, arousal min/max)


@dataclass(frozen=True)
class LoadedLibrary:
    """What the window needs after a (re)load: the columns, how far the excerpt points reach, and
    how many playable songs wait for analysis."""

    tracks: TrackColumns
    excerpt_extent: Extent | None
    pending: int


def excerpt_extent(library: Library) -> Extent | None:
    """The bounding box of every current analysis's excerpt points (None when there are none).

    One SQLite aggregate over the stored timelines (``json_each``), so the map can fit the songs
    together with their excerpt paths without loading a timeline per song.
    """
    query = text(
        "SELECT min(json_extract(e.value, '$.valence')), max(json_extract(e.value, '$.valence')), "
        "min(json_extract(e.value, '$.arousal')), max(json_extract(e.value, '$.arousal')) "
        "FROM analyses AS a, json_each(a.timeline) AS e WHERE a.current = 1 AND a.timeline IS NOT NULL")
    (v0, v1, a0, a1), = library.rows(query)
    if None in (v0, v1, a0, a1):
        return None
    return (float(v0), float(v1)), (float(a0), float(a1))


def load_library(library: Library) -> LoadedLibrary:
    """Everything the window shows after a load, read on a worker thread."""
    tracks = load_columns(library)
    pending = int((tracks.status == "not analysed").sum()) if len(tracks) else 0
    return LoadedLibrary(tracks, excerpt_extent(library), pending)
