"""Conditional generator and projection discriminator for log-mel fbank excerpts [B, frames, mel_bins].

Both are 1-D convolutional networks over time with the mel bins as channels: absolute frequency position
matters in a spectrogram (a 2-D conv is translation-invariant in frequency) and dense 1-D convolutions are
~10x faster than thin 2-D ones on a CPU. They are fully convolutional along time, so the GAN trains on
short crops and renders excerpts of any length. They work in *standardised* units: the generator draws
(x - mean) / std per mel bin and adds the training split's per-bin mean/std back at the end, so it does
not have to learn the average spectral envelope; the discriminator standardises its input the same way.
Labels are continuous (valence, arousal) in [0, 1].
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from sentio_ml.gan.config import GanConfig

LABEL_EMBED_DIM = 32


def _per_bin(values: torch.Tensor | None, bins: int, default: float) -> torch.Tensor:
    return torch.full((bins,), default) if values is None else values.detach().float().reshape(-1).clone()


class _FiLMBlock(nn.Module):
    """Nearest x2 upsampling in time + conv (no transposed-conv checkerboard), per-sample group norm, FiLM
    from the condition vector, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int) -> None:
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.conv = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.norm = nn.GroupNorm(num_groups=min(8, out_ch), num_channels=out_ch, affine=False)
        self.film = nn.Linear(cond_dim, 2 * out_ch)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(self.upsample(x)))
        gamma, beta = self.film(cond).chunk(2, dim=1)
        return torch.relu(x * (1.0 + gamma[:, :, None]) + beta[:, :, None])


class Generator(nn.Module):
    """(global noise [B, z], local noise [B, z, t0], labels [B, 2]) -> fbank [B, frames, mel_bins].

    The global noise and the label condition every block (FiLM); the local noise (one vector per
    base time step, 2**blocks frames) gives the excerpt its variation along time.
    Use `sample_noise(n, frames, generator)` to draw both for a given excerpt length.
    """

    def __init__(self, config: GanConfig, feature_mean: torch.Tensor | None = None,
                 feature_std: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.scale = 2**config.blocks
        width = config.generator_channels
        cond_dim = config.noise_dim + LABEL_EMBED_DIM
        self.label_embed = nn.Sequential(
            nn.Linear(config.label_dim, LABEL_EMBED_DIM), nn.SiLU(), nn.Linear(LABEL_EMBED_DIM, LABEL_EMBED_DIM)
        )
        self.stem = nn.Conv1d(config.noise_dim + cond_dim, width, 3, padding=1)
        self.blocks = nn.ModuleList(_FiLMBlock(width, width, cond_dim) for _ in range(config.blocks))
        self.to_fbank = nn.Conv1d(width, config.mel_bins, 5, padding=2)
        # Small output at initialisation: training starts near the training split's mean spectrum (a
        # plausible excerpt) instead of loud white noise, which matters for short CPU runs.
        with torch.no_grad():
            self.to_fbank.weight.mul_(config.output_init_scale)
            self.to_fbank.bias.zero_()
        self.register_buffer("feature_mean", _per_bin(feature_mean, config.mel_bins, 0.0))
        self.register_buffer("feature_std", _per_bin(feature_std, config.mel_bins, 1.0))

    def base_steps(self, frames: int) -> int:
        return math.ceil(frames / self.scale)

    def sample_noise(self, n: int, frames: int, generator: torch.Generator | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        dim = self.config.noise_dim
        return (torch.randn(n, dim, generator=generator),
                torch.randn(n, dim, self.base_steps(frames), generator=generator))

    def forward(self, noise: torch.Tensor, local_noise: torch.Tensor, labels: torch.Tensor,
                frames: int | None = None) -> torch.Tensor:
        frames = frames or local_noise.shape[2] * self.scale
        cond = torch.cat([noise, self.label_embed(labels)], dim=1)
        steps = local_noise.shape[2]
        x = torch.relu(self.stem(torch.cat([local_noise, cond[:, :, None].expand(-1, -1, steps)], dim=1)))
        for block in self.blocks:
            x = block(x, cond)
        x = self.to_fbank(x)[:, :, :frames].transpose(1, 2)  # [B, frames, mel]
        bound = self.config.output_bound  # soft limit in standard deviations: no runaway frames
        return bound * torch.tanh(x / bound) * self.feature_std + self.feature_mean


class Discriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018), spectral normalisation on every layer.

    score(x, y) = w . h(x) + <embed(y), h(x)>, with h = conv features averaged over time; continuous
    labels are embedded by a small spectrally normalised MLP.
    """

    def __init__(self, config: GanConfig, feature_mean: torch.Tensor | None = None,
                 feature_std: torch.Tensor | None = None) -> None:
        super().__init__()
        width = config.discriminator_channels
        layers: list[nn.Module] = [spectral_norm(nn.Conv1d(config.mel_bins, width, 3, padding=1)), nn.LeakyReLU(0.2)]
        for _ in range(config.blocks):
            layers += [spectral_norm(nn.Conv1d(width, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.linear = spectral_norm(nn.Linear(width, 1))
        # auxiliary (valence, arousal) regressor on the same features (AC-GAN style for continuous labels)
        self.regress = nn.Sequential(spectral_norm(nn.Linear(width, 2)), nn.Sigmoid())
        self.label_embed = nn.Sequential(
            spectral_norm(nn.Linear(config.label_dim, LABEL_EMBED_DIM)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(LABEL_EMBED_DIM, width)),
        )
        self.register_buffer("feature_mean", _per_bin(feature_mean, config.mel_bins, 0.0))
        self.register_buffer("feature_std", _per_bin(feature_std, config.mel_bins, 1.0))

    def forward(self, feats: torch.Tensor, labels: torch.Tensor, with_labels: bool = False):
        """Realism score [B]; with `with_labels`, also the auxiliary label estimate [B, 2]."""
        x = ((feats - self.feature_mean) / self.feature_std).transpose(1, 2)  # [B, mel, frames]
        h = self.features(x).mean(dim=2)
        score = self.linear(h).squeeze(1) + (self.label_embed(labels) * h).sum(dim=1)
        return (score, self.regress(h)) if with_labels else score
