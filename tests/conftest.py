"""Suite-wide fixtures: offscreen Qt, the shared real data, fixture copies."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()
FIXTURES = Path(__file__).resolve().parent / "data"


def require_shared(*relative: str) -> Path:
    """Path inside ../shared/data, or skip (fail under SENTIO_REQUIRE_SHARED=1) when absent."""
    path = SHARED_DATA.joinpath(*relative)
    if not path.exists():
        reason = f"needs ../shared/data/{'/'.join(relative)} (not found at {path})"
        if os.environ.get("SENTIO_REQUIRE_SHARED") == "1":
            pytest.fail(f"SENTIO_REQUIRE_SHARED=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared()


@pytest.fixture
def fixture_copy(tmp_path: Path):
    """Copy a file from tests/data into a temp dir so tests never edit fixtures in place."""

    def copy(name: str, dest_name: str | None = None) -> Path:
        dest = tmp_path / (dest_name or name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(FIXTURES / name, dest)
        return dest

    return copy


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A real `tiny`-preset bundle on disk (random weights): predictions are genuine model outputs."""
    import torch

    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("bundle") / "tiny"
    save_bundle(Bundle.from_model(build_model("tiny"), name="sentio-tiny-test", version="1.0.0", excerpts=2), directory)
    return directory
