"""`SyntheticSource` implementation: the training loop asks for n synthetic (excerpt, label) pairs.

Contract (docs/internals.md): `sample(n, generator) -> (feats [n, T, M], labels [n, 2])`, labels on the
[0, 1] unit scale drawn from the training label distribution, feats in the model's normalised fbank input
format with T = the training crop length. The training loop uses it for training batches only.
The GAN itself lives in raw log-mel units (the feature cache's format); this class applies the
regressor's normalisation, (x - mean) / (2 std) of its FeatureConfig.
"""
from __future__ import annotations

import torch

from sentio_ml.gan.labels import LabelSampler
from sentio_ml.gan.networks import Generator


class GanSyntheticSource:
    """Draws labels from the training-label KDE and renders them with the (EMA) generator."""

    def __init__(self, generator: Generator, label_sampler: LabelSampler, *, frames: int | None = None,
                 feature_config=None, chunk: int = 32) -> None:
        self.generator = generator.eval()
        self.label_sampler = label_sampler
        self.frames = int(frames or generator.config.frames)
        self.feature_config = feature_config  # a sentio_ml.features.FeatureConfig, or None for raw log-mel
        self.chunk = chunk

    @property
    def mel_bins(self) -> int:
        return self.generator.config.mel_bins

    def normalise(self, fbank: torch.Tensor) -> torch.Tensor:
        cfg = self.feature_config
        return fbank if cfg is None else (fbank - cfg.mean) / (2.0 * cfg.std)

    @torch.no_grad()
    def render(self, labels: torch.Tensor, generator: torch.Generator | None = None,
               normalised: bool = True) -> torch.Tensor:
        """Excerpts [n, frames, mel] for given labels [n, 2] (noise drawn from `generator`)."""
        labels = torch.as_tensor(labels, dtype=torch.float32).clamp(0.0, 1.0)
        parts = []
        for chunk in labels.split(self.chunk):
            noise, local = self.generator.sample_noise(len(chunk), self.frames, generator)
            parts.append(self.generator(noise, local, chunk, self.frames))
        out = torch.cat(parts) if parts else torch.zeros(0, self.frames, self.mel_bins)
        return self.normalise(out) if normalised else out

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        labels = self.label_sampler.sample(n, generator)
        return self.render(labels, generator), labels
