"""SQLAlchemy 2.0 models of the library and the SQLite engine (WAL, foreign keys, Alembic-migrated).

Schema (the Alembic revisions ``0001``-``0004`` create exactly this; a test compares them):

- ``tracks``: one row per audio file ever seen. ``status`` is ``ok``, ``missing`` (gone from disk,
  kept with its analyses so a returning or moved file is re-linked) or ``unreadable`` (``problem``
  says why). ``fingerprint`` recognises moved/renamed files.
- ``analyses``: every analysis attempt. ``current`` marks the one a track shows (latest success);
  ``stale`` marks results by another model version or of a file that changed since (re-analysed on
  the next run, still shown meanwhile); ``error`` holds the reason of a failed attempt; ``music`` is the
  probability that the track is music at all (revision 0004; NULL = unknown, counts as music).
- ``playlists`` / ``playlist_entries``: saved playlists, entries in ``position`` order.
- ``scan_runs``: one row per scan with its counts and the problems it met.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TRACK_OK = "ok"
TRACK_MISSING = "missing"
TRACK_UNREADABLE = "unreadable"
TRACK_STATUSES = (TRACK_OK, TRACK_MISSING, TRACK_UNREADABLE)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime: Mapped[float] = mapped_column(Float)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    duration: Mapped[float | None] = mapped_column(Float)
    format: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    artist: Mapped[str | None] = mapped_column(Text)
    album: Mapped[str | None] = mapped_column(Text)
    genre: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=TRACK_OK, index=True)
    problem: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)

    analyses: Mapped[list["Analysis"]] = relationship(
        back_populates="track", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:
        return f"Track(id={self.id}, path={self.path!r}, status={self.status!r})"


class Analysis(Base):
    __tablename__ = "analyses"
    __table_args__ = (
        Index("ix_analyses_track_model", "track_id", "model_id"),
        # Partial indexes (revisions 0002, 0003): at most one current analysis per track, the join
        # "track -> its current analysis" is a direct lookup, and region boxes are read from the
        # index alone. Queries must say `current = 1` (``is_current()``) for SQLite to use them.
        Index("ix_analyses_current_track", "track_id", unique=True, sqlite_where=text("current = 1")),
        Index("ix_analyses_current_va", "valence", "arousal", "track_id", sqlite_where=text("current = 1")),
        # Revision 0004: the non-music tracks (``music < NOT_MUSIC_BELOW``) straight from the index.
        Index("ix_analyses_current_music", "music", "track_id", sqlite_where=text("current = 1")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(64))
    valence: Mapped[float | None] = mapped_column(Float)
    arousal: Mapped[float | None] = mapped_column(Float)
    mood: Mapped[str | None] = mapped_column(String(64))
    quadrant: Mapped[int | None] = mapped_column(Integer)
    #: P(Music) of the middle excerpt (sentio_ml.music_detector); None: unknown, treated as music.
    music: Mapped[float | None] = mapped_column(Float)
    #: Per-excerpt timeline: a list of {"start", "end", "valence", "arousal"} dicts (seconds, unit scale).
    timeline: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    device: Mapped[str | None] = mapped_column(String(32))
    seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    #: None: not attempted (tag writing off); True: written; False: failed (see tag_error).
    tags_written: Mapped[bool | None] = mapped_column(Boolean)
    tag_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    track: Mapped[Track] = relationship(back_populates="analyses")


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    #: How it was built: "region", "near", "path" or "manual"; ``params`` holds the recipe.
    kind: Mapped[str] = mapped_column(String(16), default="manual")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entries: Mapped[list["PlaylistEntry"]] = relationship(
        back_populates="playlist", cascade="all, delete-orphan", passive_deletes=True,
        order_by="PlaylistEntry.position")


class PlaylistEntry(Base):
    __tablename__ = "playlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)

    playlist: Mapped[Playlist] = relationship(back_populates="entries")
    track: Mapped[Track] = relationship()


class ScanRun(Base):
    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roots: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    unreadable: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Folders and links that were skipped: a list of {"path", "reason"} dicts.
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


def is_current(analysis: type[Analysis] | Any = Analysis) -> Any:
    """SQL ``<analysis>.current = 1``: the form SQLite's partial indexes on current analyses match."""
    return analysis.current == True  # noqa: E712 - SQL expression, not a Python comparison


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + NORMAL: a killed process loses at most the transaction in flight; readers never block writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(db_path: str | os.PathLike[str]) -> Engine:
    """An engine on ``db_path`` (created with its folder if needed) with WAL and foreign keys on."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    return engine


def integrity_check(engine: Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` result ("ok" when the file is sound)."""
    with engine.connect() as conn:
        return str(conn.execute(text("PRAGMA integrity_check")).scalar())
