"""Compact hand-crafted descriptors computed from the log-mel fbank, and an RBF kernel head on them.

The descriptors mirror a classic music-emotion feature set (MFCC statistics, spectral shape, band
contrast, loudness and dynamics, onset-envelope rhythm) but come from the fbank the model already has,
so they cost milliseconds at inference instead of a librosa pass over the audio. `KernelHead` is a
support-vector regressor fitted with scikit-learn at training time and stored as plain tensors
(standardisation, training rows, dual coefficients, intercepts), so bundles stay pickle-free.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn

NUM_MFCC = 20
CONTRAST_EDGES = (0, 8, 16, 32, 48, 64, 96, 128)  # mel-bin sub-bands for spectral contrast (128 bins)
RHYTHM_LAG_RANGE = (25, 151)  # onset-autocorrelation lags in 10-ms frames: 240–40 BPM
RHYTHM_BINS = 9


def descriptor_count(num_mel_bins: int = 128) -> int:
    contrast = len(CONTRAST_EDGES) - 1
    return 3 * NUM_MFCC + 8 + 2 * contrast + 7 + 4 + RHYTHM_BINS


@lru_cache(maxsize=4)
def _mel_centres(num_mel_bins: int, sample_rate: int) -> torch.Tensor:
    """Centre frequencies (kHz) of Kaldi mel bins from 20 Hz to Nyquist."""
    mel = lambda f: 1127.0 * math.log(1 + f / 700.0)  # noqa: E731
    points = torch.linspace(mel(20.0), mel(sample_rate / 2), num_mel_bins + 2)[1:-1]
    return 0.7 * (torch.exp(points / 1127.0) - 1)


@lru_cache(maxsize=4)
def _dct(num_mel_bins: int, count: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix [mel, count] (log-mel → MFCC)."""
    n = torch.arange(num_mel_bins, dtype=torch.float32)
    k = torch.arange(count, dtype=torch.float32)[:, None]
    basis = torch.cos(math.pi / num_mel_bins * (n + 0.5) * k) * math.sqrt(2.0 / num_mel_bins)
    basis[0] /= math.sqrt(2.0)
    return basis.T.contiguous()


def fbank_descriptors(logmel: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """Descriptors [B, descriptor_count()] of raw (un-normalised) log-mel fbank [B, T, mel]."""
    batch, frames, bins = logmel.shape
    device = logmel.device
    mfcc = logmel @ _dct(bins, NUM_MFCC).to(device)
    power = logmel.exp()
    share = power / (power.sum(-1, keepdim=True) + 1e-10)
    freqs = _mel_centres(bins, sample_rate).to(device)
    centroid = (share * freqs).sum(-1)
    bandwidth = (share * (freqs - centroid[..., None]).square()).sum(-1).sqrt()
    rolloff = freqs[(share.cumsum(-1) < 0.85).sum(-1).clamp(max=bins - 1)]
    flatness = logmel.mean(-1) - torch.log(power.mean(-1) + 1e-10)
    edges = [round(e * bins / 128) for e in CONTRAST_EDGES]
    contrast = torch.stack(
        [torch.quantile(logmel[..., a:b], 0.9, dim=-1) - torch.quantile(logmel[..., a:b], 0.1, dim=-1)
         for a, b in zip(edges[:-1], edges[1:])],
        dim=-1,
    )
    loudness = torch.logsumexp(logmel, dim=-1)
    quantiles = torch.quantile(loudness, torch.tensor([0.1, 0.5, 0.9], device=device), dim=1).T
    flux = (logmel[:, 1:] - logmel[:, :-1]).clamp(min=0).mean(-1)
    centred = flux - flux.mean(1, keepdim=True)
    n = centred.shape[1]
    autocorr = torch.fft.irfft(torch.fft.rfft(centred, n=2 * n).abs().square(), n=2 * n)[:, :n]
    autocorr = autocorr / (autocorr[:, :1] + 1e-6)
    lo, hi = RHYTHM_LAG_RANGE
    lags = autocorr[:, lo:hi] if n > hi else nn.functional.pad(autocorr[:, lo:], (0, hi - max(lo, n)))
    bins_ac = lags.reshape(batch, RHYTHM_BINS, -1).mean(-1)

    def mean_std(x: torch.Tensor) -> list[torch.Tensor]:
        x = x if x.ndim == 3 else x[..., None]
        return [x.mean(1), x.std(1)]

    parts = [
        *mean_std(mfcc), (mfcc[:, 1:] - mfcc[:, :-1]).std(1),
        *mean_std(centroid), *mean_std(bandwidth), *mean_std(rolloff), *mean_std(flatness), *mean_std(contrast),
        loudness.mean(1, keepdim=True), loudness.std(1, keepdim=True), quantiles, (quantiles[:, 2] - quantiles[:, 0])[:, None],
        (loudness < loudness.mean(1, keepdim=True)).float().mean(1, keepdim=True),
        flux.mean(1, keepdim=True), flux.std(1, keepdim=True),
        lags.max(1).values[:, None], (lags.argmax(1).float()[:, None] + lo) / 100,
        bins_ac,
    ]
    return torch.cat(parts, dim=-1)


class KernelHead(nn.Module):
    """RBF support-vector regression for valence and arousal on standardised descriptors.

    pred_d(x) = Σ_i coef[i, d] · exp(−gamma_d ‖z(x) − rows[i]‖²) + intercept[d], z = (x − mean) / scale.
    Rows that are support vectors of neither dimension have zero coefficients. Fitted by
    `sentio_ml.training.kernel.fit_kernel_head`.
    """

    def __init__(self, rows: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("rows", torch.zeros(rows, dim))
        self.register_buffer("coef", torch.zeros(rows, 2))
        self.register_buffer("gamma", torch.ones(2))
        self.register_buffer("intercept", torch.full((2,), 0.5))
        # the model's input normalisation (x − mean) / (2·std), undone before computing descriptors
        self.register_buffer("fbank_mean", torch.zeros(1))
        self.register_buffer("fbank_std", torch.full((1,), 0.5))
        # output calibration of the blended prediction: centre + scale·(x − centre), fitted on validation
        # artists (undoes the shrinkage towards the mean that blending two regressors causes)
        self.register_buffer("out_centre", torch.full((2,), 0.5))
        self.register_buffer("out_scale", torch.ones(2))

    def calibrate(self, prediction: torch.Tensor) -> torch.Tensor:
        return (self.out_centre + self.out_scale * (prediction - self.out_centre)).clamp(0.0, 1.0)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """[B, 2] from normalised fbank [B, T, mel]."""
        return self.regress(fbank_descriptors(feats * (2 * self.fbank_std) + self.fbank_mean))

    def regress(self, descriptors: torch.Tensor) -> torch.Tensor:
        z = (descriptors - self.mean) / self.scale
        dist = torch.cdist(z, self.rows).square()  # [B, rows]
        out = [(torch.exp(-self.gamma[d] * dist) @ self.coef[:, d]) + self.intercept[d] for d in range(2)]
        return torch.stack(out, dim=-1)

