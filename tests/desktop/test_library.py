"""Library database: migrations match the models, pragmas, queries, settings round trip."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from sentio_desktop import migrations
from sentio_desktop.db import Analysis, Base, Track
from sentio_desktop.errors import LibraryError, SettingsError, TrackNotFoundError
from sentio_desktop.library import Library, TrackFilter
from sentio_desktop.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def add_track(lib: Library, path: str, valence: float | None = None, arousal: float | None = None,
              mood: str | None = None, **fields) -> int:
    with lib.session() as session:
        track = Track(path=path, size=10, mtime=1.0, **fields)
        session.add(track)
        session.flush()
        if valence is not None:
            session.add(Analysis(track_id=track.id, model_id="m@1", valence=valence, arousal=arousal,
                                 mood=mood, current=True))
        return track.id


def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib.db")
    assert migrations.current_revision(lib.engine) == migrations.head_revision()
    with lib.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    # Reopening an up-to-date database is a no-op, not an error.
    Library(tmp_path / "lib.db").close()


def test_wal_and_foreign_keys_are_on(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib.db")
    with lib.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    track_id = add_track(lib, "/music/a.mp3", 0.2, 0.3, "sad")
    with lib.session() as session:
        session.delete(session.get(Track, track_id))
    with lib.session() as session:
        assert session.query(Analysis).count() == 0  # cascaded by the database


def test_unopenable_database_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "not_a_db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="Cannot open the library database"):
        Library(bad)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(LibraryError, match="Cannot open the library database") as info:
        Library(blocker / "lib.db")  # its folder cannot be created
    assert "\n" not in str(info.value)


def test_filters_sorting_and_lookup(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib.db")
    a = add_track(lib, "/music/a.mp3", 0.1, 0.9, "angry", title="Storm", artist="Zed")
    b = add_track(lib, "/music/b.flac", 0.8, 0.8, "happy", title="Sun", artist="Amy")
    add_track(lib, "/music/c.ogg", title="Pending", artist="Bob")
    assert [t.id for t in lib.tracks(order_by="artist")][0] == b
    assert [t.id for t in lib.tracks(TrackFilter(valence=(0.0, 0.5)))] == [a]
    assert [t.id for t in lib.tracks(TrackFilter(mood="HAPPY"))] == [b]
    assert [t.display_title for t in lib.tracks(TrackFilter(analysed=False))] == ["Pending"]
    assert lib.count(TrackFilter(text="sun")) == 1
    assert lib.find_track("Storm").id == a
    assert lib.find_track(str(b)).id == b
    with pytest.raises(TrackNotFoundError, match="several tracks"):
        lib.find_track("music")
    with pytest.raises(TrackNotFoundError):
        lib.find_track("nothing like this")
    with pytest.raises(LibraryError, match="Cannot sort"):
        lib.tracks(order_by="colour")
    points = lib.mood_points()
    assert sorted(points.ids.tolist()) == sorted([a, b])
    add_track(lib, "/music/d.mp3", 0.5, 0.5, "neutral")
    assert len(lib.mood_points()) == 3  # the cache notices the change
    status = lib.status()
    assert (status.tracks, status.analysed, status.pending) == (4, 3, 1)
    with lib.session() as session:
        session.get(Track, a).status = "missing"  # gone from disk: off the map, out of playlists
    assert a not in lib.mood_points().ids.tolist()
    assert a not in lib.mood_points_in((0.0, 0.2), (0.8, 1.0)).ids.tolist()
    assert b in lib.mood_points_in((0.7, 0.9), (0.7, 0.9)).ids.tolist()


def test_settings_round_trip_defaults_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    assert load_settings(path) == Settings()
    settings = Settings(music_folders=[str(tmp_path)], device="cpu", write_tags=False, batch_size=4)
    save_settings(settings, path)
    assert load_settings(path) == settings
    data = json.loads(path.read_text())
    data["unknown_key"] = 1
    path.write_text(json.dumps(data))
    assert load_settings(path) == settings  # unknown keys are ignored
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(SettingsError, match="newer Sentio"):
        load_settings(path)
    path.write_text("{ not json")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings(path)
    with pytest.raises(SettingsError, match="Device must be"):
        Settings(device="tpu")  # type: ignore[arg-type]
    assert Settings().batch_size == 0  # auto: the Predictor picks 32 on a GPU, 8 on the CPU
    with pytest.raises(SettingsError, match=r"0 \(auto\) or a whole number"):
        Settings(batch_size=-1)
    assert Settings(db_path=str(tmp_path / "x.db")).database_path() == tmp_path / "x.db"


def test_mood_points_cache_on_disk_follows_the_library(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib.db")
    a = add_track(lib, "/music/a.mp3", 0.1, 0.2, "sad")
    first = lib.mood_points()
    assert lib.points_cache_path.exists()
    other = Library(tmp_path / "lib.db")  # another process, say the CLI next to the GUI
    assert other.mood_points().ids.tolist() == first.ids.tolist() == [a]
    b = add_track(other, "/music/b.mp3", 0.8, 0.9, "happy")
    assert sorted(Library(tmp_path / "lib.db").mood_points().ids.tolist()) == [a, b]
    assert sorted(lib.mood_points().ids.tolist()) == [a, b]  # the first Library notices too
    lib.points_cache_path.write_bytes(b"garbage")
    assert sorted(Library(tmp_path / "lib.db").mood_points().ids.tolist()) == [a, b]  # a bad cache is ignored


def test_migration_0004_keeps_old_analyses_as_unknown_music(tmp_path: Path) -> None:
    from alembic import command

    from sentio_desktop.db import make_engine

    engine = make_engine(tmp_path / "old.db")
    migrations.upgrade(engine, "0003")  # a library from before the music check, with one analysed track
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tracks (path, size, mtime, status, added_at, updated_at) "
                          "VALUES ('/music/a.mp3', 1, 1.0, 'ok', '2026-01-01', '2026-01-01')"))
        conn.execute(text("INSERT INTO analyses (track_id, model_id, valence, arousal, mood, current, stale, created_at) "
                          "VALUES (1, 'm@1', 0.2, 0.3, 'sad', 1, 0, '2026-01-01')"))
    engine.dispose()
    lib = Library(tmp_path / "old.db")
    assert migrations.current_revision(lib.engine) == migrations.head_revision() == "0004"
    old = lib.track(1)
    assert old.music is None and old.is_music and old.shown_mood == "sad"  # unknown counts as music
    assert lib.non_music_ids().tolist() == [] and lib.count(TrackFilter(music=True)) == 1
    lib.close()
    command.downgrade(migrations.alembic_config(make_engine(tmp_path / "old.db")), "0003")
    raw = make_engine(tmp_path / "old.db")
    with raw.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(analyses)"))]
        indexes = {row[1]: row[4] for row in conn.execute(text("PRAGMA index_list(analyses)"))}  # name -> partial
    assert "music" not in columns and "ix_analyses_current_music" not in indexes
    assert indexes["ix_analyses_current_track"] == 1  # the other partial indexes survive the downgrade
    raw.dispose()


def test_not_music_filter_and_display(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib.db")
    song = add_track(lib, "/music/song.mp3", 0.7, 0.6, "happy", title="Song")
    whale = add_track(lib, "/music/whale.ogg", 0.3, 0.2, "sad", title="Whale")
    with lib.session() as session:
        session.query(Analysis).filter(Analysis.track_id == whale).update({"music": 0.02})
        session.query(Analysis).filter(Analysis.track_id == song).update({"music": 0.9})
    assert [t.id for t in lib.tracks(TrackFilter(music=False))] == [whale]
    assert [t.id for t in lib.tracks(TrackFilter(music=True))] == [song]
    assert lib.non_music_ids().tolist() == [whale]
    shown = {t.title: (t.shown_mood, t.mood) for t in lib.tracks()}
    assert shown == {"Song": ("happy", "happy"), "Whale": ("not music", "sad")}  # the stored mood is kept
    lib.close()
