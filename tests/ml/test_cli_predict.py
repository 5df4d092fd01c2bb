from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from sentio_ml.cli import main
from tests.conftest import FIXTURES


@pytest.fixture
def library(tmp_path):
    """A folder with two tracks at the top, one in a sub-folder and a non-audio file."""
    root = tmp_path / "music"
    (root / "sub").mkdir(parents=True)
    shutil.copy2(FIXTURES / "vibe_ace.mp3", root / "a.mp3")
    shutil.copy2(FIXTURES / "vibe_ace.flac", root / "b.flac")
    shutil.copy2(FIXTURES / "vibe_ace.opus", root / "sub" / "c.opus")
    (root / "cover.txt").write_text("not audio")
    return root


def run_cli(capsys, *argv):
    code = main(["predict", *map(str, argv), "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_output_for_a_folder(capsys, library, tiny_bundle_dir):
    code, out, err = run_cli(capsys, library, "--model", tiny_bundle_dir, "--device", "cpu")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["file", "valence", "arousal", "mood", "quadrant", "music", "duration"]
    assert len(lines) == 3 and "a.mp3" in lines[1] and "b.flac" in lines[2]  # sub-folder not searched, and said so
    assert f"note: '{library}' has 1 sub-folder, not searched (add --recursive to include them)." in err


def test_json_recursive_with_timeline(capsys, library, tiny_bundle_dir):
    code, out, err = run_cli(capsys, library, "--recursive", "--json", "--model", tiny_bundle_dir, "--excerpts", "2")
    assert code == 0 and "note:" not in err, err
    data = json.loads(out)
    assert data["model_id"].startswith("sentio-tiny@0.0.1+") and data["device"]
    assert [t["path"].rsplit("/", 1)[1] for t in data["tracks"]] == ["a.mp3", "b.flac", "c.opus"]
    for track in data["tracks"]:
        assert track["error"] is None and 0 <= track["valence"] <= 1 and 0 <= track["arousal"] <= 1
        assert len(track["excerpts"]) == 2 and track["mood"] and track["quadrant"] in (1, 2, 3, 4)


def test_csv_to_file_with_failures_exit_1(capsys, library, tiny_bundle_dir, tmp_path):
    bad = library / "broken.mp3"
    bad.write_text("this is text, not an mp3")
    target = tmp_path / "out.csv"
    code, out, err = run_cli(capsys, library / "a.mp3", bad, tmp_path / "missing.ogg",
                             "--model", tiny_bundle_dir, "-o", target)
    assert code == 1
    assert out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["path"].rsplit("/", 1)[1] for r in rows] == ["a.mp3", "broken.mp3", "missing.ogg"]
    assert rows[0]["error"] == "" and float(rows[0]["valence"]) > 0
    assert "not a supported audio file" in rows[1]["error"] and "does not exist" in rows[2]["error"]
    # one clear line per failed file on stderr, and a summary
    assert f"error: Cannot read '{bad}'" in err and "2 of 3 files failed" in err


def test_missing_default_model_says_how_to_get_one(capsys, library, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIO_MODEL", str(tmp_path / "no-model"))
    code, out, err = run_cli(capsys, library / "a.mp3")
    assert code == 3 and out == ""  # 3 = could not run, as in `sentio`
    assert "sentio-ml train" in err and "--model" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys, library, tiny_bundle_dir, tmp_path):
    for argv in (["--batch-size", "0"], ["--device", "tpu"], ["--device", "cuda:x"], ["--json", "--csv"], ["--excerpts", "x"],
                 ["--precision", "int4"]):
        with pytest.raises(SystemExit) as info:
            main(["predict", str(library), "--model", str(tiny_bundle_dir), *argv])
        assert info.value.code == 2
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(capsys, tmp_path / "empty", "--model", tiny_bundle_dir)
    assert code == 2 and "No supported audio files" in err and "--recursive" in err


def test_cuda_without_cuda_is_one_sentence(capsys, library, tiny_bundle_dir):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--device", "cuda")
    assert code == 3 and err.count("\n") == 1 and "cuda" in err and "Traceback" not in err


def test_precision_choices_and_the_old_quantize_flag(capsys, library, tiny_bundle_dir):
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--device", "cpu", "--json")
    assert code == 0 and json.loads(out)["precision"] == "fp32", err  # auto: the tiny model stays fp32
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--precision", "bf16", "--json")
    assert code == 0 and json.loads(out)["precision"] == "bf16", err
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--quantize", "int8", "--json")
    assert code == 0 and json.loads(out)["precision"] == "int8", err
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--device", "cpu", "--precision", "fp16")
    assert code == 3 and err.count("\n") == 1 and "fp16 runs on GPUs only" in err and "Traceback" not in err


def test_unwritable_output_is_refused_before_predicting(capsys, library, tiny_bundle_dir, tmp_path):
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir,
                             "-o", tmp_path / "no-such-folder" / "out.csv")
    assert code == 2 and "Cannot write the results" in err and "no-such-folder" in err


def test_device_words_are_normalised(capsys, library, tiny_bundle_dir):
    code, out, err = run_cli(capsys, library / "a.mp3", "--model", tiny_bundle_dir, "--device", " CPU ")
    assert code == 0, err


@pytest.mark.shared
def test_table_shows_not_music_and_json_csv_carry_the_probability(capsys, tiny_bundle_dir, tmp_path):
    from tests.conftest import require_shared

    folder = require_shared("music")
    dog, song = folder / "pibble.ogg", folder / "Kevin_MacLeod_-_Vibe_Ace.ogg"
    code, out, err = run_cli(capsys, dog, song, "--model", tiny_bundle_dir, "--excerpts", "1")
    assert code == 0, err
    rows = {line.split()[0].rsplit("/", 1)[1]: line for line in out.strip().splitlines()[1:]}
    assert "not music" in rows["pibble.ogg"] and "not music" not in rows["Kevin_MacLeod_-_Vibe_Ace.ogg"]
    code, out, err = run_cli(capsys, dog, song, "--model", tiny_bundle_dir, "--excerpts", "1", "--json")
    music = [track["music"] for track in json.loads(out)["tracks"]]
    assert music[0] < 0.5 < music[1]
    code, out, err = run_cli(capsys, dog, "--model", tiny_bundle_dir, "--excerpts", "1", "--csv", "--no-music-check")
    row = next(csv.DictReader(io.StringIO(out)))
    assert code == 0 and row["music"] == "" and row["mood"] != "not music"
