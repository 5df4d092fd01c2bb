"""Desktop-core fixtures: a tiny real model bundle (random weights) and fresh temp libraries."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_desktop.library import Library
from sentio_desktop.settings import Settings


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A real `tiny`-preset bundle on disk; predictions are real model outputs (random weights)."""
    import torch
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("bundle") / "tiny"
    save_bundle(Bundle.from_model(build_model("tiny"), name="sentio-tiny-test", version="1.0.0", excerpts=2), directory)
    return directory


@pytest.fixture
def tiny_settings(tiny_bundle: Path, tmp_path: Path) -> Settings:
    return Settings(model=str(tiny_bundle), device="cpu", batch_size=4, db_path=str(tmp_path / "lib.db"))


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "lib.db")
    yield lib
    lib.close()
