"""The analysis service end to end with a tiny real model: scan → predict → store → tags."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from sentio_desktop import analysis
from sentio_desktop.analysis import STAGE_DONE, AnalysisService
from sentio_desktop.db import Analysis
from sentio_desktop.errors import AnalysisError
from sentio_desktop.library import Library, TrackFilter
from sentio_desktop.settings import Settings
from sentio_desktop.tags import read_mood_tags

FIXTURES = Path(__file__).resolve().parents[1] / "data"
ALL = ["vibe_ace.mp3", "vibe_ace_v23.mp3", "vibe_ace.flac", "vibe_ace.ogg", "vibe_ace.opus",
       "vibe_ace_aac.m4a", "vibe_ace_alac.m4a", "vibe_ace.wav", "vibe_ace.aiff"]


def copy_fixtures(folder: Path, names=ALL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def analyses(lib: Library) -> list[Analysis]:
    with lib.session() as session:
        return list(session.scalars(select(Analysis).order_by(Analysis.id)))


def test_every_container_analysed_stored_and_tagged(tmp_path: Path, library: Library, tiny_settings: Settings) -> None:
    music = copy_fixtures(tmp_path / "music")
    events = []
    summary = AnalysisService(library, tiny_settings).run([music], progress=events.append)
    assert (summary.analysed, summary.failed, summary.tag_failures) == (len(ALL), [], [])
    assert summary.tags_written == len(ALL) and summary.model_id.startswith("sentio-tiny-test@1.0.0+")
    assert events[-1].stage == STAGE_DONE and events[-1].done == events[-1].total == len(ALL)
    assert sum(len(e.recent) for e in events) == len(ALL)  # every result reached the GUI, in batches
    assert all(r.music is not None for e in events for r in e.recent)
    for track in library.tracks():
        assert 0.0 <= track.valence <= 1.0 and 0.0 <= track.arousal <= 1.0 and track.mood
        assert track.music > 0.5 and track.is_music  # the music check is stored (the fixtures are a song's cuts)
        assert read_mood_tags(track.path) == (
            read_mood_tags(track.path).__class__(round(track.valence, 3), round(track.arousal, 3), track.mood,
                                                 summary.model_id))
        assert len(library.timeline(track.id)) == 2  # two excerpts per track in the tiny bundle
    # Sentio's own tag writes do not look like changed files to the next scan ...
    again = AnalysisService(library, tiny_settings).run([music])
    assert again.scan.unchanged == len(ALL) and again.scan.updated == 0
    # ... and tracks already analysed by the same model are skipped.
    assert (again.analysed, again.skipped) == (0, len(ALL))
    forced = AnalysisService(library, tiny_settings).run([music], force=True)
    assert forced.analysed == len(ALL)
    with library.session() as session:
        assert session.query(Analysis).filter(Analysis.current.is_(True)).count() == len(ALL)


def test_new_model_version_marks_old_results_stale(tmp_path: Path, library: Library, tiny_settings: Settings) -> None:
    import torch

    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    music = copy_fixtures(tmp_path / "music", ALL[:2])
    AnalysisService(library, tiny_settings).run([music], write_tags=False)
    torch.manual_seed(1)
    newer = save_bundle(Bundle.from_model(build_model("tiny"), name="sentio-tiny-test", version="1.1.0",
                                          excerpts=1), tmp_path / "newer")
    settings = Settings(model=str(newer), device="cpu", write_tags=False)
    service = AnalysisService(library, settings)
    # Marking happens when the new model starts; cancel right away to see the intermediate state.
    cancel = threading.Event()
    cancel.set()
    summary = service.run(cancel=cancel)
    assert summary.marked_stale == 2 and summary.analysed == 0
    assert library.status().stale == 2 and all(t.stale for t in library.tracks())
    summary = service.run()
    assert summary.analysed == 2
    assert library.status().stale == 0 and {t.model_id for t in library.tracks()} == {summary.model_id}


def test_no_tags_option_and_catch_up(tmp_path: Path, library: Library, tiny_settings: Settings) -> None:
    music = copy_fixtures(tmp_path / "music", ["vibe_ace.flac", "vibe_ace.mp3"])
    before = {p: p.read_bytes() for p in music.iterdir()}
    summary = AnalysisService(library, tiny_settings).run([music], write_tags=False)
    assert summary.analysed == 2 and summary.tags_written == 0
    assert {p: p.read_bytes() for p in music.iterdir()} == before  # files untouched
    summary = AnalysisService(library, tiny_settings).run([music])  # tag writing back on
    assert summary.analysed == 0 and summary.tags_written == 2
    assert all(read_mood_tags(p).valence is not None for p in music.iterdir())


def test_read_only_file_keeps_its_analysis(tmp_path: Path, library: Library, tiny_settings: Settings) -> None:
    music = copy_fixtures(tmp_path / "music", ["vibe_ace.flac", "vibe_ace.ogg"])
    locked = music / "vibe_ace.ogg"
    locked.chmod(0o444)
    try:
        summary = AnalysisService(library, tiny_settings).run([music])
    finally:
        locked.chmod(0o644)
    assert summary.analysed == 2 and summary.tags_written == 1
    [(path, reason)] = summary.tag_failures
    assert path == str(locked) and "read-only" in reason
    track = library.find_track(str(locked))
    assert track.valence is not None  # the result stays in the library
    rows = {a.track_id: a for a in analyses(library)}
    assert rows[track.id].tags_written is False and "read-only" in rows[track.id].tag_error


def test_cancel_and_pause(tmp_path: Path, library: Library, tiny_settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(analysis, "PROGRESS_INTERVAL_S", 0.0)  # an event per result, so cancel lands mid-run
    music = tmp_path / "music"
    music.mkdir()
    for i in range(12):
        shutil.copy(FIXTURES / "vibe_ace.wav", music / f"song{i:02d}.wav")
    cancel, pause = threading.Event(), threading.Event()
    seen = []

    def progress(event) -> None:
        seen.append(event)
        if event.done >= 1:
            cancel.set()

    summary = AnalysisService(library, tiny_settings).run([music], progress=progress, cancel=cancel,
                                                          write_tags=False)
    assert summary.cancelled and 1 <= summary.analysed < 12
    assert len(analyses(library)) == summary.analysed  # everything reported was committed
    pause.set()
    threading.Timer(0.5, pause.clear).start()
    rest = AnalysisService(library, tiny_settings).run(pause=pause, write_tags=False)
    assert rest.analysed == 12 - summary.analysed and not rest.cancelled


def test_missing_model_is_one_sentence(tmp_path: Path, library: Library) -> None:
    music = copy_fixtures(tmp_path / "music", ["vibe_ace.flac"])
    settings = Settings(model=str(tmp_path / "no-such-bundle"), device="cpu")
    with pytest.raises(AnalysisError, match="no model bundle folder"):
        AnalysisService(library, settings).run([music])
    assert library.count() == 1  # the scan that ran first is kept


def test_messy_library_every_bad_file_has_a_reason(tmp_path: Path, library: Library, tiny_settings: Settings) -> None:
    copy_fixtures(tmp_path / "music" / "nested" / "deeper", ["vibe_ace.mp3", "vibe_ace.opus"])
    music = tmp_path / "music"
    (music / "empty.mp3").touch()
    (music / "readme.mp3").write_text("not audio\n" * 20)
    (music / "corrupt.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(6000))
    # A truncated FLAC: its header reads, but there is no audio to decode.
    (music / "truncated.flac").write_bytes((FIXTURES / "vibe_ace.flac").read_bytes()[:9000])
    long_unicode = music / ("Ünïcødé – " + "n" * 150 + ".m4a")
    shutil.copy(FIXTURES / "vibe_ace_aac.m4a", long_unicode)
    read_only = music / "nested" / "read only.wav"
    shutil.copy(FIXTURES / "vibe_ace.wav", read_only)
    read_only.chmod(0o444)  # refused by mode bits, so this holds when tests run as root too
    (music / "nested" / "loop").symlink_to(music)
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    try:
        summary = AnalysisService(library, tiny_settings).run([music])
    finally:
        read_only.chmod(0o644)
    good = {Path(t.path).name for t in library.tracks(TrackFilter(analysed=True))}
    assert good == {"vibe_ace.mp3", "vibe_ace.opus", long_unicode.name, read_only.name}
    assert summary.tags_written == 3 and [Path(p).name for p, _ in summary.tag_failures] == [read_only.name]
    reasons = {Path(p).name: reason for p, reason in summary.failed}
    assert set(reasons) == {"empty.mp3", "readme.mp3", "corrupt.mp3", "truncated.flac"}
    assert all(reason.strip() and "\n" not in reason for reason in reasons.values())
    assert {Path(f.path).name for f in library.failures()} == set(reasons)  # recorded in the library
    assert any("symlink loop" in p.reason for p in summary.scan.problems)
    assert read_mood_tags(long_unicode).mood and library.integrity_check() == "ok"
