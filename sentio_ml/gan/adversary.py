"""The self-contained adversary: discriminator, its optimiser and its update step in one object.

The GAN loop only handles the generator: it calls `adversary.step(real, fake, labels)` to train the
discriminator and `adversary.generator_loss(fake, labels)` for the generator's objective
(pattern from audiocraft's adversarial losses).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from sentio_ml.gan.config import GanConfig
from sentio_ml.gan.networks import Discriminator


@dataclass(frozen=True)
class DiscriminatorStats:
    loss: float  # the adversarial part of the objective (hinge / Wasserstein), what collapse checks watch
    real_score: float  # mean D(real, y)
    fake_score: float  # mean D(fake, y)
    penalty: float  # R1 term (0 when off)
    label_loss: float  # auxiliary label regression MSE on real excerpts (0 when off)


class Adversary:
    """Hinge (default) or Wasserstein objective with a spectrally normalised projection discriminator,
    plus an auxiliary label regression (fit on real excerpts; the generator must make its fakes match their
    conditioning labels in the discriminator's eyes)."""

    def __init__(self, discriminator: Discriminator, config: GanConfig) -> None:
        self.discriminator = discriminator
        self.config = config
        self.optimizer = torch.optim.Adam(
            discriminator.parameters(), lr=config.discriminator_lr, betas=tuple(config.betas)
        )

    def _real_fake_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "hinge":
            return torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()
        return fake_scores.mean() - real_scores.mean()  # wasserstein

    def step(self, real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor,
             fake_labels: torch.Tensor) -> DiscriminatorStats:
        """One discriminator update on a real batch and a (detached) fake batch."""
        self.discriminator.train()
        self.discriminator.requires_grad_(True)
        use_r1 = self.config.r1_gamma > 0
        real = real.detach().requires_grad_(use_r1)
        real_scores, real_estimate = self.discriminator(real, real_labels, with_labels=True)
        fake_scores = self.discriminator(fake.detach(), fake_labels)
        adversarial = self._real_fake_loss(real_scores, fake_scores)
        label_loss = torch.nn.functional.mse_loss(real_estimate, real_labels)
        loss = adversarial + self.config.label_loss * label_loss
        penalty = torch.zeros(())
        if use_r1:
            (grad,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
            penalty = 0.5 * self.config.r1_gamma * grad.pow(2).flatten(1).sum(1).mean()
            loss = loss + penalty
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return DiscriminatorStats(
            loss=float(adversarial.detach()), real_score=float(real_scores.detach().mean()),
            fake_score=float(fake_scores.detach().mean()), penalty=float(penalty.detach()),
            label_loss=float(label_loss.detach()),
        )

    def generator_loss(self, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The generator's objective on its fakes; gradients reach the generator only."""
        self.discriminator.requires_grad_(False)
        try:
            scores, estimate = self.discriminator(fake, labels, with_labels=True)
            loss = -scores.mean()
            if self.config.label_loss > 0:  # the fakes must carry their conditioning labels
                loss = loss + self.config.label_loss * torch.nn.functional.mse_loss(estimate, labels)
            return loss
        finally:
            self.discriminator.requires_grad_(True)

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}
