"""docs/internals.md shows the shipped composition exactly as the bundle describes itself (no drift)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_ml.bundle import load_bundle
from sentio_ml.composition import Composition
from sentio_ml.paths import shipped_bundle_dir

DOC = Path(__file__).resolve().parents[2] / "docs" / "internals.md"


@pytest.mark.skipif(not (shipped_bundle_dir("fast") / "model.safetensors").is_file(), reason="no fast bundle here")
def test_internals_doc_shows_the_shipped_composition():
    bundle = load_bundle(shipped_bundle_dir("fast"))
    assert isinstance(bundle.model, Composition)
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- composition:start -->")[1].split("<!-- composition:end -->")[0].strip()
    assert block == bundle.model.describe().strip(), \
        "regenerate the block: python -m sentio_ml.model_card --bundle fast --internals"
