"""The wheel carries its model: built from the source, installed into a fresh venv, it predicts from any folder.

To stay fast the fresh venv reuses this environment's packages (torch, librosa ...) instead of installing
them: a `.pth` file in its site-packages lists this interpreter's site-packages directories. (`venv
--system-site-packages` would only reach the *base* interpreter's packages when the tests run in a venv.)
A plain path line in a `.pth` does not run that directory's own `.pth` files, so a development
(editable) install of Sentio in this environment stays invisible: `sentio_ml` can only come from the wheel.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "sentio_ml", "sentio_desktop", "beetsplug")
BUNDLE_LIMIT = 25 * 2**20


def _run(args: list[str | os.PathLike], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(dest: Path) -> Path:
    """`pip wheel` of a clean copy of the sources, so no stale build/ of the checkout can leak into it."""
    src = dest / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO_ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", dest / "dist", src], cwd=dest)
    [wheel] = (dest / "dist").glob("sentio-*.whl")
    return wheel


def venv_with_wheel(wheel: Path, dest: Path) -> Path:
    """A fresh venv that sees this environment's packages and has the wheel installed; returns its bin/."""
    venv.EnvBuilder(with_pip=False).create(dest)
    python = dest / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=dest).stdout.strip())
    ours = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (purelib / "outer_environment.pth").write_text("".join(f"{p}\n" for p in ours))
    # pip comes from the outer environment; --ignore-installed: never touch a Sentio installed out there
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel], cwd=dest)
    return dest / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root)
    return wheel, venv_with_wheel(wheel, root / "venv")


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SENTIO_MODEL", "SENTIO_DB", "VIRTUAL_ENV")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               SENTIO_CONFIG=str(home / "config" / "sentio.toml"), OMP_NUM_THREADS="1", QT_QPA_PLATFORM="offscreen")
    return env


def test_wheel_carries_the_default_bundle_and_pretrained_weights(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    bundle = [n for n in names if n.startswith("sentio_ml/resources/models/default/")]
    assert {"config.json", "model.safetensors"} <= {Path(n).name for n in bundle}
    assert not [n for n in bundle if "/cv/" in n or "/logs/" in n]  # training reports stay in the source tree
    shipped = {p.name for p in (REPO_ROOT / "sentio_ml" / "resources" / "pretrained").iterdir()}
    assert {Path(n).name for n in names if n.startswith("sentio_ml/resources/pretrained/")} == shipped
    with zipfile.ZipFile(wheel) as zf:
        assert sum(zf.getinfo(n).file_size for n in bundle) <= BUNDLE_LIMIT
    assert "sentio_desktop/resources/sentio.svg" in names
    assert "beetsplug/sentio.py" in names and "beetsplug/__init__.py" not in names  # beets' namespace package


def test_installed_wheel_predicts_and_analyses_from_any_folder(installed, tmp_path):
    _, bin_dir = installed
    env = clean_env(tmp_path / "home")
    where = _run([bin_dir / "python", "-c", "import sentio_ml.paths as p; print(p.shipped_bundle_dir())"],
                 cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(bin_dir.parent) and not Path(where).is_relative_to(REPO_ROOT)

    out = _run([bin_dir / "sentio-ml", "predict", "--json", "-q", FIXTURES / "vibe_ace.flac"], cwd=tmp_path, env=env)
    report = json.loads(out.stdout)
    [result] = report["tracks"]
    assert report["model_id"] and result["error"] is None
    assert 0 <= result["valence"] <= 1 and 0 <= result["arousal"] <= 1 and result["mood"]

    music = tmp_path / "music"
    music.mkdir()
    shutil.copy2(FIXTURES / "vibe_ace.mp3", music / "song.mp3")
    _run([bin_dir / "sentio", "--db", tmp_path / "lib.db", "-q", "analyze", music], cwd=tmp_path, env=env)
    listing = _run([bin_dir / "sentio", "--db", tmp_path / "lib.db", "list", "--format", "json"], cwd=tmp_path, env=env)
    [track] = json.loads(listing.stdout)
    assert track["path"] == str(music / "song.mp3") and 0 <= track["valence"] <= 1 and 0 <= track["arousal"] <= 1

    _run([bin_dir / "sentio", "install-desktop"], cwd=tmp_path, env=env)  # the icon comes from the wheel
    entry = (tmp_path / "home" / "data" / "applications" / "sentio.desktop").read_text()
    assert f"Exec={bin_dir / 'sentio'}\n" in entry
    assert (tmp_path / "home" / "data" / "icons" / "hicolor" / "scalable" / "apps" / "sentio.svg").stat().st_size > 0
