"""Suite-wide fixtures: offscreen Qt, the shared real data, fixture copies."""
from __future__ import annotations

import dataclasses
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
    """A real bundle shaped like the shipped one — a composition with an AST part, its fitted head and a spread
    calibration — at the `tiny` size with random weights: predictions are genuine model outputs."""
    import torch

    from sentio_ml.ast_encoder import PRESETS
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.composition import AstPart, Composition
    from sentio_ml.features import FeatureConfig

    torch.manual_seed(0)
    short = dataclasses.replace(PRESETS["tiny"], frames=256)  # 2.56-s excerpts: two per 4-s fixture
    model = Composition({"ast": AstPart(short)})
    model.parts["ast"].head.weight.normal_(std=0.05)  # a head that moves with the audio, not a constant 0.5
    model.scale.fill_(1.5)
    model.offset.fill_(-0.25)
    directory = tmp_path_factory.mktemp("bundle") / "tiny"
    bundle = Bundle.from_composition(model, name="sentio-tiny-test", version="1.0.0", features=FeatureConfig(frames=256),
                                     normalisation_source="AudioSet statistics", excerpts=2)
    save_bundle(bundle, directory)
    return directory
