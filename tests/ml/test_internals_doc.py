"""docs/internals.md shows each shipped composition exactly as its bundle describes itself (no drift)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_ml.bundle import load_bundle
from sentio_ml.composition import Composition
from sentio_ml.paths import shipped_bundle_dir

DOC = Path(__file__).resolve().parents[2] / "docs" / "internals.md"


@pytest.mark.parametrize("name", ["default", "fast"])
def test_internals_doc_shows_the_shipped_composition(name):
    if not (shipped_bundle_dir(name) / "model.safetensors").is_file():
        pytest.skip(f"no {name} bundle in this checkout")
    bundle = load_bundle(shipped_bundle_dir(name))
    assert isinstance(bundle.model, Composition)
    text = DOC.read_text(encoding="utf-8")
    block = text.split(f"<!-- composition:{name}:start -->")[1].split(f"<!-- composition:{name}:end -->")[0].strip()
    assert block == bundle.model.describe().strip(), \
        f"regenerate the block: python -m sentio_ml.model_card --bundle {name} --internals"
