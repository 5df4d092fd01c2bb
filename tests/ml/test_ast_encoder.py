"""The lean inference AST must equal transformers' ASTModel for the same weights."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from sentio_ml.ast_encoder import PRESETS, AstEncoder, init_like_vit


@pytest.mark.parametrize("config", [PRESETS["tiny"], dataclasses.replace(PRESETS["tiny"], pool_time=1, num_layers=2,
                                                                          frequency_stride=10, time_stride=12),
                                    # the shipped student and the ablation's larger ones, as the Predictor reads them
                                    PRESETS["student"], PRESETS["student-fine-time"], PRESETS["student-large"]])
def test_lean_backend_matches_transformers(config):
    torch.manual_seed(0)
    reference = AstEncoder(config, backend="transformers").eval()
    init_like_vit(reference)
    lean = AstEncoder(config, backend="lean").eval()
    lean.load_state_dict(reference.state_dict(), strict=True)
    fbank = torch.randn(3, 1000, 128)  # shorter than `frames`: both pad the same way
    with torch.no_grad():
        expected, got = reference(fbank), lean(fbank)
    assert got.shape == (3, config.embedding_dim)
    assert torch.allclose(got, expected, atol=1e-5)


def test_pooled_input_equals_pooling_inside():
    torch.manual_seed(1)
    encoder = AstEncoder(PRESETS["tiny"]).eval()
    fbank = torch.randn(2, 1024, 128)
    pooled = torch.nn.functional.avg_pool1d(fbank.transpose(1, 2), 4).transpose(1, 2)
    with torch.no_grad():
        assert torch.allclose(encoder(fbank), encoder(pooled, pooled=True), atol=1e-6)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        AstEncoder(PRESETS["tiny"], backend="onnx")



@pytest.mark.parametrize(("preset", "patches"), [("student", 64), ("student-fine-time", 128), ("student-large", 64)])
def test_student_presets_patch_grid(preset, patches):
    freq, time = PRESETS[preset].grid()
    assert freq * time == patches
