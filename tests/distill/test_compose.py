"""`sentio-ml distill compose`: the AST and a second model in one bundle, scored from their own CV reports."""
from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import torch

from sentio_ml.ast_encoder import PRESETS
from sentio_ml.bundle import Bundle, load_bundle, save_bundle
from sentio_ml.composition import AstPart
from sentio_ml.distill.compose import main, renormalise
from sentio_ml.features import FeatureConfig, normalize
from sentio_ml.paths import shipped_bundle_dir
from sentio_ml.predictor import Predictor
from tests.conftest import FIXTURES


def test_renormalise_gives_the_same_outputs_on_the_other_normalisation():
    torch.manual_seed(0)
    part = AstPart(PRESETS["student"]).eval()
    trained_on, reads = FeatureConfig(mean=-2.77, std=3.39), FeatureConfig(mean=-2.44, std=3.65)
    log_mel = torch.randn(3, 1024, 128) * 3.0 - 2.5
    with torch.inference_mode():  # the embedding: the head of a fresh part is zero
        before = part.embed(normalize(log_mel, trained_on))
        renormalise(part, trained_on, reads)
        after = part.embed(normalize(log_mel, reads))
        unchanged_input = part.embed(normalize(log_mel, trained_on))
    torch.testing.assert_close(after, before, atol=2e-5, rtol=1e-4)
    assert (unchanged_input - before).abs().max() > 1e-3  # the weights really changed


def probe_bundle(folder):
    """mn04's linear probe as a bundle of its own (the shipped default's `mn04` part), with its CV report."""
    shipped = load_bundle(shipped_bundle_dir("default"))
    save_bundle(Bundle.from_composition(copy.deepcopy(shipped.model.parts["mn04"]), name="sentio-fourq-mn04-probe",
                                        version="1.0.0", features=FeatureConfig(), normalisation_source="test",
                                        excerpts=shipped.excerpts, metrics={"cv_name": "teacher mn04 (linear probe)"}),
                folder)
    shutil.copytree(shipped.path / "cv" / "mn04", folder / "cv")
    return folder


def test_compose_the_shipped_models_predicts_their_weighted_mean(tmp_path, capsys):
    fast, probe = shipped_bundle_dir("fast"), probe_bundle(tmp_path / "probe")
    out = tmp_path / "composite"
    assert main(["--ast", str(fast), "--with", str(probe), "--ast-weight", "0.6", "--out", str(out),
                 "--version", "9.0.0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["model_id"].startswith("sentio-fourq-ast-mn04@9.0.0+") and printed["shares"]["ast"][0] > 0.5
    composite = load_bundle(out)
    card = composite.card
    assert "## Part `ast`" in card and "## Part `mn04`" in card
    assert "--with runs/mn04 --with-name mn04 --ast-weight 0.6 --out runs/default" in card
    assert (out / "cv" / "mn04" / "report.json").is_file() and (out / "cv" / "ast" / "report.json").is_file()
    report = json.loads((out / "cv" / "report.json").read_text())
    assert [m["name"] for m in report["models"]] == ["AST alone", "mn04 alone", "composite, 0.60 AST + 0.40 mn04"]
    # the probe reads no fbank: the AST keeps its own normalisation, unchanged
    assert composite.feature_config == load_bundle(fast).feature_config

    track = [FIXTURES / "vibe_ace.mp3"]
    run = {name: Predictor(bundle, device="cpu", detect_music=False).predict(track)[0]
           for name, bundle in (("fast", fast), ("probe", probe), ("composite", out))}
    for dim in ("valence", "arousal"):
        expected = 0.6 * getattr(run["fast"], dim) + 0.4 * getattr(run["probe"], dim)
        assert getattr(run["composite"], dim) == pytest.approx(expected, abs=1e-4)
    assert not np.isclose(run["fast"].valence, run["probe"].valence, atol=1e-3)  # so the weights are tested


def test_the_ast_weight_must_be_at_least_half(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--ast", "a", "--with", "b", "--ast-weight", "0.4", "--out", "c"])
    assert info.value.code == 2 and "at least half" in capsys.readouterr().err
