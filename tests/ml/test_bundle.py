from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from sentio_ml import bundle as bundle_module
from sentio_ml.bundle import Bundle, default_bundle_path, load_bundle, model_id, save_bundle
from sentio_ml.composition import Composition
from sentio_ml.errors import BundleError
from sentio_ml.features import FeatureConfig
from sentio_ml.model import build_model


def make_bundle(seed: int = 0, **kwargs) -> Bundle:
    torch.manual_seed(seed)
    model = build_model("tiny").eval()
    return Bundle.from_model(
        model,
        name="sentio-tiny",
        version="0.0.1",
        features=model.config.feature_config(mean=-3.5, std=4.0),
        training_data={"dataset": "unit-test", "clips": 0},
        metrics={"valence": {"r2": 0.1}},
        **kwargs,
    )


def test_round_trip_is_exact(tmp_path):
    original = make_bundle()
    save_bundle(original, tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "MODEL_CARD.md", "config.json", "metrics.json", "model.safetensors"]
    loaded = load_bundle(tmp_path / "b")
    # a version-1 bundle loads as the same model declared as a composition: every weight, the same outputs
    composition = Composition.from_hybrid(original.model)
    for key, tensor in composition.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[key]), key
    feats = torch.randn(2, 256, 128)
    with torch.inference_mode():
        assert torch.equal(original.model(feats), loaded.model(fbank=feats))
    assert loaded.config == json.loads(json.dumps(original.config))
    assert loaded.metrics == original.metrics
    assert loaded.feature_config == FeatureConfig(frames=256, mean=-3.5, std=4.0)
    assert loaded.excerpts == 3 and loaded.excerpt_seconds == pytest.approx(2.575)  # 400 + 255 hops of 160 samples
    assert model_id(loaded) == model_id(original)
    assert model_id(loaded).startswith("sentio-tiny@0.0.1+") and len(model_id(loaded).split("+")[1]) == 8
    assert "sentio-tiny" in loaded.card and not loaded.model.training


def test_model_id_changes_with_the_weights():
    assert model_id(make_bundle(0)) != model_id(make_bundle(1))


def test_feature_config_must_match_the_model():
    model = build_model("tiny")
    with pytest.raises(ValueError, match="does not match"):
        Bundle.from_model(model, features=FeatureConfig(frames=1024))


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors"])
def test_incomplete_bundle_names_what_is_missing(tmp_path, missing):
    save_bundle(make_bundle(), tmp_path / "b")
    (tmp_path / "b" / missing).unlink()
    with pytest.raises(BundleError, match=f"incomplete: missing {missing}"):
        load_bundle(tmp_path / "b")


def test_metrics_and_card_are_optional(tmp_path):
    save_bundle(make_bundle(), tmp_path / "b")
    (tmp_path / "b" / "metrics.json").unlink()
    (tmp_path / "b" / "MODEL_CARD.md").unlink()
    loaded = load_bundle(tmp_path / "b")
    assert loaded.metrics == {} and loaded.card == ""


def test_missing_folder_and_missing_default_bundle(tmp_path, monkeypatch):
    with pytest.raises(BundleError, match="no model bundle folder"):
        load_bundle(tmp_path / "nowhere")
    monkeypatch.setenv("SENTIO_MODEL", str(tmp_path / "default"))
    assert default_bundle_path() == tmp_path / "default"
    with pytest.raises(BundleError) as info:
        load_bundle()
    assert "sentio-ml train" in str(info.value) and "--model" in str(info.value)
    monkeypatch.delenv("SENTIO_MODEL")
    assert default_bundle_path() == Path(bundle_module.__file__).parent / "resources" / "models" / "default"  # in the package


def test_corrupt_files_give_bundle_errors(tmp_path):
    save_bundle(make_bundle(), tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path / "b")
    save_bundle(make_bundle(), tmp_path / "c")
    (tmp_path / "c" / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(BundleError, match="corrupt or not safetensors"):
        load_bundle(tmp_path / "c")
    save_bundle(make_bundle(), tmp_path / "d")
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    config["model"]["hidden_size"] = 64
    (tmp_path / "d" / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="do not match the architecture"):
        load_bundle(tmp_path / "d")
    config["format_version"] = 99
    (tmp_path / "d" / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="newer"):
        load_bundle(tmp_path / "d")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    save_bundle(make_bundle(), tmp_path / "b")

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling is not allowed")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load_bundle(tmp_path / "b")
    assert (tmp_path / "b" / "model.safetensors").read_bytes()[8:9] == b"{"  # safetensors JSON header


def test_unwritable_destination(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(BundleError, match="Cannot write the model bundle"):
        save_bundle(make_bundle(), target / "b")
