"""Mood playlists: regions of the valence/arousal plane, nearest neighbours, mood paths; saving and export.

Regions read only the points in their bounding box (``Library.mood_points_in``, an index range);
neighbours and paths work on ``Library.mood_points()`` (every analysed playable track as NumPy arrays
with a KD-tree, cached until the library changes), so all stay fast on 100,000-track libraries. They
return track ids in playlist order. Tracks judged "not music" (speech, animal sounds, field recordings:
``Library.non_music_ids``) are left out unless ``include_non_music=True`` — here, once, for the CLI and the GUI;
a seed, start or end song the user names is kept. ``build_*`` functions never write; ``save_playlist`` stores a
list in the library and ``export_playlist`` writes M3U8 (with ``#EXTINF``) or XSPF with relative or absolute paths.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

import numpy as np
import scipy.spatial  # noqa: F401 - imported up front: the KD-tree behind neighbours and paths
from sqlalchemy import delete, func, select

from sentio_desktop.db import Playlist, PlaylistEntry
from sentio_desktop.errors import PlaylistError
from sentio_desktop.library import Library, MoodPoints, TrackView
from sentio_ml.errors import os_error_reason

Point = tuple[float, float]  # (valence, arousal), both on [0, 1]
EXPORT_FORMATS = ("m3u8", "xspf")


@dataclass(frozen=True)
class Rect:
    """Valence and arousal ranges (inclusive)."""

    valence: tuple[float, float]
    arousal: tuple[float, float]

    def center(self) -> Point:
        return (sum(self.valence) / 2, sum(self.arousal) / 2)

    def bbox(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return tuple(sorted(self.valence)), tuple(sorted(self.arousal))  # type: ignore[return-value]

    def contains(self, va: np.ndarray) -> np.ndarray:
        (v0, v1), (a0, a1) = sorted(self.valence), sorted(self.arousal)
        return (va[:, 0] >= v0) & (va[:, 0] <= v1) & (va[:, 1] >= a0) & (va[:, 1] <= a1)


@dataclass(frozen=True)
class Circle:
    valence: float
    arousal: float
    radius: float

    def center(self) -> Point:
        return (self.valence, self.arousal)

    def bbox(self) -> tuple[tuple[float, float], tuple[float, float]]:
        r = self.radius
        return (self.valence - r, self.valence + r), (self.arousal - r, self.arousal + r)

    def contains(self, va: np.ndarray) -> np.ndarray:
        return np.hypot(va[:, 0] - self.valence, va[:, 1] - self.arousal) <= self.radius


@dataclass(frozen=True)
class Polygon:
    """A simple polygon given by its corners (valence, arousal), in order; even-odd rule."""

    points: tuple[Point, ...]

    def center(self) -> Point:
        pts = np.asarray(self.points, dtype=float)
        return (float(pts[:, 0].mean()), float(pts[:, 1].mean()))

    def bbox(self) -> tuple[tuple[float, float], tuple[float, float]]:
        pts = np.asarray(self.points, dtype=float)
        return (float(pts[:, 0].min()), float(pts[:, 0].max())), (float(pts[:, 1].min()), float(pts[:, 1].max()))

    def contains(self, va: np.ndarray) -> np.ndarray:
        x, y = va[:, 0], va[:, 1]
        inside = np.zeros(len(va), dtype=bool)
        pts = list(self.points)
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
            crosses = (y0 > y) != (y1 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (x < x_at)
        return inside


Region = Rect | Circle | Polygon


@dataclass(frozen=True)
class PlaylistInfo:
    id: int
    name: str
    kind: str
    params: dict[str, Any]
    size: int
    created_at: datetime


def _check_point(point: Sequence[float], what: str) -> Point:
    if len(point) != 2 or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in point):
        raise PlaylistError(f"The {what} must be two numbers (valence, arousal).")
    v, a = float(point[0]), float(point[1])
    if not (0.0 <= v <= 1.0 and 0.0 <= a <= 1.0):
        raise PlaylistError(f"The {what} ({v:g}, {a:g}) is outside the mood map: valence and arousal go from 0 to 1.")
    return v, a


def validate_region(region: Region) -> Region:
    """Raise PlaylistError (one sentence) for a region that cannot select anything sensible."""
    if isinstance(region, Rect):
        for lo, hi in (region.valence, region.arousal):
            _check_point((lo, hi), "range")
    elif isinstance(region, Circle):
        _check_point((region.valence, region.arousal), "circle centre")
        if not region.radius > 0:
            raise PlaylistError("The circle's radius must be greater than 0.")
    elif isinstance(region, Polygon):
        if len(region.points) < 3:
            raise PlaylistError("A polygon needs at least three corners.")
        for p in region.points:
            _check_point(p, "polygon corner")
    else:
        raise PlaylistError(f"Unknown region type {type(region).__name__}.")
    return region


def without_non_music(library: Library, points: MoodPoints, include_non_music: bool = False) -> MoodPoints:
    """``points`` less the tracks judged not music, unless ``include_non_music`` (the one place playlists apply
    the rule; the same object back when nothing is dropped, so its KD-tree stays cached)."""
    if include_non_music or not len(points):
        return points
    drop = np.isin(points.ids, library.non_music_ids())
    return MoodPoints(ids=points.ids[~drop], va=points.va[~drop]) if drop.any() else points


def playlist_ids(library: Library, track_ids: Sequence[int], include_non_music: bool = False) -> list[int]:
    """``track_ids`` (e.g. a hand-made selection) in order, less the tracks judged not music unless asked."""
    if include_non_music:
        return [int(i) for i in track_ids]
    excluded = set(library.non_music_ids().tolist())
    return [int(i) for i in track_ids if int(i) not in excluded]


def build_region(library: Library, region: Region, limit: int | None = None, include_non_music: bool = False) -> list[int]:
    """Tracks inside ``region``, most central first (so a ``limit`` keeps the most typical ones)."""
    validate_region(region)
    # the index narrows to the box, NumPy does the shape
    points = without_non_music(library, library.mood_points_in(*region.bbox()), include_non_music)
    inside = np.flatnonzero(region.contains(points.va))
    center = np.asarray(region.center())
    distance = np.hypot(*(points.va[inside] - center).T)
    order = inside[np.argsort(distance, kind="stable")]
    return points.ids[order[:limit] if limit else order].tolist()


@dataclass(frozen=True)
class PlaylistDraft:
    """A built, unsaved playlist: what ``save_playlist`` stores (``kind``, ``params``) and its tracks."""

    kind: str
    params: dict[str, Any]
    track_ids: list[int]


_REGION_TYPES: dict[str, type] = {"rect": Rect, "circle": Circle, "polygon": Polygon}


def region_params(region: Region) -> dict[str, Any]:
    """The one stored encoding of a region (CLI and GUI): ``{"region": "rect", "valence": [..], ...}``."""
    validate_region(region)
    name = next(key for key, cls in _REGION_TYPES.items() if isinstance(region, cls))
    fields = {key: _as_lists(value) for key, value in dataclasses.asdict(region).items()}
    return {"region": name, **fields}


def region_from_params(params: dict[str, Any]) -> Region:
    """The region a saved ``kind="region"`` playlist was built from (inverse of ``region_params``)."""
    fields = {k: v for k, v in params.items() if k != "region"}
    cls = _REGION_TYPES.get(str(params.get("region")))
    try:
        if cls is Rect:
            return validate_region(Rect(tuple(fields["valence"]), tuple(fields["arousal"])))
        if cls is Circle:
            return validate_region(Circle(float(fields["valence"]), float(fields["arousal"]), float(fields["radius"])))
        if cls is Polygon:
            return validate_region(Polygon(tuple(tuple(p) for p in fields["points"])))
    except (KeyError, TypeError, ValueError):
        pass
    raise PlaylistError(f"The saved region {params!r} is not a rectangle, circle or polygon Sentio can read.")


def region_playlist(library: Library, region: Region, limit: int | None = None,
                    among: Sequence[int] | None = None, include_non_music: bool = False) -> PlaylistDraft:
    """The songs in ``region``, most central first, as a draft both the CLI and the GUI save.

    ``among`` (the GUI's map selection) keeps only those songs, in the region's order, with any
    selected songs the region query did not return (none, normally) at the end.
    """
    ids = build_region(library, region, limit=None if among is not None else limit, include_non_music=include_non_music)
    if among is not None:
        chosen = playlist_ids(library, among, include_non_music)
        wanted = set(chosen)
        ordered = [i for i in ids if i in wanted]
        placed = set(ordered)
        ids = (ordered + [i for i in chosen if i not in placed])[:limit or None]
    return PlaylistDraft("region", region_params(region), ids)


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def build_nearest(library: Library, seed_track_id: int, count: int = 20, include_seed: bool = True,
                  include_non_music: bool = False) -> list[int]:
    """A playlist of ``count`` songs: the seed song first (unless ``include_seed=False``), then its nearest
    neighbours on the mood map, nearest first. Byte-identical copies of a song count once."""
    if count < 1:
        raise PlaylistError("A playlist needs at least one song.")
    everything = library.mood_points()
    seed, same_song = _song_point(library, everything, seed_track_id)
    points = without_non_music(library, everything, include_non_music)
    wanted = count - 1 if include_seed else count
    k = min(wanted + len(same_song), len(points))
    _, nearest = points.tree.query(seed, k=k) if k else (None, [])
    ids = [int(points.ids[i]) for i in np.atleast_1d(nearest) if int(points.ids[i]) not in same_song]
    return ([seed_track_id] if include_seed else []) + ids[:wanted]


@dataclass(frozen=True)
class MoodPath:
    """A mood path's track ids and how many of its steps could not move forward along the line (the library
    has too few songs between their neighbours for that many steps); 0 means every step moves on."""

    ids: list[int]
    stalled_steps: int


def build_path(library: Library, start_track_id: int, end_track_id: int, steps: int = 10,
               waypoints: Sequence[Point] = (), include_non_music: bool = False) -> list[int]:
    """The track ids of ``mood_path`` (see there)."""
    return mood_path(library, start_track_id, end_track_id, steps, waypoints, include_non_music).ids


def mood_path(library: Library, start_track_id: int, end_track_id: int, steps: int = 10,
              waypoints: Sequence[Point] = (), include_non_music: bool = False) -> MoodPath:
    """A mood path of ``steps`` songs from the start song to the end song through ``waypoints``.

    Targets are spaced evenly along the polyline start → waypoints → end. The songs in between are chosen
    together: their positions along the line never go back (each step moves on from the previous one, or
    stays level where the library has nothing in between), and among such choices the one with the least
    total distance to the targets plus distance to the line wins (no duplicates).
    """
    if steps < 2:
        raise PlaylistError("A mood path needs at least 2 steps (the start and the end song).")
    if start_track_id == end_track_id and not waypoints:
        raise PlaylistError("The start and end songs are the same; pick two songs or add waypoints.")
    everything = library.mood_points()
    points = without_non_music(library, everything, include_non_music)
    if steps > len(points):
        raise PlaylistError(f"A path of {steps} steps needs {steps} analysed songs; the library has {len(points)}"
                            + ("." if len(points) == len(everything) else
                               f" that are music ({len(everything) - len(points)} more are not music)."))
    start, start_song = _song_point(library, everything, start_track_id)
    end, end_song = _song_point(library, everything, end_track_id)
    corners = np.vstack([start, *[np.asarray(_check_point(w, "waypoint")) for w in waypoints], end])
    targets = _points_along(corners, steps)
    along, line_distance = _project_on_polyline(points.va, corners)
    taken = np.isin(points.ids, list(start_song | end_song))
    length = float(np.hypot(*np.diff(corners, axis=0).T).sum())
    inner = _ordered_choice(points, targets[1:-1], along, line_distance, taken, length)
    positions = np.concatenate([[0.0], along[inner], [length]])
    stalled = int(np.sum(np.diff(positions) <= 1e-9))
    order = [start_track_id, *(int(points.ids[i]) for i in inner)]
    if end_track_id not in start_song:  # start == end with waypoints: the song may appear only once
        order.append(end_track_id)
    return MoodPath(order, stalled)


def _ordered_choice(points: Any, targets: np.ndarray, along: np.ndarray, line_distance: np.ndarray,
                    taken: np.ndarray, length: float) -> list[int]:
    """Indices of one song per target, in order along the path, minimising the summed cost (distance to the
    target + distance to the line): a dynamic programme over candidates sorted by their position along it."""
    steps = len(targets)
    if steps == 0:
        return []
    free = int((~taken).sum())
    if free < steps:
        raise PlaylistError("Not enough unused songs left for the mood path.")
    k = min(len(points), 16 + int(taken.sum()))  # each target's nearest songs are the candidates
    _, near = points.tree.query(targets, k=k)
    candidates = np.unique(np.asarray(near).reshape(-1))
    candidates = candidates[~taken[candidates]]
    if len(candidates) < steps:  # targets crowded together: let every free song compete
        candidates = np.flatnonzero(~taken)
    between = (along[candidates] >= 0) & (along[candidates] <= length)
    if between.sum() >= steps:  # songs behind the start or past the end only where the library needs them
        candidates = candidates[between]
    candidates = candidates[np.lexsort((line_distance[candidates], along[candidates]))]
    va, extra = points.va[candidates], line_distance[candidates]
    index = np.arange(len(candidates))
    best = np.hypot(*(va - targets[0]).T) + extra
    back = np.zeros((steps, len(candidates)), dtype=np.int32)
    for step in range(1, steps):
        running = np.minimum.accumulate(best)
        arg = np.maximum.accumulate(np.where(best == running, index, 0))
        previous = np.concatenate([[np.inf], running[:-1]])  # the best choice strictly before each candidate
        back[step, 1:] = arg[:-1]
        best = np.hypot(*(va - targets[step]).T) + extra + previous
    chosen = [int(np.argmin(best))]
    for step in range(steps - 1, 0, -1):
        chosen.append(int(back[step, chosen[-1]]))
    return [int(candidates[i]) for i in reversed(chosen)]


def _song_point(library: Library, points: Any, track_id: int) -> tuple[np.ndarray, set[int]]:
    """A song's place on the map and the ids it goes by (itself and its byte-identical copies)."""
    same_song = library.copies_of(track_id)
    where = np.flatnonzero(np.isin(points.ids, list(same_song)))
    if not len(where):
        raise PlaylistError(f"Track {track_id} has no mood analysis yet (or is missing); analyse it first.")
    return points.va[where[0]], same_song


def _points_along(corners: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced by arc length along the polyline through ``corners``."""
    seg = np.diff(corners, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    total = lengths.sum()
    if total == 0:
        return np.repeat(corners[:1], count, axis=0)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    positions = np.linspace(0.0, total, count)
    return np.column_stack([np.interp(positions, cumulative, corners[:, i]) for i in range(2)])


def _project_on_polyline(va: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point: its position along the polyline (arc length to its nearest point on it; negative
    behind the start, beyond the length past the end) and its distance to the polyline."""
    best = np.full(len(va), np.inf)
    along = np.zeros(len(va))
    walked = 0.0
    last = len(corners) - 2
    for n, (a, b) in enumerate(zip(corners[:-1], corners[1:])):
        ab = b - a
        length2 = float(ab @ ab)
        t = np.zeros(len(va)) if length2 == 0 else ((va - a) @ ab) / length2
        clipped = np.clip(t, 0.0, 1.0)
        distance = np.hypot(*(va - (a + clipped[:, None] * ab)).T)
        closer = distance < best
        reach = np.clip(t, -np.inf if n == 0 else 0.0, np.inf if n == last else 1.0)
        best = np.where(closer, distance, best)
        along = np.where(closer, walked + reach * np.sqrt(length2), along)
        walked += float(np.sqrt(length2))
    return along, best


# ----- saved playlists ---------------------------------------------------------------------------------
def save_playlist(library: Library, name: str, track_ids: Sequence[int], kind: str = "manual",
                  params: dict[str, Any] | None = None, replace: bool = False) -> int:
    """Store a playlist (entries in the given order); an existing name needs ``replace=True``."""
    name = name.strip()
    if not name:
        raise PlaylistError("A playlist needs a name.")
    with library.session() as session:
        existing = session.scalar(select(Playlist).where(Playlist.name == name))
        if existing is not None:
            if not replace:
                raise PlaylistError(f"A playlist called {name!r} already exists; choose another name or replace it.")
            session.delete(existing)
            session.flush()
        playlist = Playlist(name=name, kind=kind, params=params or {})
        session.add(playlist)
        session.flush()
        session.add_all(PlaylistEntry(playlist_id=playlist.id, track_id=int(tid), position=i)
                        for i, tid in enumerate(track_ids))
        return playlist.id


def list_playlists(library: Library) -> list[PlaylistInfo]:
    with library.session() as session:
        sizes = dict(session.execute(select(PlaylistEntry.playlist_id, func.count())
                                     .group_by(PlaylistEntry.playlist_id)).all())
        return [PlaylistInfo(p.id, p.name, p.kind, dict(p.params or {}), int(sizes.get(p.id, 0)), p.created_at)
                for p in session.scalars(select(Playlist).order_by(Playlist.name))]


def _find_playlist(session: Any, ref: int | str) -> Playlist:
    text = str(ref)
    playlist = session.get(Playlist, int(text)) if text.isdigit() else None
    playlist = playlist or session.scalar(select(Playlist).where(Playlist.name == text))
    if playlist is None:
        raise PlaylistError(f"There is no playlist called {text!r}.")
    return playlist


def playlist_tracks(library: Library, ref: int | str) -> list[TrackView]:
    """A saved playlist's tracks in order (by playlist id or name)."""
    with library.session() as session:
        playlist = _find_playlist(session, ref)
        ids = [e.track_id for e in playlist.entries]
    return library.tracks_by_ids(ids)


def delete_playlist(library: Library, ref: int | str) -> None:
    with library.session() as session:
        playlist = _find_playlist(session, ref)
        session.execute(delete(PlaylistEntry).where(PlaylistEntry.playlist_id == playlist.id))
        session.delete(playlist)


# ----- export ------------------------------------------------------------------------------------------
def playlist_file_name(title: str | None, fmt: str = "m3u8") -> str:
    """A clean default file name for a playlist title: its words (letters and digits of any script),
    lower-case, joined by single hyphens; no arrows, commas, colons or double spaces."""
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", title or "").lower())
    stem = "-".join(words)[:80].strip("-")
    return f"{stem or 'playlist'}.{fmt}"


def export_playlist(tracks: Sequence[TrackView], dest: str | os.PathLike[str], fmt: str | None = None,
                    relative: bool = False, title: str | None = None) -> Path:
    """Write ``tracks`` to ``dest`` as M3U8 or XSPF (``fmt`` or from the suffix); paths relative to
    the playlist's folder when ``relative`` (falls back to absolute across drives)."""
    dest = Path(dest).expanduser()
    fmt = (fmt or dest.suffix.lstrip(".")).lower()
    if fmt == "m3u":
        fmt = "m3u8"
    if fmt not in EXPORT_FORMATS:
        raise PlaylistError(f"Cannot export a playlist as {fmt or 'a file without extension'!r}; "
                            f"use .m3u8 or .xspf.")
    base = dest.resolve().parent
    text = _m3u8(tracks, base, relative) if fmt == "m3u8" else _xspf(tracks, base, relative, title or dest.stem)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PlaylistError(f"Cannot write the playlist {dest}: {os_error_reason(exc)}.") from exc
    return dest


def _location(path: str, base: Path, relative: bool) -> str:
    if relative:
        try:
            return os.path.relpath(path, base)
        except ValueError:  # another drive on Windows
            pass
    return path


def _m3u8(tracks: Sequence[TrackView], base: Path, relative: bool) -> str:
    lines = ["#EXTM3U"]
    for track in tracks:
        seconds = int(round(track.duration)) if track.duration else -1
        label = f"{track.artist} - {track.display_title}" if track.artist else track.display_title
        lines.append(f"#EXTINF:{seconds},{label}")
        lines.append(_location(track.path, base, relative))
    return "\n".join(lines) + "\n"


def _xspf(tracks: Sequence[TrackView], base: Path, relative: bool, title: str) -> str:
    root = ET.Element("playlist", version="1", xmlns="http://xspf.org/ns/0/")
    ET.SubElement(root, "title").text = title
    listing = ET.SubElement(root, "trackList")
    for track in tracks:
        item = ET.SubElement(listing, "track")
        location = _location(track.path, base, relative)
        uri = Path(location).as_uri() if os.path.isabs(location) else quote(Path(location).as_posix())
        ET.SubElement(item, "location").text = uri
        ET.SubElement(item, "title").text = track.display_title
        if track.artist:
            ET.SubElement(item, "creator").text = track.artist
        if track.album:
            ET.SubElement(item, "album").text = track.album
        if track.duration:
            ET.SubElement(item, "duration").text = str(int(track.duration * 1000))
        if track.mood:
            ET.SubElement(item, "annotation").text = (
                f"{track.mood} (valence {track.valence:.3f}, arousal {track.arousal:.3f})")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
