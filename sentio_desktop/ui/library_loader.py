"""Turn the library's answers into the column arrays the views use (runs on a worker thread)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from sentio_desktop.library import Library, TrackFilter, TrackView
from sentio_desktop.ui.track_data import TrackColumns

ALL_STATUSES = TrackFilter(statuses=())  # every track, including missing and unreadable ones


def status_text(view: TrackView, failure: str | None = None) -> str:
    """What the Status column says about a track, in words."""
    if view.status != "ok":
        return f"{view.status}: {view.problem}" if view.problem else view.status
    if failure and not view.analysed:
        return f"failed: {failure}"
    if view.analysed:
        return "stale (other model or changed)" if view.stale else "analysed"
    return "not analysed"


def columns_from_views(views: Iterable[TrackView], failures: dict[int, str] | None = None) -> TrackColumns:
    views = list(views)
    failures = failures or {}
    n = len(views)

    def strings(values: list[str]) -> np.ndarray:
        return np.array(values, dtype=str) if n else np.array([], dtype="U1")

    def floats(values: list[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    return TrackColumns(
        track_id=np.fromiter((v.id for v in views), dtype=np.int64, count=n),
        title=strings([v.title or Path(v.path).stem for v in views]),
        artist=strings([v.artist or "" for v in views]),
        album=strings([v.album or "" for v in views]),
        genre=strings([v.genre or "" for v in views]),
        duration=floats([v.duration for v in views]),
        valence=floats([v.valence for v in views]),
        arousal=floats([v.arousal for v in views]),
        mood=strings([v.mood or "" for v in views]),
        status=strings([status_text(v, failures.get(v.id)) for v in views]),
        path=strings([v.path for v in views]),
    )


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
        mood=strings(cols["mood"]), status=np.array(statuses, dtype=str), path=strings(paths))
    order = np.lexsort((tracks.path, np.char.lower(tracks.artist)))  # artist, then path, like the CLI
    return tracks.take(order)


def load_tracks(library: Library, track_ids: list[int]) -> list[TrackView]:
    """Fresh views of a few tracks (after their analysis finished)."""
    return library.tracks_by_ids(track_ids)
