"""End-to-end fine-tuning of the distilled AST on valence/arousal labels (the "with fine-tuning" variant).

The encoder and a linear layer (started from the ridge head) are trained on every excerpt of the training
clips with the clip's label, under SpecAugment, at a small learning rate. The ridge head and its spread
calibration are then refitted on the fine-tuned embeddings, with the calibration taken from training clips
held out of the fine-tuning (by artist): on clips the encoder was tuned on, predictions would look better
than they are and the spread would be set too narrow.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from sentio_ml.composition import AstPart, LinearHead
from sentio_ml.distill.student import spec_augment
from sentio_ml.evaluation.spread import affine_calibration

CALIBRATION_SHARE = 0.2


def embed_fbank(part: AstPart, fbank: torch.Tensor, batch: int = 64) -> np.ndarray:
    """[clips, 2·hidden]: mean over each clip's excerpts; fbank [clips, excerpts, frames, mel], normalised and
    already pooled in time as the encoder pools (`pooled_fbank`)."""
    flat = fbank.flatten(0, 1)
    with torch.inference_mode():
        rows = [part.encoder(flat[i:i + batch], pooled=True) for i in range(0, len(flat), batch)]
    return torch.cat(rows).reshape(fbank.shape[0], fbank.shape[1], -1).mean(1).numpy()


def as_linear(head: LinearHead) -> nn.Linear:
    """The ridge head as a trainable layer on raw embeddings: weight / std, bias − (mean / std)·weight."""
    linear = nn.Linear(head.weight.shape[0], head.weight.shape[1])
    with torch.no_grad():
        linear.weight.copy_((head.weight / head.std[:, None]).T)
        linear.bias.copy_(head.bias - (head.mean / head.std) @ head.weight)
    return linear


def tune(part: AstPart, fbank: torch.Tensor, labels: np.ndarray, alpha: float, epochs: int, lr: float = 1e-4,
         batch: int = 32, seed: int = 0) -> AstPart:
    """A fine-tuned copy of `part` (its head refitted by ridge afterwards by the caller)."""
    torch.manual_seed(seed)
    tuned = copy.deepcopy(part).train()
    linear = as_linear(LinearHead(tuned.encoder.embedding_dim).fit(embed_fbank(part, fbank), labels, alpha))
    optimizer = torch.optim.AdamW([*tuned.encoder.parameters(), *linear.parameters()], lr=lr, weight_decay=0.05)
    x = fbank.flatten(0, 1)
    y = torch.as_tensor(np.repeat(labels, fbank.shape[1], axis=0), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for first in range(0, len(x), batch):
            rows = order[first:first + batch]
            inputs = spec_augment(x[rows].clone(), generator, time_width=20, freq_width=20)
            loss = nn.functional.mse_loss(linear(tuned.encoder(inputs, pooled=True)), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
            optimizer.step()
    return tuned.eval()


def calibration_split(groups: list[str], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (tune, calibrate): a CALIBRATION_SHARE of the artists held out of the fine-tuning."""
    unique = sorted(set(groups))
    held = set(np.random.default_rng(seed).choice(unique, max(1, int(len(unique) * CALIBRATION_SHARE)), replace=False))
    is_held = np.array([g in held for g in groups])
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def excerpt_fbank(part: AstPart, waves: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """Normalised fbank of every excerpt [clips, excerpts, pooled frames, mel], pooled as the encoder pools
    (the distillation cache's `pooled_fbank`, normalised as the bundle's FeatureConfig does)."""
    from sentio_ml.distill.targets import pooled_fbank

    config = part.encoder.config
    flat = waves.reshape(-1, waves.shape[-1])
    rows = [pooled_fbank(flat[first:first + 64], config.pool_time, config.frames) for first in range(0, len(flat), 64)]
    return ((torch.cat(rows) - mean) / (2 * std)).reshape(waves.shape[0], waves.shape[1], config.pooled_frames, -1)


def tuned_head(part: AstPart, fbank: torch.Tensor, labels: np.ndarray, groups: list[str], alpha: float, epochs: int,
               seed: int = 0) -> tuple[AstPart, np.ndarray, np.ndarray]:
    """(fine-tuned part with its ridge head, offset, scale): tuned on most artists, calibrated on the rest."""
    tune_rows, calibration_rows = calibration_split(groups, seed)
    tuned = tune(part, fbank[tune_rows], labels[tune_rows], alpha, epochs, seed=seed)
    tuned.head.fit(embed_fbank(tuned, fbank[tune_rows]), labels[tune_rows], alpha)
    with torch.inference_mode():
        held = tuned.head(torch.as_tensor(embed_fbank(tuned, fbank[calibration_rows]))).numpy()
    offset, scale = affine_calibration(labels[calibration_rows], held)
    return tuned, offset, scale
