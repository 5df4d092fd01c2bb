"""Synthetic conditioning labels drawn from the *training* label distribution (a Gaussian KDE).

Drawing (valence, arousal) uniformly over the plane would ask the generator for moods the training
songs never had (and skew the regressor towards the corners); a kernel density estimate fitted on the
training split's labels reproduces where the labelled music actually lies, smoothed a little.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from scipy.stats import gaussian_kde

from sentio_ml.gan.errors import GanError

_FALLBACK_BANDWIDTH = 0.02  # when the labels are degenerate (all equal / collinear)


class LabelSampler:
    """Gaussian KDE (scipy's Scott bandwidth) over training labels [N, 2] on the unit scale.

    Sampling uses a torch.Generator (pick a training label, add kernel noise, reflect into [0, 1]) so
    the draws are reproducible alongside the generator's noise.
    """

    def __init__(self, support: torch.Tensor | np.ndarray, covariance: np.ndarray | None = None) -> None:
        support = torch.as_tensor(np.asarray(support, dtype=np.float32))
        if support.ndim != 2 or support.shape[1] != 2 or support.shape[0] < 1:
            raise GanError("Training labels for the GAN must be an array of shape [N, 2] with N >= 1.")
        if not torch.isfinite(support).all():
            raise GanError("Training labels for the GAN contain NaN or infinite values.")
        self.support = support
        if covariance is None:
            covariance = self._fit_covariance(support.numpy())
        self.covariance = np.asarray(covariance, dtype=np.float64).reshape(2, 2)
        self._cholesky = torch.as_tensor(linalg.cholesky(self.covariance, lower=True), dtype=torch.float32)

    @staticmethod
    def _fit_covariance(points: np.ndarray) -> np.ndarray:
        fallback = np.eye(2) * _FALLBACK_BANDWIDTH**2
        if points.shape[0] < 3:
            return fallback
        try:
            kde = gaussian_kde(points.T.astype(np.float64))
            covariance = np.asarray(kde.covariance)
            linalg.cholesky(covariance, lower=True)
            return covariance
        except (linalg.LinAlgError, ValueError):
            return fallback

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n labels [n, 2] in [0, 1]."""
        index = torch.randint(self.support.shape[0], (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator) @ self._cholesky.T
        labels = self.support[index] + noise
        labels = 1.0 - (1.0 - labels.abs()).abs()  # reflect at 0 and 1 (keeps the density near the edges)
        return labels.clamp(0.0, 1.0)

    def to_dict(self) -> dict:
        return {"covariance": self.covariance.tolist(), "points": int(self.support.shape[0])}
