"""How good are the synthetic excerpts? Fréchet distance, label fidelity, diversity and mode collapse.

- Fréchet distance (FD) between real and synthetic excerpts in the regressor's embedding space
  (`MoodRegressor.embed`), next to the FD between two halves of the real data as the noise floor.
- Label fidelity: a regressor trained on real data predicts the synthetic samples; CCC/MAE against the
  labels the generator was conditioned on (and, for scale, the same regressor on real excerpts).
- Mode collapse is *reported*: diversity of synthetic vs real batches, diversity across noise at a fixed
  label, and discriminator-loss-at-zero streaks / generator-loss blow-ups in the training history.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import torch
from sklearn.metrics import mean_absolute_error

# Thresholds for the collapse verdict (documented in docs/gan.md).
MIN_DIVERSITY_RATIO = 0.5  # synthetic pairwise diversity / real pairwise diversity
MIN_NOISE_DIVERSITY_RATIO = 0.1  # diversity across noise at one label / real pairwise diversity
D_ZERO_LOSS = 0.01  # hinge discriminator loss below this = discriminator wins outright
MAX_D_ZERO_FRACTION = 0.2
MAX_G_LOSS = 10.0


class Regressor(Protocol):
    def __call__(self, feats: torch.Tensor) -> torch.Tensor: ...
    def embed(self, feats: torch.Tensor) -> torch.Tensor: ...


def pairwise_diversity(x: torch.Tensor) -> torch.Tensor:
    """Mean pairwise RMS distance between the rows of x [N, ...] (0 when all rows are identical)."""
    flat = x.reshape(x.shape[0], -1).float()
    if flat.shape[0] < 2:
        return torch.zeros(())
    dist = torch.cdist(flat, flat) / flat.shape[1] ** 0.5
    n = flat.shape[0]
    return dist.sum() / (n * (n - 1))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets [N, D] (NaN with < 2 samples).

    tr(sqrt(C1 C2)) is computed as the sum of sqrt(eigenvalues) of sqrt(C1) C2 sqrt(C1), which is
    symmetric PSD, so rank-deficient covariances (fewer samples than dimensions) stay well defined.
    """
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if len(real) < 2 or len(fake) < 2:
        return float("nan")
    mu1, mu2 = real.mean(0), fake.mean(0)
    cov1, cov2 = np.atleast_2d(np.cov(real, rowvar=False)), np.atleast_2d(np.cov(fake, rowvar=False))
    root = _psd_sqrt(cov1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ cov2 @ root), 0.0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2.0 * cross)


def concordance(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    cov = ((y_true - y_true.mean()) * (y_pred - y_pred.mean())).mean()
    denom = y_true.var() + y_pred.var() + (y_true.mean() - y_pred.mean()) ** 2
    return float(2.0 * cov / denom) if denom > 0 else 0.0


def label_agreement(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """CCC and MAE per dimension between predicted and target (valence, arousal) [N, 2]."""
    out = {}
    for i, name in enumerate(("valence", "arousal")):
        out[f"{name}_ccc"] = concordance(target[:, i], predicted[:, i])
        out[f"{name}_mae"] = float(mean_absolute_error(target[:, i], predicted[:, i]))
    return out


@torch.no_grad()
def run_regressor(regressor: Regressor, feats: torch.Tensor, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(predictions [N, 2], embeddings [N, D]) in batches, eval mode."""
    was_training = getattr(regressor, "training", False)
    if hasattr(regressor, "eval"):
        regressor.eval()
    preds, embs = [], []
    try:
        for chunk in feats.split(batch):
            preds.append(regressor(chunk).float())
            embs.append(regressor.embed(chunk).float())
    finally:
        if was_training:
            regressor.train()
    return torch.cat(preds).numpy(), torch.cat(embs).numpy()


@dataclass
class CollapseCheck:
    collapsed: bool
    reasons: list[str] = field(default_factory=list)
    diversity_ratio: float | None = None
    noise_diversity_ratio: float | None = None
    d_zero_longest_streak: int = 0
    d_zero_fraction: float = 0.0
    final_g_loss: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def collapse_check(history: dict[str, list[float]] | None, diversity_ratio: float | None,
                   noise_diversity_ratio: float | None, loss: str = "hinge") -> CollapseCheck:
    """Flag mode collapse / a discriminator that won outright; never silently passes a bad run."""
    check = CollapseCheck(collapsed=False, diversity_ratio=diversity_ratio,
                          noise_diversity_ratio=noise_diversity_ratio)
    if diversity_ratio is not None and diversity_ratio < MIN_DIVERSITY_RATIO:
        check.reasons.append(
            f"synthetic excerpts are {diversity_ratio:.2f}x as diverse as real ones (< {MIN_DIVERSITY_RATIO})")
    if noise_diversity_ratio is not None and noise_diversity_ratio < MIN_NOISE_DIVERSITY_RATIO:
        check.reasons.append(
            f"the noise barely changes the output at a fixed label ({noise_diversity_ratio:.3f} < "
            f"{MIN_NOISE_DIVERSITY_RATIO})")
    if history and history.get("d_loss"):
        d_loss = history["d_loss"]
        if loss == "hinge":
            streak = longest = 0
            for value in d_loss:
                streak = streak + 1 if value < D_ZERO_LOSS else 0
                longest = max(longest, streak)
            check.d_zero_longest_streak = longest
            check.d_zero_fraction = sum(v < D_ZERO_LOSS for v in d_loss) / len(d_loss)
            if check.d_zero_fraction > MAX_D_ZERO_FRACTION:
                check.reasons.append(
                    f"discriminator loss was ~0 on {check.d_zero_fraction:.0%} of steps "
                    f"(longest streak {longest})")
        tail = history["g_loss"][-max(1, len(d_loss) // 10):]
        check.final_g_loss = float(np.mean(tail))
        if loss == "hinge" and check.final_g_loss > MAX_G_LOSS:
            check.reasons.append(f"generator loss blew up to {check.final_g_loss:.1f}")
    check.collapsed = bool(check.reasons)
    return check


def evaluate_quality(source, real_feats: torch.Tensor, real_labels: torch.Tensor, *,
                     regressor: Regressor | None = None, history: dict[str, list[float]] | None = None,
                     loss: str = "hinge", noise_per_label: int = 8, max_samples: int = 160,
                     seed: int = 0) -> dict:
    """All quality figures for a SyntheticSource against real excerpts [N, T, M] with labels [N, 2].

    `real_feats` are in the source's output units (the regressor's normalised input when the source has a
    FeatureConfig). Synthetic samples are conditioned on the real excerpts' own labels, so FD compares
    like with like. Diversity is measured after standardising every mel bin with the real statistics.
    """
    gen = torch.Generator().manual_seed(seed)
    real_labels = torch.as_tensor(real_labels, dtype=torch.float32)
    real_feats = torch.as_tensor(real_feats, dtype=torch.float32)
    if len(real_labels) > max_samples:  # a fixed random subset keeps the report cheap on a CPU
        keep = torch.randperm(len(real_labels), generator=gen)[:max_samples]
        real_feats, real_labels = real_feats[keep], real_labels[keep]
    fake = source.render(real_labels, gen)
    mean = real_feats.mean(dim=(0, 1))
    std = real_feats.std(dim=(0, 1))
    std = std.clamp_min(0.1 * float(std.median()) + 1e-8)  # constant bins (e.g. AST's empty lowest mel filter)
    real_z, fake_z = (real_feats - mean) / std, (fake - mean) / std
    real_div = float(pairwise_diversity(real_z))
    diversity_ratio = float(pairwise_diversity(fake_z)) / max(real_div, 1e-8)
    # Diversity across noise at fixed labels (a handful of training labels, several noise draws each).
    probe = real_labels[torch.randperm(len(real_labels), generator=gen)[:4]]
    noise_div = []
    for label in probe:
        group = source.render(label.expand(noise_per_label, 2), gen)
        noise_div.append(float(pairwise_diversity((group - mean) / std)))
    noise_ratio = float(np.mean(noise_div)) / max(real_div, 1e-8)
    metrics: dict = {
        "samples": int(len(real_labels)),
        "diversity_ratio": diversity_ratio,
        "noise_diversity_ratio": noise_ratio,
        "feature_mean_abs_error": float((fake.mean(dim=(0, 1)) - real_feats.mean(dim=(0, 1))).abs().mean()),
    }
    if regressor is not None:
        real_pred, real_emb = run_regressor(regressor, real_feats)
        fake_pred, fake_emb = run_regressor(regressor, fake)
        half = len(real_emb) // 2
        metrics["frechet_distance"] = frechet_distance(real_emb, fake_emb)
        metrics["frechet_distance_half"] = frechet_distance(real_emb[:half], fake_emb[half:])
        metrics["frechet_distance_real_halves"] = frechet_distance(real_emb[:half], real_emb[half:])
        metrics["label_fidelity"] = label_agreement(fake_pred, real_labels.numpy())
        metrics["real_reference"] = label_agreement(real_pred, real_labels.numpy())
    metrics["collapse"] = collapse_check(history, diversity_ratio, noise_ratio, loss).to_dict()
    return metrics
