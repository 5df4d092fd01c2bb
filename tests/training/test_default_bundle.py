"""The shipped default bundle: loads without pickles, stays small, carries its CV and predicts."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentio_ml.bundle import load_bundle
from sentio_ml.paths import shipped_bundle_dir
from tests.conftest import FIXTURES

DEFAULT = shipped_bundle_dir()


@pytest.mark.skipif(not (DEFAULT / "model.safetensors").is_file(), reason="no default bundle in this checkout")
def test_default_bundle_is_small_documented_and_predicts():
    """The default: the distilled AST carrying at least half of the output, with mn04's linear probe; both parts'
    records kept."""
    assert sum(p.stat().st_size for p in DEFAULT.rglob("*") if p.is_file()) < 25 * 2**20
    assert not [p for p in DEFAULT.rglob("*") if p.suffix in {".pt", ".pth", ".pkl", ".bin", ".ckpt"}]
    bundle = load_bundle(DEFAULT)
    assert bundle.config["training_data"]["dataset"] == "fourq" and bundle.config["training_data"]["clips"] == 720
    assert list(bundle.model.parts) == ["ast", "mn04"] and bundle.model.view_names == ["fbank", "wave32k"]
    metrics, parts = bundle.metrics, bundle.metrics["parts"]
    # the bars for an ensemble: the AST's share of the held-out variance at least half, on both dimensions;
    # it measurably helps the AST alone; held-out spread within 0.85–1.15 of the labels'
    assert all(share >= 0.5 for share in metrics["shares"]["ast"]), metrics["shares"]
    composite_f1 = metrics["cv"]["quadrant.macro_f1"]["mean"]
    assert composite_f1 > parts["ast"]["metrics"]["cv"]["quadrant.macro_f1"]["mean"] + 0.02 and composite_f1 >= 0.70
    assert all(0.85 <= s <= 1.15 for s in metrics["spread_ratio"]), metrics["spread_ratio"]
    # both parts' cards travel: recipes, data, the teachers' licences (mn04's in full), how to rebuild the whole
    card = bundle.card
    assert "## Part `ast`" in card and "## Part `mn04`" in card and "sentio-ml distill compose" in card
    assert "sentio-ml distill probes" in card and "sentio-ml distill student" in card and "AllMusic" in card
    assert "Universitat Pompeu Fabra" in card and "Copyright (c) 2022 Florian Schmid" in card
    from sentio_ml.predictor import Predictor

    [result] = Predictor(bundle, device="cpu").predict([Path(FIXTURES) / "vibe_ace.flac"])
    assert result.error is None and 0 <= result.valence <= 1 and 0 <= result.arousal <= 1


@pytest.mark.skipif(not (DEFAULT / "model.safetensors").is_file(), reason="no default bundle in this checkout")
def test_the_default_predicts_all_in_torch():
    """Decode → fbank and 32-kHz wave → AST and mn04 → heads: no librosa, scikit-learn, numba (whose compilation cost
    seconds of every cold start) nor transformers is imported to predict, music check included."""
    import subprocess
    import sys

    script = ("import sys\nfrom sentio_ml.predictor import Predictor\n"
              f"[r] = Predictor('default', device='cpu').predict([{str(Path(FIXTURES) / 'vibe_ace.mp3')!r}])\n"
              "assert r.error is None and r.music is not None, r\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'librosa', 'sklearn', 'numba', 'transformers'}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


FAST = shipped_bundle_dir("fast")


@pytest.mark.skipif(not (FAST / "model.safetensors").is_file(), reason="no fast bundle in this checkout")
def test_fast_bundle_is_the_distilled_ast_with_calibrated_spread():
    from sentio_ml.composition import Composition
    from sentio_ml.predictor import Predictor

    assert sum(p.stat().st_size for p in FAST.glob("*") if p.is_file()) < 25 * 2**20
    bundle = load_bundle("fast")  # by name, as `--model fast`
    assert isinstance(bundle.model, Composition) and list(bundle.model.parts) == ["ast"]
    assert bundle.config["training_data"]["distillation"]["teachers"] == ["musicnn_msd", "mn04"]
    spread = bundle.metrics["spread_ratio"]
    assert all(0.85 <= s <= 1.15 for s in spread), spread  # the bar for values users can threshold
    assert bundle.metrics["cv"]["quadrant.macro_f1"]["mean"] > 0.6  # well above the 0.51 of random AST weights
    assert "Universitat Pompeu Fabra" in bundle.card and "MIT" in bundle.card  # the teachers' licences travel
    [result] = Predictor(bundle, device="cpu").predict([Path(FIXTURES) / "vibe_ace.flac"])
    assert result.error is None and 0 <= result.valence <= 1 and 0 <= result.arousal <= 1
