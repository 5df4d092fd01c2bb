"""The `sentio` command line: every command, exit codes, one-sentence errors, kill-and-resume."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentio_desktop.cli import main
from sentio_desktop.library import Library
from sentio_desktop.tags import read_mood_tags

REPO = Path(__file__).resolve().parents[2]
TRACKS = 100
FIXTURES = REPO / "tests" / "data"


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SENTIO_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("SENTIO_DB", str(tmp_path / "lib.db"))
    return tmp_path


@pytest.fixture
def music(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for name in ("vibe_ace.mp3", "vibe_ace.flac", "vibe_ace.ogg", "vibe_ace_aac.m4a"):
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_list_playlists_export_tags(env: Path, music: Path, tiny_bundle: Path, capsys) -> None:
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "--device", "cpu")
    assert code == 0, err
    assert "4 analysed, 0 already done, 0 failed, 4 files tagged" in out
    code, out, _ = run(capsys, "list", "--format", "json")
    tracks = json.loads(out)
    assert len(tracks) == 4 and all(0 <= t["valence"] <= 1 and t["mood"] for t in tracks)
    lo = min(t["valence"] for t in tracks)
    code, out, _ = run(capsys, "list", "--format", "tsv", "--valence", f"{lo:.4f}:1", "--search", "vibe")
    assert code == 0 and len(out.strip().splitlines()) >= 2
    code, out, _ = run(capsys, "list", "--mood", "no-such-mood")
    assert code == 0 and out.strip().splitlines()[1:] == []

    playlist = env / "near.m3u8"
    code, out, _ = run(capsys, "playlist", "near", str(music / "vibe_ace.flac"), "-n", "2", "-o", str(playlist),
                       "--save", "Near flac", "--relative")
    assert code == 0 and playlist.read_text().startswith("#EXTM3U") and "music/vibe_ace.flac" in playlist.read_text()
    assert "Wrote 2 songs" in out and playlist.read_text().count("#EXTINF") == 2  # -n counts the seed
    (env / "lists").mkdir()
    code, out, _ = run(capsys, "playlist", "near", "vibe_ace.flac", "-n", "3", "-o", str(env / "lists"))
    written = [p.name for p in (env / "lists").iterdir()]  # -o FOLDER: a file named after the playlist
    assert code == 0 and len(written) == 1 and re.fullmatch(r"near-\d+-3\.m3u8", written[0]), written
    code, out, _ = run(capsys, "playlist", "region", "--rect", "0:1", "0:1", "-o", str(env / "all.xspf"))
    assert code == 0 and (env / "all.xspf").read_text().count("<track>") == 4
    ids = [str(t["id"]) for t in tracks]
    code, out, _ = run(capsys, "playlist", "path", ids[0], ids[1], "--steps", "3")
    assert code == 0 and len(out.strip().splitlines()) == 4  # header + 3 songs
    code, out, _ = run(capsys, "playlist", "saved")
    assert "Near flac" in out
    code, out, _ = run(capsys, "playlist", "saved", "Near flac", "-o", str(env / "again.m3u8"), "--relative")
    assert code == 0 and (env / "again.m3u8").read_text() == playlist.read_text()  # same songs, same order

    code, out, _ = run(capsys, "export", "csv", "-o", str(env / "lib.csv"))
    rows = list(csv.DictReader((env / "lib.csv").open(encoding="utf-8")))
    assert code == 0 and len(rows) == 4 and all(r["mood"] for r in rows)
    code, out, _ = run(capsys, "export", "json")
    assert len(json.loads(out)) == 4
    code, out, _ = run(capsys, "status")
    assert "4 playable" in out and "Analysed:   4" in out

    code, out, _ = run(capsys, "tags", "remove")
    assert code == 0 and "removed from 4 files" in out
    assert all(read_mood_tags(p).empty for p in music.iterdir())
    code, out, _ = run(capsys, "tags", "write", str(music))
    assert code == 0 and "written to 4 files" in out
    assert all(read_mood_tags(p).mood for p in music.iterdir())
    code, out, _ = run(capsys, "analyze", "--model", str(tiny_bundle), "--device", "cpu")
    assert code == 0 and "Nothing to analyse: all 4 tracks in the library are already analysed by sentio-tiny" in out


def test_errors_are_one_sentence_with_reliable_exit_codes(env: Path, music: Path, tiny_bundle: Path, capsys) -> None:
    code, _, err = run(capsys, "scan", str(env / "nowhere"))
    assert code == 3 and err.strip() == f"sentio: The folder {env / 'nowhere'} does not exist."
    code, _, err = run(capsys, "analyze", str(music), "--model", str(env / "missing-bundle"))
    assert code == 3 and err.strip().count("\n") == 0 and "no model bundle folder" in err
    code, _, err = run(capsys, "list", "--valence", "high")
    assert code == 2 and "not a range" in err
    code, _, err = run(capsys, "playlist", "near", "nothing matches this")
    assert code == 3 and "No track in the library matches" in err
    code, _, err = run(capsys, "config", "batch_size", "zero")
    assert code == 2 and "whole number" in err
    code, out, _ = run(capsys, "config", "write_tags", "false")
    assert code == 0 and json.loads((env / "settings.json").read_text())["write_tags"] is False
    (music / "broken.mp3").write_text("not audio")
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "--device", "cpu")
    assert code == 1 and "broken.mp3" in err and "4 analysed" in out
    assert not any(read_mood_tags(p).mood for p in music.glob("vibe*"))  # write_tags=false was respected
    locked = music / "vibe_ace.ogg"
    locked.chmod(0o444)  # refused by mode bits, so this holds when tests run as root too
    try:
        code, out, err = run(capsys, "tags", "write")
    finally:
        locked.chmod(0o644)
    assert code == 1 and "written to 3 files, 1 failed" in out and "read-only" in err
    assert read_mood_tags(music / "vibe_ace.flac").mood and not read_mood_tags(locked).mood
    code, out, _ = run(capsys, "tags", "write", "--only-missing", str(music))  # an option before the folder
    assert code == 0 and "written to 1 file, 0 failed" in out  # just the one that failed before


def test_analyze_without_folder_scans_the_remembered_music_folders(env: Path, music: Path, tiny_bundle: Path,
                                                                   capsys) -> None:
    code, out, _ = run(capsys, "config", "music_folders", str(music))
    assert code == 0 and str(music) in out
    code, out, err = run(capsys, "analyze", "--model", str(tiny_bundle), "--device", "cpu", "--no-tags")
    assert code == 0, err
    assert "Scanned: 4 audio files, 4 new" in out and "4 analysed" in out
    shutil.copy(FIXTURES / "vibe_ace.opus", music / "new.opus")  # a new file appears
    code, out, err = run(capsys, "analyze", "--model", str(tiny_bundle), "--device", "cpu", "--no-tags")
    assert code == 0 and "1 new" in out and "1 analysed, 4 already done" in out


def test_analyze_a_single_file(env: Path, music: Path, tiny_bundle: Path, capsys) -> None:
    song = music / "vibe_ace.ogg"
    code, out, err = run(capsys, "analyze", str(song), "--model", str(tiny_bundle), "--device", "cpu")
    assert code == 0, err
    assert "1 analysed" in out and read_mood_tags(song).mood
    assert not read_mood_tags(music / "vibe_ace.flac").mood  # nothing else touched
    code, _, err = run(capsys, "analyze", str(music / "cover.txt"))
    assert code == 3 and "does not exist" in err
    (music / "notes.txt").write_text("x")
    code, _, err = run(capsys, "scan", str(music / "notes.txt"))
    assert code == 3 and "not an audio file Sentio reads" in err


def test_nothing_to_analyse_does_not_load_the_model(env: Path, music: Path, tiny_bundle: Path, capsys,
                                                     monkeypatch) -> None:
    from sentio_desktop import analysis

    loads: list[str] = []
    real_factory = analysis.default_predictor_factory
    monkeypatch.setattr(analysis, "default_predictor_factory", lambda s: loads.append(s.model) or real_factory(s))
    (env / "empty").mkdir()
    code, out, err = run(capsys, "analyze", str(env / "empty"), "--model", str(tiny_bundle), "--device", "cpu")
    assert code == 0 and f"Nothing to analyse: no playable audio files under {env / 'empty'}." in out, err
    assert loads == []
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "-q", "--no-tags")
    assert code == 0 and "4 analysed" in out and loads == [str(tiny_bundle)]
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "-q", "--no-tags")
    assert code == 0 and "Nothing to analyse: all 4 tracks under" in out and len(loads) == 1  # id from the cache
    (tiny_bundle / "config.json").touch()  # a changed bundle misses the cache: it is loaded to learn its id
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "-q", "--no-tags")
    assert code == 0 and "Nothing to analyse" in out and len(loads) == 2
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "-q", "--force", "--no-tags")
    assert code == 0 and "4 analysed" in out


def test_global_options_after_the_command(env: Path, music: Path, capsys) -> None:
    other_db, other_config = env / "other.db", env / "other.json"
    code, out, err = run(capsys, "scan", str(music), "-q", "--db", str(other_db), "--config", str(other_config))
    assert code == 0 and "4 new" in out and err == ""  # -q: no progress bar
    assert other_db.exists() and not (env / "lib.db").exists()
    code, out, _ = run(capsys, "--db", str(other_db), "status")  # before the command still works
    assert "4 playable" in out
    code, out, _ = run(capsys, "--db", str(other_db), "playlist", "saved", "-q")  # given before, not reset after
    assert code == 0
    code, out, _ = run(capsys, "config", "device", "GPU", "--config", str(other_config))
    assert code == 0 and json.loads(other_config.read_text())["device"] == "cuda"


def test_device_vocabulary_and_exit_code(env: Path, music: Path, tiny_bundle: Path, capsys) -> None:
    for word, stored in (("gpu", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps"), ("auto", "auto")):
        code, out, err = run(capsys, "config", "device", word)
        assert code == 0 and json.loads((env / "settings.json").read_text())["device"] == stored, err
    code, _, err = run(capsys, "config", "device", "tpu")
    assert code == 2 and "auto" in err and "cuda:N" in err
    code, _, err = run(capsys, "analyze", str(music), "--device", "tpu")
    assert code == 2 and "Unknown device 'tpu'" in err
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, out, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "--device", "cuda")
    assert code == 3 and err.strip().count("\n") == 0 and "Device 'cuda' was requested" in err
    from sentio_ml.cli import main as ml_main

    assert ml_main(["predict", str(music / "vibe_ace.ogg"), "--model", str(tiny_bundle), "--device", "cuda"]) == 3
    assert "Device 'cuda' was requested" in capsys.readouterr().err


def test_help_everywhere_and_gui_fallback(capsys, monkeypatch) -> None:
    for args in ([], ["scan"], ["analyze"], ["tags"], ["tags", "write"], ["tags", "remove"], ["list"], ["playlist"],
                 ["playlist", "region"], ["playlist", "path"], ["export"], ["status"], ["config"]):
        assert main([*args, "--help"]) == 0
        assert "usage: sentio" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "sentio_desktop.ui.app", None)  # as if the GUI cannot be imported
    code = main([])
    err = capsys.readouterr().err
    assert code == 3 and "the desktop app cannot start" in err and "usage: sentio" in err


@pytest.mark.slow  # a real `sentio analyze` process (torch import) is killed, then 100 tracks are analysed
def test_killed_analysis_resumes_without_redoing_work(tmp_path: Path, tiny_bundle: Path, monkeypatch,
                                                     capsys) -> None:
    """A real `sentio analyze` process is killed with SIGKILL mid-run; the next run finishes the rest."""
    music = tmp_path / "music"
    for i in range(TRACKS):
        folder = music / f"album{i // 20}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "vibe_ace.wav", folder / f"{i:03d}.wav")
    db = tmp_path / "lib.db"
    env = dict(os.environ, SENTIO_DB=str(db), SENTIO_CONFIG=str(tmp_path / "settings.json"))
    command = [sys.executable, "-m", "sentio_desktop.cli", "-q", "analyze", str(music), "--model", str(tiny_bundle),
               "--device", "cpu"]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    committed = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                        committed = conn.execute("SELECT count(*) FROM analyses").fetchone()[0]
                except sqlite3.OperationalError:
                    committed = 0  # tables not created yet
                if committed:
                    break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    lib = Library(db)
    assert lib.integrity_check() == "ok"
    with sqlite3.connect(db) as conn:
        before = dict(conn.execute("SELECT track_id, id FROM analyses").fetchall())
    assert 0 < len(before) < TRACKS, "the run was not interrupted mid-way"
    lib.close()

    monkeypatch.setenv("SENTIO_DB", str(db))  # the second run in-process: same command, same library
    monkeypatch.setenv("SENTIO_CONFIG", str(tmp_path / "settings.json"))
    code, out, err = run(capsys, *command[4:])
    assert code == 0, err
    assert f"{TRACKS - len(before)} analysed, {len(before)} already done" in out
    with sqlite3.connect(db) as conn:
        after = dict(conn.execute("SELECT track_id, id FROM analyses").fetchall())
        assert conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == TRACKS  # nothing analysed twice
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert all(after[t] == i for t, i in before.items())  # committed work kept as it was
    assert all(read_mood_tags(p).mood for p in music.rglob("*.wav"))  # tags caught up too


def test_not_music_tracks_listed_as_such_and_kept_out_of_playlists(env: Path, music: Path, tiny_bundle: Path,
                                                                   capsys) -> None:
    code, _, err = run(capsys, "analyze", str(music), "--model", str(tiny_bundle), "--device", "cpu", "--no-tags")
    assert code == 0, err
    lib = Library(env / "lib.db")
    whale = lib.find_track(str(music / "vibe_ace.ogg"))
    with sqlite3.connect(env / "lib.db") as conn:  # as if the file were a whale recording
        conn.execute("UPDATE analyses SET music = 0.02 WHERE track_id = ? AND current = 1", (whale.id,))
    lib.close()
    code, out, _ = run(capsys, "list")
    rows = {line.split()[0]: line for line in out.strip().splitlines()[1:]}
    assert "not music" in rows[str(whale.id)] and sum("not music" in row for row in rows.values()) == 1
    code, out, _ = run(capsys, "list", "--not-music", "--format", "tsv")
    assert [line.split("\t")[0] for line in out.strip().splitlines()[1:]] == [str(whale.id)]
    assert out.splitlines()[1].split("\t")[3:5] == ["not music", "0.020"]
    code, out, _ = run(capsys, "playlist", "region", "--rect", "0:1", "0:1")
    listed = [line.split()[0] for line in out.strip().splitlines()[1:]]
    assert code == 0 and len(listed) == 3 and str(whale.id) not in listed
    code, out, _ = run(capsys, "playlist", "region", "--rect", "0:1", "0:1", "--include-non-music")
    assert str(whale.id) in [line.split()[0] for line in out.strip().splitlines()[1:]]
