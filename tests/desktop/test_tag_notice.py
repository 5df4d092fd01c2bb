"""Tags are never written into files without saying so first: the CLI's one-time notice."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sentio_desktop.cli import main
from sentio_desktop.settings import Settings, first_run_tag_notice, load_settings, save_settings

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data"


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SENTIO_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("SENTIO_DB", str(tmp_path / "lib.db"))
    (tmp_path / "music").mkdir()
    shutil.copy(FIXTURES / "vibe_ace.flac", tmp_path / "music" / "vibe_ace.flac")
    return tmp_path


def test_the_first_analysis_that_writes_tags_says_what_and_how_to_undo_once(env: Path, tiny_bundle: Path,
                                                                             capsys) -> None:
    args = ["analyze", str(env / "music"), "--model", str(tiny_bundle), "--device", "cpu"]
    assert main(args + ["--no-tags"]) == 0  # writes nothing, so says nothing and is not counted as told
    assert "sentio tags remove" not in capsys.readouterr().err
    assert not load_settings(env / "settings.json").tags_asked
    assert main(args + ["--force"]) == 0
    err = capsys.readouterr().err
    assert "VALENCE, AROUSAL, MOOD" in err and "sentio tags remove" in err and "write_tags false" in err
    assert load_settings(env / "settings.json").tags_asked
    assert main(args + ["--force"]) == 0
    assert "sentio tags remove" not in capsys.readouterr().err


def test_notice_keeps_other_stored_settings_and_survives_an_unwritable_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(music_folders=["/music"], batch_size=3), path)
    shown = Settings(music_folders=["/music"], batch_size=16)  # e.g. changed by command-line options
    assert "sentio tags remove" in first_run_tag_notice(shown, path)
    stored = load_settings(path)
    assert stored.tags_asked and stored.batch_size == 3 and shown.tags_asked
    assert first_run_tag_notice(shown, path) is None
    assert first_run_tag_notice(Settings(write_tags=False), path) is None
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert first_run_tag_notice(Settings(), blocked / "settings.json") is not None  # told; the run goes on
