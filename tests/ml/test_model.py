from __future__ import annotations

import os

import pytest
import torch

from sentio_ml.errors import BackboneUnavailableError
from sentio_ml.model import PRESETS, ModelConfig, MoodRegressor, build_model, fbank_statistics


def test_tiny_shapes_range_and_embedding():
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    cfg = model.config
    feats = torch.randn(3, cfg.frames, cfg.num_mel_bins)
    with torch.inference_mode():
        out = model(feats)
        emb = model.embed(feats)
    assert out.shape == (3, 2) and ((out > 0) & (out < 1)).all()
    assert emb.shape == (3, model.embedding_dim) == (3, 2 * cfg.hidden_size + cfg.stats_dim)
    # inputs of another length are padded/trimmed to the configured frames
    with torch.inference_mode():
        assert model(feats[:, :100]).shape == (3, 2)


def test_statistics_branch_switch_and_gradients():
    cfg = ModelConfig.from_dict({**PRESETS["tiny"].to_dict(), "stats_branch": False})
    plain = MoodRegressor(cfg)
    assert plain.stats is None and plain.embedding_dim == 2 * cfg.hidden_size
    model = build_model("tiny")
    feats = torch.randn(2, cfg.frames, cfg.num_mel_bins)
    model(feats).sum().backward()
    assert model.stats[1].weight.grad is not None and model.backbone.embeddings.cls_token.grad is not None
    stats = fbank_statistics(feats)
    assert stats.shape == (2, 4 * cfg.num_mel_bins)
    torch.testing.assert_close(stats[:, :cfg.num_mel_bins], feats.mean(dim=1))


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_presets_build(name):
    model = build_model(name)
    assert model.config == PRESETS[name]
    assert model.backbone.config.max_length == PRESETS[name].frames


def test_base_preset_mirrors_the_pretrained_ast_config():
    base = PRESETS["base"]
    ast = base.ast_config()
    assert (ast.hidden_size, ast.num_hidden_layers, ast.frequency_stride, ast.time_stride, ast.max_length) == (
        768, 12, 10, 10, 1024)
    assert base.num_patches == 12 * 101  # the 1212 patches of the 10-10 AST


def test_config_round_trip_and_unknown_preset():
    cfg = PRESETS["small"]
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model preset"):
        build_model("huge")


def test_backbone_from_local_directory(tmp_path):
    from transformers import ASTModel

    donor_cfg = ModelConfig.from_dict({**PRESETS["tiny"].to_dict(), "hidden_size": 48, "frames": 128})
    torch.manual_seed(1)
    donor = ASTModel(donor_cfg.ast_config())
    donor.save_pretrained(tmp_path / "ast")
    model = build_model("tiny", backbone=tmp_path / "ast")
    # the pretrained architecture replaces the preset's backbone fields; the weights are the donor's
    assert model.config.hidden_size == 48 and model.config.frames == 128
    torch.testing.assert_close(model.backbone.embeddings.cls_token, donor.embeddings.cls_token)
    with torch.inference_mode():
        assert model.eval()(torch.randn(1, 128, 128)).shape == (1, 2)


def test_backbone_folder_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackboneUnavailableError, match="no config.json"):
        build_model("tiny", backbone=tmp_path / "empty")


def test_hub_id_offline_is_one_clear_sentence(monkeypatch):
    # tests/conftest.py sets HF_HUB_OFFLINE=1 before anything imports huggingface_hub; the id exists nowhere
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    with pytest.raises(BackboneUnavailableError) as info:
        build_model("tiny", backbone="sentio-test/no-such-ast-model")
    message = str(info.value)
    assert "sentio-test/no-such-ast-model" in message and "offline" in message and "\n" not in message


def test_spread_stretches_around_the_centre_and_old_weights_load_without_it():
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    state = {k: v for k, v in model.state_dict().items() if k != "spread"}  # a bundle written before the calibration
    fresh = MoodRegressor(model.config)
    fresh.load_state_dict(state, strict=True)
    assert torch.equal(fresh.spread, torch.ones(2))
    feats = torch.randn(4, model.config.frames, model.config.num_mel_bins)
    with torch.no_grad():
        plain = fresh(feats)
        fresh.spread.copy_(torch.tensor([2.0, 1.5]))
        stretched = fresh(feats)
    assert torch.allclose(stretched, (0.5 + torch.tensor([2.0, 1.5]) * (plain - 0.5)).clamp(0, 1), atol=1e-6)
    assert torch.equal(stretched > 0.5, plain > 0.5)  # no prediction changes side: quadrants stay
