from __future__ import annotations

import numpy as np
import pytest
import torch

from sentio_ml.audio import decode
from sentio_ml.features import (
    FeatureConfig,
    compute_fbank,
    frame_count,
    log_mel_fbank,
    normalize,
    pad_or_trim,
    reference_fbank,
)
from tests.conftest import FIXTURES, require_shared

# Tolerance vs transformers' ASTFeatureExtractor, in normalised units (values span about −1.5..1.5):
# float32 FFT vs the reference's float64 loop; measured max ≈ 7e-5 on 10 s of real music.
TOLERANCE = 5e-4


@pytest.mark.parametrize("name", ["vibe_ace.wav", "vibe_ace.mp3", "vibe_ace.opus"])
def test_fast_fbank_matches_reference_on_real_audio(name):
    wave = decode(FIXTURES / name, 16000)
    cfg = FeatureConfig(frames=512)  # 5.12 s: pads the 4 s fixture, so the padding is checked too
    fast = compute_fbank(wave[None], cfg)
    ref = reference_fbank(wave[None], cfg)
    assert fast.shape == ref.shape == (1, 512, 128)
    assert (fast - ref).abs().max().item() < TOLERANCE


def test_fast_fbank_matches_reference_on_a_shared_music_batch():
    music = require_shared("music", "Kevin_MacLeod_-_Vibe_Ace.ogg")
    wave = decode(music, 16000, offset=20.0, duration=21.0)
    batch = np.stack([wave[:163840], wave[-163840:]])
    fast, ref = compute_fbank(batch), reference_fbank(batch)
    assert fast.shape == (2, 1024, 128)
    assert (fast - ref).abs().max().item() < TOLERANCE


def test_trimming_silence_and_short_inputs_match_reference():
    cfg = FeatureConfig(frames=200)
    rng = np.random.default_rng(1)
    cases = [np.zeros(32000, np.float32), 0.1 * rng.standard_normal(48000).astype(np.float32)]
    for wave in cases:
        assert (compute_fbank(wave, cfg) - reference_fbank(wave, cfg)).abs().max().item() < TOLERANCE


def test_arbitrary_length_fbank_and_crops():
    wave = decode(FIXTURES / "vibe_ace.flac", 16000)
    full = log_mel_fbank(wave)
    assert full.shape == (frame_count(len(wave)), 128) == (398, 128)
    # a crop of the full-clip fbank equals the fbank of the matching samples (frames are independent)
    crop = log_mel_fbank(wave[160 * 100: 160 * 100 + 400 + 159 * 160])
    torch.testing.assert_close(crop, full[100:260], atol=1e-4, rtol=0)
    cfg = FeatureConfig(frames=256)
    torch.testing.assert_close(normalize(pad_or_trim(full[None], 256), cfg), compute_fbank(wave, cfg))
    assert log_mel_fbank(np.zeros(100, np.float32)).shape == (1, 128)  # shorter than a frame


def test_feature_config_round_trip_and_excerpt_length():
    cfg = FeatureConfig(frames=1024, mean=-3.0, std=2.5)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.excerpt_samples == 400 + 1023 * 160 and frame_count(cfg.excerpt_samples) == 1024
    with pytest.raises(ValueError, match="unknown"):
        FeatureConfig.from_dict({**cfg.to_dict(), "hop": 3})


def test_kaldi_mel_banks_match_transformers():
    """The mel banks are computed without transformers (start-up); they must equal the AST extractor's."""
    from transformers.audio_utils import mel_filter_bank

    from sentio_ml.features import _mel_filters

    expected = mel_filter_bank(num_frequency_bins=257, num_mel_filters=128, min_frequency=20.0, max_frequency=8000,
                               sampling_rate=16000, norm=None, mel_scale="kaldi", triangularize_in_mel_space=True)
    assert np.abs(_mel_filters(128, 16000).numpy() - expected).max() < 5e-5
