"""Scanner: incremental rescans, moves, missing files, messy folders."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from sentio_desktop import scanner
from sentio_desktop.db import Analysis, ScanRun
from sentio_desktop.errors import ScanError
from sentio_desktop.library import Library, TrackFilter
from sentio_desktop.scanner import scan

FIXTURES = Path(__file__).resolve().parents[1] / "data"


def make_music(root: Path) -> Path:
    music = root / "music"
    (music / "a" / "b").mkdir(parents=True)
    shutil.copy(FIXTURES / "vibe_ace.mp3", music / "one.mp3")
    shutil.copy(FIXTURES / "vibe_ace.flac", music / "a" / "two.flac")
    shutil.copy(FIXTURES / "vibe_ace.opus", music / "a" / "b" / "three.opus")
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (music / "notes.txt").write_text("liner notes")
    return music


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "lib.db")
    yield lib
    lib.close()


def all_tracks(lib: Library):
    return {Path(t.path).name: t for t in lib.tracks(TrackFilter(statuses=()))}


def test_first_scan_reads_tags_and_ignores_non_audio(tmp_path: Path, library: Library) -> None:
    music = make_music(tmp_path)
    seen = []
    report = scan(library, [music], progress=seen.append)
    assert (report.added, report.unchanged, report.unreadable, report.problems) == (3, 0, [], [])
    tracks = all_tracks(library)
    assert set(tracks) == {"one.mp3", "two.flac", "three.opus"}
    flac = tracks["two.flac"]
    assert (flac.title, flac.artist, flac.album, flac.format) == ("Vibe Ace", "Kevin MacLeod", "Jazz Sampler", "flac")
    assert flac.duration == pytest.approx(4.0, abs=0.1)
    assert seen and seen[-1].current is None  # a final progress event
    with library.session() as session:
        run = session.get(ScanRun, report.run_id)
        assert run.finished_at is not None and run.added == 3


def test_rescan_is_incremental_and_sees_changes(tmp_path: Path, library: Library) -> None:
    music = make_music(tmp_path)
    scan(library, [music])
    calls = []
    original = scanner.read_track_info
    try:
        scanner.read_track_info = lambda p: calls.append(p) or original(p)
        report = scan(library, [music])
        assert (report.unchanged, report.added, calls) == (3, 0, [])  # nothing re-read
        track = all_tracks(library)["one.mp3"]
        with library.session() as session:
            session.add(Analysis(track_id=track.id, model_id="m", valence=0.5, arousal=0.5, current=True))
        os.utime(music / "one.mp3", (2_000_000_000, 2_000_000_000))
        report = scan(library, [music])
        assert (report.updated, report.unchanged, len(calls)) == (1, 2, 1)
    finally:
        scanner.read_track_info = original
    with library.session() as session:
        assert session.query(Analysis).one().stale is True  # changed content is analysed again


def test_moved_file_keeps_its_analysis_and_removed_file_is_marked_missing(tmp_path: Path, library: Library) -> None:
    music = make_music(tmp_path)
    scan(library, [music])
    tracks = all_tracks(library)
    with library.session() as session:
        session.add(Analysis(track_id=tracks["two.flac"].id, model_id="m", valence=0.9, arousal=0.1, current=True))
    (music / "renamed").mkdir()
    os.rename(music / "a" / "two.flac", music / "renamed" / "Two (remaster).flac")
    os.remove(music / "one.mp3")
    report = scan(library, [music])
    assert (report.moved, report.missing, report.added) == (1, 1, 0)
    after = all_tracks(library)
    moved = after["Two (remaster).flac"]
    assert moved.id == tracks["two.flac"].id and moved.valence == 0.9
    assert after["one.mp3"].status == "missing"
    assert library.count() == 2  # missing tracks are kept but not listed by default
    shutil.copy(FIXTURES / "vibe_ace.mp3", music / "one.mp3")
    report = scan(library, [music])
    assert all_tracks(library)["one.mp3"].status == "ok"


def test_messy_folder_nothing_crashes_every_bad_file_has_a_reason(tmp_path: Path, library: Library,
                                                                  monkeypatch) -> None:
    music = make_music(tmp_path)
    (music / "empty.mp3").touch()
    (music / "text.mp3").write_text("definitely not audio\n" * 50)
    (music / "corrupt.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(5000))
    long_name = "ü" * 60 + "—" * 40 + ".ogg"  # ~300 bytes of UTF-8, within NAME_MAX
    shutil.copy(FIXTURES / "vibe_ace.ogg", music / "a" / long_name)
    shutil.copy(FIXTURES / "vibe_ace.wav", music / "a" / "日本語の曲.wav")
    os.symlink(music, music / "a" / "b" / "loop")
    os.symlink(music / "nowhere.mp3", music / "dangling.mp3")
    locked = music / "locked"
    locked.mkdir()
    shutil.copy(FIXTURES / "vibe_ace.mp3", locked / "hidden.mp3")
    real_scandir = os.scandir

    def scandir(path):
        if str(path) == str(locked):  # simulated at the OS boundary: root ignores chmod 000
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scanner.os, "scandir", scandir)
    report = scan(library, [music])
    names = all_tracks(library)
    assert {n for n, t in names.items() if t.status == "ok"} == {
        "one.mp3", "two.flac", "three.opus", long_name, "日本語の曲.wav"}
    bad = {Path(p.path).name: p.reason for p in report.unreadable}
    assert set(bad) == {"empty.mp3", "text.mp3", "corrupt.mp3"}
    assert "empty" in bad["empty.mp3"] and "not an audio file" in bad["text.mp3"]
    problems = {Path(p.path).name: p.reason for p in report.problems}
    assert "symlink loop" in problems["loop"]
    assert "permission denied" in problems["locked"]
    assert "broken symbolic link" in problems["dangling.mp3"]
    failures = {Path(f.path).name for f in library.failures()}
    assert failures == {"empty.mp3", "text.mp3", "corrupt.mp3"}  # recorded in the library too


def test_bad_roots_and_cancel(tmp_path: Path, library: Library) -> None:
    with pytest.raises(ScanError, match="does not exist"):
        scan(library, [tmp_path / "nope"])
    with pytest.raises(ScanError, match="No music folder"):
        scan(library, [])
    music = make_music(tmp_path)
    cancel = threading.Event()
    cancel.set()
    report = scan(library, [music], cancel=cancel)
    assert report.cancelled and report.missing == 0


def test_own_tag_write_recorded_by_a_killed_run_is_not_a_change(tmp_path: Path, library: Library) -> None:
    from sentio_desktop.tags import MoodTags, write_mood_tags

    music = make_music(tmp_path)
    scan(library, [music])
    track = all_tracks(library)["two.flac"]
    with library.session() as session:
        session.add(Analysis(track_id=track.id, model_id="m@1", valence=0.25, arousal=0.75, current=True))
    # The tag writer finished but the process died before recording it (tags_written is still NULL).
    write_mood_tags(track.path, MoodTags(0.25, 0.75, "tense", "m@1"))
    os.utime(track.path, (2_000_000_000, 2_000_000_000))
    report = scan(library, [music])
    assert (report.updated, report.unchanged) == (0, 3)
    with library.session() as session:
        analysis = session.query(Analysis).one()
        assert analysis.stale is False and analysis.tags_written is True
    # A different value in the file is a real change.
    write_mood_tags(track.path, MoodTags(0.5, 0.5, "neutral", "other@2"))
    with library.session() as session:
        session.query(Analysis).one().tags_written = None
    assert scan(library, [music]).updated == 1


class CancelAfter:
    """A cancel token that trips after ``checks`` calls to ``is_set`` (any object with is_set() works)."""

    def __init__(self, checks: int) -> None:
        self.checks = checks

    def is_set(self) -> bool:
        self.checks -= 1
        return self.checks < 0


def test_interrupted_scan_keeps_its_batches_and_the_next_one_finishes(tmp_path: Path, library: Library,
                                                                       monkeypatch) -> None:
    monkeypatch.setattr(scanner, "COMMIT_EVERY", 3)
    music = tmp_path / "music"
    for i in range(12):
        (music / f"d{i // 4}").mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "vibe_ace.opus", music / f"d{i // 4}" / f"{i:02d}.opus")
    first = scan(library, [music], cancel=CancelAfter(14))
    assert first.cancelled and 0 < first.added < 12 and first.missing == 0
    assert library.count() == first.added  # everything it reported is committed
    second = scan(library, [music])
    assert (second.added, second.unchanged, second.cancelled) == (12 - first.added, first.added, False)
    assert library.count() == 12
