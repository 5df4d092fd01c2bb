"""The music library: one SQLite database shared by the CLI and the GUI.

``Library(db_path)`` opens (creating and migrating as needed) the database and answers the questions
both front ends ask: tracks with their current analysis, filtered and sorted; counts and status; the
mood points of the whole library for the map and the playlist builders; a track's timeline.
Results are plain frozen dataclasses (``TrackView``), safe to hand to another thread or a Qt model.
Writers (scanner, analysis service, playlists) use ``library.session()`` for small transactions.

Thread safety: one Library may be shared by threads; each ``session()`` is its own unit of work.
"""
from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker

from sentio_desktop import migrations
from sentio_desktop.columns import SORT_KEYS
from sentio_desktop.db import (
    TRACK_MISSING,
    TRACK_OK,
    TRACK_UNREADABLE,
    Analysis,
    Playlist,
    ScanRun,
    Track,
    integrity_check,
    is_current,
    make_engine,
)
from sentio_desktop.errors import LibraryError, TrackNotFoundError
from sentio_ml.errors import os_error_reason
from sentio_ml.music_detector import NOT_MUSIC_BELOW, is_music, shown_mood


def absolute(path: str | os.PathLike[str]) -> str:
    """How the library spells a path: absolute and normalised, symlinks kept (as the scanner found it)."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def under_roots(path: str, roots: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one of them (roots may be folders or files)."""
    for root in roots:
        root_text = absolute(root)
        if path == root_text or path.startswith(root_text.rstrip(os.sep) + os.sep):
            return True
    return False


@dataclass(frozen=True)
class TrackView:
    """A track with its current analysis (``valence`` etc. are None until analysed)."""

    id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    year: int | None
    duration: float | None
    format: str | None
    status: str
    problem: str | None
    valence: float | None = None
    arousal: float | None = None
    mood: str | None = None
    model_id: str | None = None
    stale: bool = False
    analysed_at: datetime | None = None
    music: float | None = None  # P(Music); None: unknown (counts as music)

    @property
    def is_music(self) -> bool:
        return is_music(self.music)

    @property
    def shown_mood(self) -> str | None:
        """The mood word, or "not music" for a track below the music threshold."""
        return shown_mood(self.mood, self.music)

    @property
    def display_title(self) -> str:
        """The title tag, or the file name without extension when the file has none."""
        return self.title or Path(self.path).stem

    @property
    def analysed(self) -> bool:
        return self.valence is not None and self.arousal is not None


@dataclass(frozen=True)
class TrackFilter:
    """Which tracks to list. Ranges are inclusive (lo, hi) on the [0, 1] scale; None = any.

    ``text`` matches title, artist, album, genre or path (case-insensitive substring);
    ``mood`` matches the mood word exactly (case-insensitive); ``statuses`` defaults to playable
    tracks only; ``analysed`` True/False keeps only tracks with/without a current analysis; ``music``
    True/False keeps only music (unknown included) / only tracks judged not music.
    """

    valence: tuple[float, float] | None = None
    arousal: tuple[float, float] | None = None
    mood: str | None = None
    text: str | None = None
    statuses: tuple[str, ...] = (TRACK_OK,)
    analysed: bool | None = None
    stale: bool | None = None
    folder: str | None = None
    music: bool | None = None


@dataclass(frozen=True)
class LibraryStatus:
    """Counts for ``sentio status`` and the GUI's status bar."""

    db_path: str
    tracks: int
    analysed: int
    stale: int
    pending: int
    failed: int
    missing: int
    unreadable: int
    playlists: int
    models: dict[str, int] = field(default_factory=dict)
    last_scan: datetime | None = None


@dataclass(frozen=True)
class MoodPoints:
    """Every analysed playable track as a point: ``ids[i]`` sits at ``va[i] = (valence, arousal)``."""

    ids: np.ndarray  # int64 [n]
    va: np.ndarray  # float64 [n, 2]

    @cached_property
    def tree(self) -> Any:
        """A scipy KD-tree over ``va`` (built on first use, kept with these points)."""
        from scipy.spatial import cKDTree

        # Sliding-midpoint build: half the build time of the balanced tree, queries just as exact.
        return cKDTree(self.va if len(self.va) else np.zeros((0, 2)), balanced_tree=False, compact_nodes=False)

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class Failure:
    """A file that could not be read or analysed, with the reason."""

    track_id: int
    path: str
    reason: str
    stage: str  # "scan" or "analysis"


class Library:
    """The library database. ``Library(":memory:")`` is not supported: use a temp file (WAL needs one)."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = Path(db_path).expanduser().resolve()
        try:
            self.engine = make_engine(self.db_path)
            migrations.upgrade(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise LibraryError(f"Cannot open the library database {self.db_path}: {os_error_reason(exc)}.") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._points_lock = threading.Lock()
        self._points_cache: tuple[Any, MoodPoints] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "Library":
        """The library the given ``Settings`` point at."""
        return cls(settings.database_path())

    def close(self) -> None:
        # No ANALYZE / PRAGMA optimize here: partial statistics made SQLite scan all tracks for a
        # region query; without statistics its plans use the partial indexes as intended.
        self.engine.dispose()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error; DB errors become LibraryError."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise LibraryError(f"The library database {self.db_path.name} failed: {os_error_reason(exc)}.") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # ----- queries ---------------------------------------------------------------------------------
    def _track_select(self):  # noqa: ANN202 - a SQLAlchemy Select
        current = and_(Analysis.track_id == Track.id, is_current())
        return select(
            Track.id, Track.path, Track.title, Track.artist, Track.album, Track.genre, Track.year,
            Track.duration, Track.format, Track.status, Track.problem,
            Analysis.valence, Analysis.arousal, Analysis.mood, Analysis.model_id, Analysis.stale,
            Analysis.created_at, Analysis.music,
        ).outerjoin(Analysis, current)

    @staticmethod
    def _apply_filter(stmt, flt: TrackFilter | None):  # noqa: ANN001, ANN205
        flt = flt or TrackFilter()
        if flt.statuses:
            stmt = stmt.where(Track.status.in_(flt.statuses))
        if flt.valence is not None:
            stmt = stmt.where(Analysis.valence.between(*flt.valence))
        if flt.arousal is not None:
            stmt = stmt.where(Analysis.arousal.between(*flt.arousal))
        if flt.mood:
            stmt = stmt.where(func.lower(Analysis.mood) == flt.mood.lower())
        if flt.text:
            pattern = f"%{flt.text.lower()}%"
            stmt = stmt.where(or_(*(func.lower(col).like(pattern) for col in
                                    (Track.title, Track.artist, Track.album, Track.genre, Track.path))))
        if flt.analysed is True:
            stmt = stmt.where(Analysis.id.is_not(None))
        elif flt.analysed is False:
            stmt = stmt.where(Analysis.id.is_(None))
        if flt.stale is not None:
            stmt = stmt.where(Analysis.stale.is_(flt.stale))
        if flt.music is False:  # the rule of sentio_ml.music_detector.is_music, in SQL (NULL = unknown = music)
            stmt = stmt.where(Analysis.music < NOT_MUSIC_BELOW)
        elif flt.music is True:
            stmt = stmt.where(or_(Analysis.music.is_(None), Analysis.music >= NOT_MUSIC_BELOW))
        if flt.folder:
            folder = absolute(flt.folder)
            stmt = stmt.where(or_(Track.path == folder,
                                  Track.path.startswith(folder.rstrip(os.sep) + os.sep, autoescape=True)))
        return stmt

    def tracks(self, flt: TrackFilter | None = None, *, order_by: str = "artist", descending: bool = False,
               limit: int | None = None, offset: int = 0) -> list[TrackView]:
        """Tracks matching ``flt``, sorted by one of ``SORT_KEYS`` (ties by path)."""
        if order_by not in SORT_KEYS:
            raise LibraryError(f"Cannot sort by {order_by!r}; choose one of {', '.join(SORT_KEYS)}.")
        column = {"valence": Analysis.valence, "arousal": Analysis.arousal, "mood": Analysis.mood,
                  "added": Track.added_at}.get(order_by) or getattr(Track, order_by)
        key = func.lower(column) if order_by in ("artist", "title", "album", "mood") else column
        stmt = self._apply_filter(self._track_select(), flt)
        stmt = stmt.order_by(key.desc() if descending else key, Track.path).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return self._views(stmt)

    #: The fields of each ``track_rows`` tuple, in order.
    TRACK_ROW_FIELDS = ("id", "path", "title", "artist", "album", "genre", "duration", "status", "problem",
                        "valence", "arousal", "mood", "stale", "music")

    def track_rows(self, flt: TrackFilter | None = None) -> list[tuple[Any, ...]]:
        """Every matching track as a plain tuple (``TRACK_ROW_FIELDS``), unsorted, in one query.

        The bulk load behind the GUI's table and map: no per-row objects, no date parsing, so a
        100,000-track library loads in about a second; callers sort and filter the columns themselves.
        """
        stmt = self._apply_filter(select(
            Track.id, Track.path, Track.title, Track.artist, Track.album, Track.genre, Track.duration,
            Track.status, Track.problem, Analysis.valence, Analysis.arousal, Analysis.mood, Analysis.stale,
            Analysis.music,
        ).outerjoin(Analysis, and_(Analysis.track_id == Track.id, is_current())), flt)
        try:
            with self.engine.connect() as conn:  # Core, not the ORM: no per-row ORM bookkeeping
                return [tuple(row) for row in conn.execute(stmt)]
        except SQLAlchemyError as exc:
            raise LibraryError(f"The library database {self.db_path.name} failed: {os_error_reason(exc)}.") from exc

    def count(self, flt: TrackFilter | None = None) -> int:
        stmt = self._apply_filter(
            select(func.count(Track.id)).select_from(Track).outerjoin(
                Analysis, and_(Analysis.track_id == Track.id, is_current())), flt)
        with self.session() as session:
            return int(session.execute(stmt).scalar_one())

    def tracks_by_ids(self, ids: Sequence[int]) -> list[TrackView]:
        """Tracks in the order of ``ids`` (unknown ids are left out)."""
        if not ids:
            return []
        by_id: dict[int, TrackView] = {}
        id_list = [int(i) for i in ids]
        for start in range(0, len(id_list), 500):  # SQLite limits bound parameters
            chunk = id_list[start:start + 500]
            by_id.update((view.id, view) for view in self._views(self._track_select().where(Track.id.in_(chunk))))
        return [by_id[i] for i in id_list if i in by_id]

    def track(self, track_id: int) -> TrackView:
        found = self.tracks_by_ids([track_id])
        if not found:
            raise TrackNotFoundError(f"There is no track with id {track_id} in the library.")
        return found[0]

    def find_track(self, ref: str | int) -> TrackView:
        """One track by id, by path, or by a text that matches exactly one title/artist/path.

        Raises TrackNotFoundError when nothing or more than one track matches (naming a few).
        """
        text = str(ref).strip()
        if text.isdigit():
            return self.track(int(text))
        found = self._views(self._track_select().where(Track.path.in_({absolute(text), str(Path(text).resolve())})))
        if found:
            return found[0]
        matches = self.tracks(TrackFilter(text=text, statuses=(TRACK_OK,)), limit=6)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise TrackNotFoundError(f"No track in the library matches {text!r}.")
        names = "; ".join(f"{m.id}: {m.display_title}" for m in matches[:5])
        raise TrackNotFoundError(f"{text!r} matches several tracks ({names}); give a track id or a path.")

    def copies_of(self, track_id: int) -> set[int]:
        """The track and its byte-identical copies in the library (same content fingerprint)."""
        with self.session() as session:
            print_ = session.scalar(select(Track.fingerprint).where(Track.id == track_id))
            if print_ is None:
                return {track_id}
            return {track_id, *session.scalars(select(Track.id).where(Track.fingerprint == print_))}

    def timeline(self, track_id: int) -> list[dict[str, Any]]:
        """The current analysis' per-excerpt timeline ({start, end, valence, arousal} dicts)."""
        with self.session() as session:
            value = session.execute(select(Analysis.timeline).where(
                Analysis.track_id == track_id, is_current())).scalar_one_or_none()
        return list(value or [])

    def mood_points(self) -> MoodPoints:
        """All analysed playable tracks as arrays, cached until the library changes.

        The cache lives in memory and next to the database (``<db>.points.npz``, NumPy without
        pickles), so a one-shot ``sentio playlist`` on a large library skips the full table read.
        """
        with self.session() as session:
            cached = self._valid_points(session)
            if cached is not None:
                return cached
            stamp = self._points_stamp(session)
            points = self._fetch_points(session, "", ())
        with self._points_lock:
            self._points_cache = (stamp, points)
        self._save_points(stamp, points)
        return points

    @property
    def points_cache_path(self) -> Path:
        return self.db_path.with_name(self.db_path.name + ".points.npz")

    def _save_points(self, stamp: tuple[Any, ...], points: MoodPoints) -> None:
        try:
            # A private temp file per writer, then an atomic rename: two processes never mix bytes.
            fd, tmp = tempfile.mkstemp(prefix=self.points_cache_path.name + ".", suffix=".tmp",
                                       dir=self.points_cache_path.parent)
        except OSError:
            return  # only a cache: a read-only folder just means the next process reads the table again
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, ids=points.ids, va=points.va, stamp=np.array(_stamp_text(stamp)))
            os.replace(tmp, self.points_cache_path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)

    def _load_points(self, stamp: tuple[Any, ...]) -> MoodPoints | None:
        try:
            with np.load(self.points_cache_path, allow_pickle=False) as data:
                if str(data["stamp"]) != _stamp_text(stamp):
                    return None
                return MoodPoints(ids=data["ids"].astype(np.int64), va=data["va"].astype(np.float64))
        except (OSError, ValueError, KeyError):
            return None

    def mood_points_in(self, valence: tuple[float, float], arousal: tuple[float, float]) -> MoodPoints:
        """Analysed playable tracks inside a valence/arousal box: from the cached points when they are
        loaded and current, else straight from the covering index (fast on a first, one-shot query)."""
        (v0, v1), (a0, a1) = sorted(valence), sorted(arousal)
        with self.session() as session:
            cached = self._valid_points(session)
            if cached is None:
                return self._fetch_points(
                    session, " AND valence BETWEEN ? AND ? AND arousal BETWEEN ? AND ?", (v0, v1, a0, a1))
        va = cached.va
        inside = (va[:, 0] >= v0) & (va[:, 0] <= v1) & (va[:, 1] >= a0) & (va[:, 1] <= a1)
        return MoodPoints(ids=cached.ids[inside], va=va[inside])

    @staticmethod
    def _points_stamp(session: Session) -> tuple[Any, ...]:
        # Cheap change detector (all index lookups): a new current analysis, a new track or any
        # track update (status changes included) moves it. Sentio never deletes analyses alone.
        return tuple(session.execute(select(
            select(func.max(Analysis.id)).where(is_current()).scalar_subquery(),
            select(func.max(Track.updated_at)).scalar_subquery(),
            select(func.max(Track.id)).scalar_subquery())).one())

    def _valid_points(self, session: Session) -> MoodPoints | None:
        """The cached points if the library has not changed since (memory first, then disk)."""
        stamp = self._points_stamp(session)
        with self._points_lock:
            cache = self._points_cache
        if cache is not None and cache[0] == stamp:
            return cache[1]
        points = self._load_points(stamp)
        if points is not None:
            with self._points_lock:
                self._points_cache = (stamp, points)
        return points

    @staticmethod
    def _fetch_points(session: Session, where: str, params: tuple[Any, ...]) -> MoodPoints:
        """Current analyses (optionally in a box) of playable tracks, straight from the covering
        partial index into NumPy; the few unplayable tracks are masked out afterwards. (Joining
        tracks row by row in valence order costs random lookups: 5x slower on 100k tracks.)

        Byte-identical copies (same content fingerprint) count once, so a duplicate file never appears
        twice in a playlist: of each group the lowest track id among the fetched points stands for all."""
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            rows = cursor.execute(
                "SELECT track_id, valence, arousal FROM analyses INDEXED BY ix_analyses_current_va "
                f"WHERE current = 1{where}", params)
            # Flattened straight into one array: no list of row tuples in between (2x faster).
            table = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64).reshape(-1, 3)
            unplayable = [row[0] for row in cursor.execute(
                "SELECT id FROM tracks WHERE status IN (?, ?)", (TRACK_MISSING, TRACK_UNREADABLE))]
            ids = table[:, 0].astype(np.int64)
            keep = ~np.isin(ids, np.asarray(unplayable, dtype=np.int64)) if unplayable else np.ones(len(ids), bool)
            keep &= ~np.isin(ids, _later_copies(cursor, ids[keep], table[keep, 1:]))
        finally:
            cursor.close()
        return MoodPoints(ids=ids[keep], va=np.ascontiguousarray(table[keep, 1:]))

    def non_music_ids(self) -> np.ndarray:
        """Ids of the tracks whose current analysis says "not music" (P(Music) < NOT_MUSIC_BELOW; unknown
        counts as music), from the partial index of revision 0004 alone."""
        with self.session() as session:
            cursor = session.connection().connection.dbapi_connection.cursor()
            try:
                rows = cursor.execute("SELECT track_id FROM analyses INDEXED BY ix_analyses_current_music "
                                      "WHERE current = 1 AND music < ?", (NOT_MUSIC_BELOW,))
                return np.fromiter((row[0] for row in rows), dtype=np.int64)
            finally:
                cursor.close()

    def failures(self) -> list[Failure]:
        """Unreadable files and playable tracks whose latest non-stale analysis failed."""
        out: list[Failure] = []
        with self.session() as session:
            for tid, path, problem in session.execute(
                    select(Track.id, Track.path, Track.problem).where(Track.status == TRACK_UNREADABLE)
                    .order_by(Track.path)):
                out.append(Failure(tid, path, problem or "unreadable", "scan"))
            good = aliased(Analysis)
            has_current = select(good.id).where(good.track_id == Track.id, is_current(good),
                                                good.stale.is_(False)).exists()
            stmt = (select(Track.id, Track.path, Analysis.error, func.max(Analysis.id))
                    .join(Analysis, Analysis.track_id == Track.id)
                    .where(Track.status == TRACK_OK, Analysis.error.is_not(None), Analysis.stale.is_(False),
                           ~has_current)
                    .group_by(Track.id).order_by(Track.path))
            for tid, path, error, _ in session.execute(stmt):
                out.append(Failure(tid, path, error, "analysis"))
        return out

    def status(self) -> LibraryStatus:
        """Counts of tracks by state, analyses by model and the last scan time."""
        with self.session() as session:
            by_status = dict(session.execute(select(Track.status, func.count()).group_by(Track.status)).all())
            current = and_(Analysis.track_id == Track.id, is_current())
            analysed = session.execute(select(func.count()).select_from(Track).join(Analysis, current).where(
                Track.status == TRACK_OK, Analysis.stale.is_(False))).scalar_one()
            stale = session.execute(select(func.count()).select_from(Track).join(Analysis, current).where(
                Track.status == TRACK_OK, Analysis.stale.is_(True))).scalar_one()
            models = dict(session.execute(
                select(Analysis.model_id, func.count()).where(is_current())
                .group_by(Analysis.model_id)).all())
            playlists = session.execute(select(func.count(Playlist.id))).scalar_one()
            last_scan = session.execute(select(func.max(ScanRun.finished_at))).scalar_one()
        failed = sum(1 for f in self.failures() if f.stage == "analysis")
        ok = int(by_status.get(TRACK_OK, 0))
        return LibraryStatus(
            db_path=str(self.db_path), tracks=ok, analysed=int(analysed), stale=int(stale),
            pending=max(ok - int(analysed) - int(stale) - failed, 0), failed=failed,
            missing=int(by_status.get(TRACK_MISSING, 0)), unreadable=int(by_status.get(TRACK_UNREADABLE, 0)),
            playlists=int(playlists), models={str(k): int(v) for k, v in models.items()}, last_scan=last_scan)

    def rows(self, stmt: Any) -> list[Any]:
        """Run a read-only SQLAlchemy select in its own session and return all rows."""
        with self.session() as session:
            return list(session.execute(stmt).all())

    def integrity_check(self) -> str:
        """SQLite's integrity check ("ok" when the database file is sound)."""
        return integrity_check(self.engine)

    def mark_stale_except(self, model_id: str) -> int:
        """Mark analyses made by any other model stale (re-analysed on the next run); returns how many."""
        with self.session() as session:
            result = session.execute(update(Analysis).where(
                Analysis.model_id != model_id, Analysis.stale.is_(False)).values(stale=True))
            return int(result.rowcount or 0)

    def _views(self, stmt) -> list[TrackView]:  # noqa: ANN001
        with self.session() as session:
            return [TrackView(*row[:15], stale=bool(row[15]), analysed_at=row[16], music=row[17])
                    for row in session.execute(stmt)]


def _stamp_text(stamp: tuple[Any, ...]) -> str:
    return "|".join(str(part) for part in stamp)


def _has_close_neighbour(va: np.ndarray, distance: float) -> np.ndarray:
    """Mask of points with another point within `distance` in both valence and arousal: points sorted by
    valence are compared with the 1st, 2nd ... next one until none is that close in valence (~10 ms/100k)."""
    order = np.argsort(va[:, 0], kind="stable")
    valence, arousal = va[order, 0], va[order, 1]
    close = np.zeros(len(va), dtype=bool)
    for k in range(1, len(va)):
        within = valence[k:] - valence[:-k] <= distance
        if not within.any():
            break
        pair = within & (np.abs(arousal[k:] - arousal[:-k]) <= distance)
        close[k:] |= pair
        close[:-k] |= pair
    mask = np.zeros(len(va), dtype=bool)
    mask[order] = close
    return mask


#: How close two points must be on the map to be checked for being copies of one file (see _later_copies).
COPY_DISTANCE = 1e-4


def _later_copies(cursor: Any, ids: np.ndarray, va: np.ndarray) -> np.ndarray:
    """Ids of byte-identical copies (same fingerprint) among the points, all but the lowest id of each file.

    Copies of one file get the same prediction up to float noise (~1e-5, batching), so only points with
    another point within COPY_DISTANCE on the map are looked up by fingerprint: a few rows, not the library."""
    shared = ids[_has_close_neighbour(va, COPY_DISTANCE)]
    if not len(shared):
        return np.empty(0, dtype=np.int64)
    rows = cursor.execute("SELECT t.id, t.fingerprint FROM json_each(?) AS j JOIN tracks AS t ON t.id = j.value "
                          "WHERE t.fingerprint IS NOT NULL ORDER BY t.id", (json.dumps(shared.tolist()),))
    seen: set[str] = set()
    later: list[int] = []
    for track_id, print_ in rows:
        if print_ in seen:
            later.append(track_id)
        seen.add(print_)
    return np.asarray(later, dtype=np.int64)
