"""Desktop-core fixtures: settings pointing at the tiny bundle (tests/conftest.py) and fresh temp libraries."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_desktop.library import Library
from sentio_desktop.settings import Settings


@pytest.fixture
def tiny_settings(tiny_bundle: Path, tmp_path: Path) -> Settings:
    return Settings(model=str(tiny_bundle), device="cpu", batch_size=4, db_path=str(tmp_path / "lib.db"))


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "lib.db")
    yield lib
    lib.close()
