"""Model input features: AST's Kaldi-style log-mel filterbank, computed fast and batched in torch.

The reference is transformers' `ASTFeatureExtractor` (what the pretrained AST checkpoints were trained
on): 16 kHz mono, 25 ms frames (400 samples) every 10 ms (160), no dither, per-frame DC removal,
pre-emphasis 0.97, a symmetric Hann ("hanning") window, |rfft(512)|², Kaldi mel banks (128 bins,
20 Hz–Nyquist), natural log floored at float32 eps, zero-padded/trimmed to `frames` rows, then
normalised as (x − mean) / (2·std). (Kaldi's own default window is "povey"; AST uses "hanning", and so
do we, to match the reference.) Our version vectorises the frames with `unfold` instead of the
reference's per-frame Python loop; `tests/ml/test_features.py` checks the two agree on real audio.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from sentio_ml.config_io import config_from_dict, config_to_dict

FRAME_LENGTH = 400  # 25 ms at 16 kHz
HOP_LENGTH = 160  # 10 ms at 16 kHz
FFT_LENGTH = 512
PREEMPHASIS = 0.97
MEL_FLOOR = float(np.finfo(np.float32).eps)  # 1.1920929e-07, as the reference
MIN_FREQUENCY = 20.0

# 128 Kaldi bins over 257 FFT bins leave the lowest filter empty, exactly as in AST. A module-level filter
# (not catch_warnings, which is not thread-safe) keeps this harmless warning out of users' output.
warnings.filterwarnings("ignore", message="At least one mel filter has all zero values", category=UserWarning)

AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974


@dataclass(frozen=True)
class FeatureConfig:
    """What a model expects as input; saved in every bundle so checkpoints carry their preprocessing.

    `frames` is the number of 10 ms frames per excerpt (1024 ≈ 10.24 s); `mean`/`std` normalise
    the log-mel values as (x − mean) / (2·std), like the AST feature extractor.
    """

    sample_rate: int = 16000
    num_mel_bins: int = 128
    frames: int = 1024
    mean: float = AUDIOSET_MEAN
    std: float = AUDIOSET_STD

    @property
    def excerpt_seconds(self) -> float:
        """Seconds of audio that give exactly `frames` frames (Kaldi's snip-edges framing)."""
        return (FRAME_LENGTH + (self.frames - 1) * HOP_LENGTH) / self.sample_rate

    @property
    def excerpt_samples(self) -> int:
        return FRAME_LENGTH + (self.frames - 1) * HOP_LENGTH

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureConfig":
        return config_from_dict(cls, data, "feature settings")


def frame_count(num_samples: int) -> int:
    """Frames the Kaldi framing (snip edges) yields for a waveform of `num_samples` samples."""
    return 0 if num_samples < FRAME_LENGTH else 1 + (num_samples - FRAME_LENGTH) // HOP_LENGTH


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float) -> torch.Tensor:
    """Triangular filters evenly spaced on Kaldi's mel scale 1127·ln(1 + f/700), [n_mels, n_fft // 2]: the
    result of torchaudio.compliance.kaldi.get_mel_banks without VTLN warping (float32, as it computes)."""
    def mel_scale(freq: torch.Tensor | float) -> torch.Tensor | float:
        if isinstance(freq, torch.Tensor):
            return 1127.0 * (1.0 + freq / 700.0).log()
        return 1127.0 * math.log(1.0 + freq / 700.0)

    low, high = mel_scale(fmin), mel_scale(fmax)
    delta = (high - low) / (n_mels + 1)
    index = torch.arange(n_mels).unsqueeze(1)
    left, center, right = (low + (index + offset) * delta for offset in (0.0, 1.0, 2.0))
    mel = mel_scale(sample_rate / n_fft * torch.arange(n_fft // 2)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    return torch.clamp(torch.minimum(up, down), min=0.0)


@lru_cache(maxsize=8)
def _mel_filters(num_mel_bins: int, sample_rate: int) -> torch.Tensor:
    """Kaldi mel banks [257, mel] as transformers' AST extractor builds them (its `mel_filter_bank(...,
    mel_scale="kaldi", triangularize_in_mel_space=True)`; the Nyquist bin gets no weight), computed here so
    that prediction never imports transformers (3-4 s of start-up). tests/ml/test_features.py compares both."""
    banks = kaldi_mel_banks(num_mel_bins, FFT_LENGTH, sample_rate, MIN_FREQUENCY, sample_rate / 2).T
    return torch.nn.functional.pad(banks, (0, 0, 0, 1)).contiguous()


@lru_cache(maxsize=2)
def _window() -> torch.Tensor:
    return torch.hann_window(FRAME_LENGTH, periodic=False, dtype=torch.float32)


def _as_batch(waves: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(waves, dtype=torch.float32)
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 2:
        raise ValueError(f"expected waves shaped [samples] or [batch, samples], got {tuple(tensor.shape)}")
    return tensor


def log_mel_fbank(
    waves: np.ndarray | torch.Tensor, sample_rate: int = 16000, num_mel_bins: int = 128
) -> torch.Tensor:
    """Un-normalised, un-padded log-mel fbank of waveforms of any length: [B, T, mel] (or [T, mel] for 1-D).

    T = 1 + (samples − 400) // 160. The training pipeline caches this for whole clips and crops
    windows from it; `compute_fbank` is the fixed-length, normalised version used for excerpts.
    """
    single = torch.as_tensor(waves).ndim == 1
    batch = _as_batch(waves)
    if batch.shape[1] < FRAME_LENGTH:  # shorter than one frame: a single zero-padded frame
        batch = torch.nn.functional.pad(batch, (0, FRAME_LENGTH - batch.shape[1]))
    frames = batch.unfold(1, FRAME_LENGTH, HOP_LENGTH)  # [B, T, 400] (a view)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    emphasised = torch.empty_like(frames)
    emphasised[..., 1:] = frames[..., 1:] - PREEMPHASIS * frames[..., :-1]
    emphasised[..., 0] = frames[..., 0] * (1.0 - PREEMPHASIS)
    spectrum = torch.fft.rfft(emphasised * _window().to(batch.device), n=FFT_LENGTH)
    power = spectrum.real.square() + spectrum.imag.square()
    mel = power @ _mel_filters(num_mel_bins, sample_rate).to(batch.device)
    fbank = torch.log(torch.clamp_min(mel, MEL_FLOOR))
    return fbank[0] if single else fbank


def pad_or_trim(fbank: torch.Tensor, frames: int) -> torch.Tensor:
    """Zero-pad (at the end) or trim the time axis (-2) to `frames`, like the AST extractor."""
    have = fbank.shape[-2]
    if have > frames:
        return fbank[..., :frames, :]
    if have < frames:
        return torch.nn.functional.pad(fbank, (0, 0, 0, frames - have))
    return fbank


def normalize(fbank: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """(x − mean) / (2·std), the AST convention."""
    return (fbank - cfg.mean) / (2.0 * cfg.std)


def compute_fbank(waves: np.ndarray | torch.Tensor, cfg: FeatureConfig | None = None) -> torch.Tensor:
    """Model input for a batch of 16 kHz mono excerpts: normalised fbank [B, cfg.frames, cfg.num_mel_bins]."""
    cfg = cfg or FeatureConfig()
    fbank = log_mel_fbank(_as_batch(waves), cfg.sample_rate, cfg.num_mel_bins)
    return normalize(pad_or_trim(fbank, cfg.frames), cfg)


def reference_fbank(waves: np.ndarray | torch.Tensor, cfg: FeatureConfig | None = None) -> torch.Tensor:
    """The same features from transformers' `ASTFeatureExtractor` (slow; the ground truth for tests)."""
    from transformers import ASTFeatureExtractor

    cfg = cfg or FeatureConfig()
    batch = _as_batch(waves).numpy()
    extractor = ASTFeatureExtractor(
        sampling_rate=cfg.sample_rate,
        num_mel_bins=cfg.num_mel_bins,
        max_length=cfg.frames,
        mean=cfg.mean,
        std=cfg.std,
        do_normalize=True,
    )
    out = extractor(list(batch), sampling_rate=cfg.sample_rate, return_tensors="pt")
    return out["input_values"].float()
