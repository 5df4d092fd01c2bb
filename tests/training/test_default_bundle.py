"""The shipped default bundle: loads without pickles, stays small, carries its CV and predicts."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_ml.bundle import load_bundle
from tests.conftest import FIXTURES, REPO_ROOT

DEFAULT = REPO_ROOT / "resources" / "models" / "default"


@pytest.mark.skipif(not (DEFAULT / "model.safetensors").is_file(), reason="no default bundle in this checkout")
def test_default_bundle_is_small_documented_and_predicts():
    assert sum(p.stat().st_size for p in DEFAULT.rglob("*") if p.is_file()) < 25 * 2**20
    assert not [p for p in DEFAULT.rglob("*") if p.suffix in {".pt", ".pth", ".pkl", ".bin", ".ckpt"}]
    bundle = load_bundle(DEFAULT)
    assert bundle.config["training_data"]["dataset"] == "fourq" and bundle.config["training_data"]["clips"] == 720
    cv = bundle.metrics["cv"]
    ours, reference = cv["AST hybrid"], cv["librosa + SVR"]
    assert ours["quadrant.macro_f1"]["mean"] > reference["quadrant.macro_f1"]["mean"]
    assert "sentio-ml train --dataset fourq" in bundle.card and "AllMusic" in bundle.card
    from sentio_ml.predictor import Predictor

    [result] = Predictor(bundle, device="cpu").predict([Path(FIXTURES) / "vibe_ace.flac"])
    assert result.error is None and 0 <= result.valence <= 1 and 0 <= result.arousal <= 1
