"""The torch port of musicnn reproduces the original TensorFlow model, cuts its input as it was trained, and
gives the quadrant head a third view that models carry with them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sentio_ml.musicnn import (
    EMBEDDING_DIM,
    MSD_TAGS,
    N_MELS,
    PATCH_FRAMES,
    SAMPLE_RATE,
    load_musicnn,
    log_mel_patches,
    musicnn_embedding,
    reference_signal,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference.json"


@pytest.fixture(scope="module")
def musicnn():
    return load_musicnn()


def test_port_matches_the_tensorflow_original(musicnn):
    """Known answer: scripts/musicnn_reference.py ran the musicnn package (TensorFlow) on the same signal."""
    expected = np.array(json.loads(REFERENCE.read_text())["tag_probabilities"])
    patches = log_mel_patches(reference_signal()[None])
    assert patches.shape == (1, 1, PATCH_FRAMES, N_MELS)
    with torch.no_grad():
        logits, penultimate = musicnn(patches[0])
    np.testing.assert_allclose(torch.sigmoid(logits)[0].numpy(), expected, atol=1e-4)
    assert penultimate.shape == (1, 200) and len(MSD_TAGS) == len(expected) == 50


def test_patches_are_the_central_three_seconds_and_short_input_is_repeated():
    t = np.arange(int(10.26 * SAMPLE_RATE)) / SAMPLE_RATE
    ramp = (np.sin(2 * np.pi * 440 * t) * t / t[-1]).astype(np.float32)  # louder over time
    three = log_mel_patches(ramp[None])
    one = log_mel_patches(ramp[None], patches=1)
    assert three.shape == (1, 3, PATCH_FRAMES, N_MELS) and one.shape == (1, 1, PATCH_FRAMES, N_MELS)
    torch.testing.assert_close(one[0, 0], three[0, 1])  # a 10.26-s excerpt holds three patches: the middle one
    short = log_mel_patches(ramp[None, : SAMPLE_RATE])  # 1 s
    assert short.shape == (1, 1, PATCH_FRAMES, N_MELS) and torch.isfinite(short).all()
    # another sample rate is resampled to 16 kHz first
    assert log_mel_patches(np.zeros((2, 44100 * 4), np.float32), 44100).shape == (2, 1, PATCH_FRAMES, N_MELS)


def test_embedding_is_penultimate_and_logits_averaged_over_patches(musicnn):
    waves = np.stack([reference_signal(10.0), 0.5 * reference_signal(10.0)])
    embedding = musicnn_embedding(musicnn, waves)
    assert embedding.shape == (2, EMBEDDING_DIM) and np.isfinite(embedding).all()
    with torch.no_grad():
        logits, penultimate = musicnn(log_mel_patches(waves).flatten(0, 1))
    np.testing.assert_allclose(embedding[0, 200:], logits[:3].mean(0).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(embedding[0, :200], penultimate[:3].mean(0).numpy(), rtol=1e-5, atol=1e-5)


def test_a_model_gaining_the_musicnn_view_carries_the_pretrained_weights():
    from dataclasses import replace

    from sentio_ml.model import PRESETS, build_model

    config = PRESETS["tiny"]
    model = build_model(config).eval()
    assert model.musicnn is None and not model.needs_musicnn
    tagged = model.with_head("quadrant", torch.nn.Module(), replace(config, musicnn=True))  # no head rows: the view only
    # gaining the view loads the pretrained weights, frozen into the model (and so into its bundle)
    for name, value in load_musicnn().state_dict().items():
        torch.testing.assert_close(tagged.state_dict()[f"musicnn.{name}"], value)
    embedding = torch.randn(2, EMBEDDING_DIM)
    torch.testing.assert_close(tagged.musicnn_embedding(embedding), embedding)  # precomputed: passed through
    with torch.no_grad():
        from_patches = tagged.musicnn_embedding(log_mel_patches(np.stack([reference_signal(10.0)] * 2)))
    expected = musicnn_embedding(load_musicnn(), np.stack([reference_signal(10.0)] * 2))
    np.testing.assert_allclose(from_patches.numpy(), expected, atol=1e-5)



def test_missing_weights_are_one_sentence(tmp_path):
    from sentio_ml.errors import SentioMLError

    with pytest.raises(SentioMLError, match=r"musicnn weights are missing .*--no-musicnn\.$"):
        load_musicnn(tmp_path / "nope.safetensors")
