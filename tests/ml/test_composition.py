"""The declared composition: heads fit, outputs combine and calibrate, shares add up, bundles round-trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sentio_ml.ast_encoder import PRESETS
from sentio_ml.bundle import Bundle, load_bundle, save_bundle
from sentio_ml.composition import AstPart, Composition, LinearHead
from sentio_ml.features import FeatureConfig
from sentio_ml.predictor import Predictor
from tests.conftest import FIXTURES


def test_linear_head_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = 0.5 + x @ rng.normal(scale=0.05, size=(6, 2))
    head = LinearHead(6).fit(x, y, alpha=1e-3)
    predicted = head(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert np.abs(predicted - y).max() < 1e-3


def _composition(parts: int = 2) -> Composition:
    torch.manual_seed(0)
    return Composition({f"p{i}": AstPart(PRESETS["tiny"]) for i in range(parts)}).eval()


def test_combine_applies_weights_then_calibration_and_clamps():
    model = _composition()
    model.weights.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    model.offset.copy_(torch.tensor([0.1, -0.2]))
    model.scale.copy_(torch.tensor([2.0, 1.0]))
    outputs = torch.tensor([[[0.2, 0.9]], [[0.7, 0.4]]])  # [parts, B, 2]
    combined = model.combine(outputs)
    assert torch.allclose(combined, torch.tensor([[0.5, 0.2]]))
    assert model.combine(torch.full((2, 1, 2), 5.0)).max() == 1.0


def test_shares_sum_to_one_and_follow_the_weights():
    model = _composition()
    rng = np.random.default_rng(1)
    outputs = torch.as_tensor(rng.normal(size=(2, 300, 2)), dtype=torch.float32)
    model.weights.copy_(torch.tensor([[0.9, 0.5], [0.1, 0.5]]))
    shares = model.shares(outputs)
    assert np.allclose(np.add(shares["p0"], shares["p1"]), 1.0, atol=1e-3)
    assert shares["p0"][0] > 0.9 and abs(shares["p0"][1] - 0.5) < 0.1


def test_bundle_round_trip_and_prediction(tmp_path):
    model = _composition(parts=1)
    model.parts["p0"].head.bias.copy_(torch.tensor([0.3, 0.8]))
    bundle = Bundle.from_composition(model, name="tiny-comp", features=FeatureConfig(), normalisation_source="test")
    save_bundle(bundle, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    assert isinstance(loaded.model, Composition) and loaded.config["format_version"] == 2
    assert "| p0 | fbank | AST 1x32" in (tmp_path / "b" / "MODEL_CARD.md").read_text()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)
    result = Predictor(loaded, precision="fp32").predict([FIXTURES / "vibe_ace.mp3"])[0]
    assert result.ok and len(result.excerpts) == 1  # a 4-s fixture: one looped excerpt
    assert result.valence == pytest.approx(0.3, abs=1e-4) and result.arousal == pytest.approx(0.8, abs=1e-4)


def test_a_config_with_an_unknown_part_is_a_bundle_error(tmp_path):
    import json

    from sentio_ml.errors import BundleError

    bundle = Bundle.from_composition(_composition(1), name="x", features=FeatureConfig(), normalisation_source="t")
    save_bundle(bundle, tmp_path / "b")
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    config["composition"]["parts"]["p0"]["kind"] = "svm"
    (tmp_path / "b" / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="invalid"):
        load_bundle(tmp_path / "b")


def test_a_teacher_part_feeds_on_the_wave_view():
    from sentio_ml.composition import TeacherPart

    part = TeacherPart("vgg_msd").eval()  # untrained weights: shapes and wiring only
    model = Composition({"ast": AstPart(PRESETS["tiny"]), "vgg": part}).eval()
    assert model.views == ("fbank", "wave") and model.config()["views"] == ["fbank", "wave"]
    assert model.config()["parts"]["vgg"] == {"kind": "teacher", "view": "wave", "teacher": "vgg_msd"}
    waves = torch.zeros(2, 16000 * 4)
    with torch.no_grad():
        out = model(fbank=torch.zeros(2, 1024, 128), wave=waves)
    assert out.shape == (2, 2) and bool(((out >= 0) & (out <= 1)).all())


def test_view_cache_keys_follow_their_versions():
    """The training cache names a view's entries by its key: a key must change when the view's meaning does."""
    from sentio_ml.audio_descriptors import AUDIO_DESCRIPTORS_VERSION
    from sentio_ml.composition import VIEWS, views_in_order
    from sentio_ml.musicnn import MUSICNN_VERSION

    assert VIEWS["audio_descriptors"].cache_key == f"audio{AUDIO_DESCRIPTORS_VERSION}"
    assert [VIEWS[f"musicnn{p}"].cache_key for p in (1, 2, 3)] == [f"musicnn{MUSICNN_VERSION}p{p}" for p in (1, 2, 3)]
    assert views_in_order(["fbank_descriptors", "musicnn1"]) == ["fbank", "fbank_descriptors", "musicnn1"]


def test_the_hybrid_network_predicts_alike_without_transformers():
    """Loaded for prediction, the hybrid's small AST runs as LeanAST (no transformers import, ~1.5 s of a cold
    start); transformers' ASTModel, which trained it, gives the same outputs from the same weights."""
    import subprocess
    import sys

    from sentio_ml.composition import NetPart
    from sentio_ml.model import PRESETS

    torch.manual_seed(0)
    lean = NetPart(PRESETS["small"].to_dict()).eval()  # the shipped hybrid's architecture (sentio-ml train)
    reference = NetPart(lean.net.config.to_dict(), backend="transformers").eval()
    reference.load_state_dict(lean.state_dict())
    assert type(lean.net.backbone).__name__ == "LeanAST" and type(reference.net.backbone).__name__ == "ASTModel"
    fbank = torch.randn(4, 1024, 128)
    with torch.inference_mode():
        torch.testing.assert_close(lean(fbank), reference(fbank), atol=1e-6, rtol=1e-5)
    loaded = subprocess.run([sys.executable, "-c", "import sys\nfrom sentio_ml.bundle import load_bundle\n"
                             "load_bundle('default')\nassert 'transformers' not in sys.modules"],
                            capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
