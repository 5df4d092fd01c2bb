"""The beets plugin against a real beets: a temporary library, an import, `beet sentio`, queries and file tags.

Each `beet` runs as its own process with BEETSDIR in a temp dir and this checkout first on PYTHONPATH,
so `beetsplug.sentio` (beets' namespace package) and `sentio_ml` come from here. The default bundle
(whatever `sentio_ml.bundle.default_bundle_path()` resolves to) predicts.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sentio_desktop.tags import read_mood_tags
from tests.conftest import FIXTURES, REPO_ROOT

pytest.importorskip("beets", reason="the beets plugin test needs beets (pip install '.[beets]')")
pytestmark = pytest.mark.slow

FIELDS = ("valence", "arousal", "mood", "sentio_model")
FORMAT = "|".join(["$path", *(f"%ifdef{{{name},${name}}}" for name in FIELDS)])  # a missing field prints as ""


def truncated_flac(dest: Path) -> Path:
    """A FLAC with intact tags (beets imports it) and no audio frames (Sentio cannot decode it)."""
    data = (FIXTURES / "vibe_ace.flac").read_bytes()
    offset = 4
    while True:  # metadata blocks: 1 byte flags/type (0x80 = last), 3 bytes length
        last, length = data[offset] & 0x80, int.from_bytes(data[offset + 1:offset + 4], "big")
        offset += 4 + length
        if last:
            break
    dest.write_bytes(data[:offset] + b"\0" * 2000)
    return dest


class Beets:
    def __init__(self, root: Path, sentio_options: str = "") -> None:
        self.root = root
        (root / "beets").mkdir()
        (root / "beets" / "config.yaml").write_text(
            f"directory: {root / 'library'}\nlibrary: {root / 'beets' / 'library.db'}\nplugins: sentio\n"
            "import:\n  copy: yes\n  write: yes\n  autotag: no\n  log: null\n"
            f"sentio:\n  device: cpu\n{sentio_options}")
        self.env = {**os.environ, "BEETSDIR": str(root / "beets"), "OMP_NUM_THREADS": "1",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
        self.env.pop("SENTIO_MODEL", None)

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "beets", *args], cwd=self.root, env=self.env,
                                capture_output=True, text=True, timeout=600)
        if ok:
            assert result.returncode == 0, f"beet {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def items(self, *query: str) -> dict[str, list[str]]:
        lines = self("ls", "-f", FORMAT, *query).stdout.splitlines()
        return {line.split("|")[0]: line.split("|")[1:] for line in lines if line}


@pytest.fixture
def music(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy2(FIXTURES / "vibe_ace.flac", folder / "one.flac")
    shutil.copy2(FIXTURES / "vibe_ace.mp3", folder / "two.mp3")
    return folder


def test_import_analyses_queries_by_valence_and_tags_the_files(tmp_path, music):
    truncated_flac(music / "broken.flac")
    beet = Beets(tmp_path, "  auto: yes\n")
    imported = beet("import", "-A", "-q", str(music))
    output = imported.stdout + imported.stderr
    assert "no audio samples" in output, output  # reported as a warning; the import goes on (below)

    items = beet.items()
    assert len(items) == 3, items
    analysed = {path: values for path, values in items.items() if values[3]}
    assert len(analysed) == 2, items  # the broken file is in the library, without a result
    for path, (valence, arousal, mood, model) in analysed.items():
        assert 0 <= float(valence) <= 1 and 0 <= float(arousal) <= 1 and mood and model.startswith("sentio-")
        assert Path(path).is_relative_to(tmp_path / "library")  # the copies were tagged, not the originals
        tags = read_mood_tags(path)
        assert (tags.valence, tags.arousal, tags.mood, tags.model) == (float(valence), float(arousal), mood, model)
    assert read_mood_tags(music / "one.flac").empty

    # beets types the attributes as numbers: range queries work on both sides of the value
    some_valence = min(float(values[0]) for values in analysed.values())
    assert len(beet.items(f"valence:{some_valence - 0.001:.3f}..")) == 2
    assert beet.items(f"valence:..{some_valence - 0.01:.3f}") == {}
    assert len(beet.items(f"valence:..{some_valence + 0.001:.3f}", "arousal:0..1")) >= 1
    assert len(beet.items("music:0.5..")) == 2 and beet.items("music:..0.5") == {}  # the music check's value, typed too

    again = beet("sentio", "format:MP3")  # force: no -> an item with this model's result is skipped
    assert "0 analysed, 1 already current, 0 failed" in again.stdout
    [mp3] = [Path(path) for path in analysed if path.endswith(".mp3")]
    before = mp3.stat().st_mtime_ns
    forced = beet("sentio", "-f", "-W", "format:MP3")  # -W: the library only, the file stays as it was
    assert "1 analysed, 0 already current, 0 failed" in forced.stdout
    assert mp3.stat().st_mtime_ns == before


def test_a_model_that_cannot_load_is_one_sentence_and_the_import_goes_on(tmp_path, music):
    beet = Beets(tmp_path, f"  model: {tmp_path / 'no-such-bundle'}\n")
    imported = beet("import", "-A", "-q", str(music))
    assert "no mood analysis for this import" in imported.stderr and "no-such-bundle" in imported.stderr
    assert len(beet.items()) == 2 and not any(values[3] for values in beet.items().values())
    failed = beet("sentio", ok=False)
    assert failed.returncode != 0 and "no-such-bundle" in failed.stderr and "Traceback" not in failed.stderr
