"""Fixtures for the sentio_ml tests: a tiny random-weight bundle saved once per session."""
from __future__ import annotations

import pytest
import torch

from sentio_ml.bundle import Bundle, save_bundle
from sentio_ml.model import build_model


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory):
    torch.manual_seed(0)
    bundle = Bundle.from_model(build_model("tiny").eval(), name="sentio-tiny", version="0.0.1", excerpts=3)
    return save_bundle(bundle, tmp_path_factory.mktemp("bundle") / "tiny")
