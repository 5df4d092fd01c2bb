"""Quality figures: Fréchet distance, label agreement, and mode collapse that is reported, not hidden."""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg

from sentio_ml.gan import PRESETS, LabelSampler
from sentio_ml.gan.networks import Generator
from sentio_ml.gan.quality import collapse_check, evaluate_quality, frechet_distance, label_agreement
from sentio_ml.gan.source import GanSyntheticSource


def test_frechet_distance_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(400, 6)) * 1.5 + 0.3
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(c1 + c2) - 2 * np.trace(linalg.sqrtm(c1 @ c2).real)
    assert np.isclose(frechet_distance(a, b), expected)
    assert abs(frechet_distance(a, a)) < 1e-8
    assert np.isfinite(frechet_distance(a[:3], b[:3]))  # fewer samples than dimensions is still defined
    assert np.isnan(frechet_distance(a[:1], b))


def test_label_agreement_reports_ccc_and_mae():
    target = np.random.default_rng(1).uniform(size=(50, 2))
    perfect = label_agreement(target, target)
    assert perfect["valence_ccc"] == 1.0 and perfect["arousal_mae"] == 0.0
    constant = label_agreement(np.full_like(target, 0.5), target)
    assert constant["valence_ccc"] == 0.0 and constant["valence_mae"] > 0.1


def test_collapse_check_flags_a_discriminator_that_won_and_a_blown_up_generator():
    healthy = {"d_loss": [1.2, 0.9, 1.1, 0.8] * 10, "g_loss": [0.9, 1.1] * 20}
    assert not collapse_check(healthy, 0.9, 0.5).collapsed
    won = {"d_loss": [1.0] * 10 + [0.0] * 30, "g_loss": [1.0] * 10 + [60.0] * 30}
    check = collapse_check(won, 0.9, 0.5)
    assert check.collapsed and check.d_zero_longest_streak == 30 and check.d_zero_fraction == 0.75
    assert any("discriminator loss was ~0" in r for r in check.reasons)
    assert any("blew up" in r for r in check.reasons)
    assert collapse_check(healthy, 0.2, 0.5).collapsed  # too little diversity
    assert collapse_check(healthy, 0.9, 0.01).collapsed  # noise ignored


def test_a_collapsed_generator_is_reported_as_collapsed():
    config = PRESETS["tiny"].with_updates(output_init_scale=0.0)  # renders the mean spectrum, whatever the noise
    rng = torch.Generator().manual_seed(0)
    real = torch.randn(40, 32, config.mel_bins, generator=rng) * 2 - 5
    labels = torch.rand(40, 2, generator=rng)
    generator = Generator(config, real.mean(dim=(0, 1)), real.std(dim=(0, 1)))
    metrics = evaluate_quality(GanSyntheticSource(generator, LabelSampler(labels)), real, labels)
    assert metrics["diversity_ratio"] < 0.01 and metrics["collapse"]["collapsed"]
    assert "diverse" in " ".join(metrics["collapse"]["reasons"])
    # ... while real data measured against itself is not
    class Replay:  # a "generator" that returns real excerpts (diversity ratio ~1)
        def render(self, wanted, gen):
            return real[torch.randperm(len(real), generator=gen)[: len(wanted)]]

    assert not evaluate_quality(Replay(), real, labels)["collapse"]["collapsed"]
