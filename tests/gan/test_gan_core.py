"""The GAN on tensors: shapes, conditioning, a few finite training steps, labels from the KDE, bundles."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from sentio_ml.errors import BundleError, SentioMLError
from sentio_ml.gan import PRESETS, GanConfig, GanError, LabelSampler, train_gan
from sentio_ml.gan.adversary import Adversary
from sentio_ml.gan.checkpoint import bundle_from_run, load_gan_bundle, save_gan_bundle
from sentio_ml.gan.config import resolve_config
from sentio_ml.gan.networks import Discriminator, Generator

TINY = PRESETS["tiny"]  # 32-frame crops, 16 mel bins, 3 steps


def _toy_data(n: int = 12, frames: int = 40, bins: int = 16, seed: int = 0):
    """Excerpts whose brightness follows valence and loudness follows arousal (so labels are learnable)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.rand(n, 2, generator=gen)
    ramp = torch.linspace(-1, 1, bins)
    feats = (labels[:, :1, None] * ramp + 3 * labels[:, 1:, None] - 8).expand(n, frames, bins)
    return feats + 0.3 * torch.randn(n, frames, bins, generator=gen), labels


def test_generator_renders_any_length_and_discriminator_scores_pairs():
    torch.manual_seed(0)
    g, d = Generator(TINY), Discriminator(TINY)
    labels = torch.rand(3, 2)
    for frames in (32, 45, 100):  # fully convolutional in time: the crop length is not a limit
        out = g(*g.sample_noise(3, frames), labels, frames)
        assert out.shape == (3, frames, TINY.mel_bins)
        assert d(out, labels).shape == (3,)


def test_generator_and_discriminator_depend_on_the_condition():
    torch.manual_seed(0)
    config = TINY.with_updates(output_init_scale=1.0)
    g, d = Generator(config), Discriminator(config)
    for block in g.blocks:  # FiLM starts as identity; give it weights so the label path is exercised
        torch.nn.init.normal_(block.film.weight, std=0.5)
    noise = g.sample_noise(1, 32)
    happy = g(*noise, torch.tensor([[0.9, 0.9]]), 32)
    sad = g(*noise, torch.tensor([[0.1, 0.1]]), 32)
    assert not torch.allclose(happy, sad)
    x = torch.randn(1, 32, config.mel_bins)
    assert not torch.allclose(d(x, torch.tensor([[0.9, 0.9]])), d(x, torch.tensor([[0.1, 0.1]])))


def test_adversary_step_updates_only_the_discriminator():
    torch.manual_seed(0)
    g, d = Generator(TINY), Discriminator(TINY)
    adversary = Adversary(d, TINY)
    labels = torch.rand(4, 2)
    real = torch.randn(4, 32, TINY.mel_bins)
    fake = g(*g.sample_noise(4, 32), labels, 32)
    before = [p.detach().clone() for p in d.parameters()]
    stats = adversary.step(real, labels, fake, labels)
    assert np.isfinite(stats.loss) and stats.loss >= 0  # hinge loss is non-negative
    assert any(not torch.equal(a, b) for a, b in zip(before, d.parameters()))
    assert all(p.grad is None for p in g.parameters())  # fakes were detached
    d_grads = [p.grad.clone() for p in d.parameters()]
    loss = adversary.generator_loss(fake, labels)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert all(torch.equal(a, p.grad) for a, p in zip(d_grads, d.parameters()))  # G's loss leaves D alone


def test_tiny_run_trains_a_few_finite_steps_with_grids_per_epoch():
    feats, labels = _toy_data()
    config = TINY.with_updates(epochs=2, max_steps=0, batch_size=4)  # 12 clips / 4 = 3 steps per epoch
    progress = []
    run = train_gan(feats, labels, config, progress=progress.append)
    assert len(run.history["g_loss"]) == 6 and progress[-1].step == progress[-1].total_steps == 6
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert all(np.isfinite(run.history[key]))
    assert [e["epoch"] for e in run.epochs] == [1, 2]
    assert len(run.grids) == 2 and run.grids[0].shape == (4, 32, 16)  # 2 labels x 2 noise vectors
    assert run.grid_labels.shape == (4, 2)
    x, y = run.source(frames=50).sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 50, 16) and y.shape == (5, 2) and torch.isfinite(x).all()


def test_training_is_reproducible_and_cancellable():
    feats, labels = _toy_data()
    a = train_gan(feats, labels, TINY)
    b = train_gan(feats, labels, TINY)
    assert a.history == b.history
    cancel = threading.Event()
    cancel.set()
    run = train_gan(feats, labels, TINY.with_updates(max_steps=50), cancel=cancel)
    assert run.cancelled and len(run.history["g_loss"]) == 1 and len(run.epochs) == 1


def test_bad_inputs_are_one_clear_error():
    feats, labels = _toy_data()
    with pytest.raises(GanError, match="shape"):
        train_gan(feats[:, :, :8], labels, TINY)
    with pytest.raises(GanError, match="labels"):
        train_gan(feats, labels[:5], TINY)
    with pytest.raises(GanError, match="at least 2"):
        train_gan(feats[:1], labels[:1], TINY)
    with pytest.raises(GanError, match="loss must be"):
        GanConfig(loss="minimax")
    with pytest.raises(SentioMLError, match="neither a preset"):
        resolve_config("no-such-recipe")


def test_labels_come_from_the_training_distribution_not_the_whole_plane():
    gen = torch.Generator().manual_seed(0)
    corner = 0.85 + 0.03 * torch.randn(200, 2, generator=gen)  # happy + energetic songs only
    sampler = LabelSampler(corner.clamp(0, 1))
    drawn = sampler.sample(2000, torch.Generator().manual_seed(1))
    assert drawn.min() >= 0 and drawn.max() <= 1
    assert (drawn > 0.6).all(dim=1).float().mean() > 0.99  # a uniform draw would give ~16 %
    assert drawn.mean(0).sub(corner.mean(0)).abs().max() < 0.03
    again = sampler.sample(2000, torch.Generator().manual_seed(1))
    assert torch.equal(drawn, again)
    assert LabelSampler(torch.full((5, 2), 0.5)).sample(10).shape == (10, 2)  # degenerate labels still work


def test_bundle_round_trip_and_corrupt_bundles(tmp_path):
    feats, labels = _toy_data()
    run = train_gan(feats, labels, TINY)
    bundle = bundle_from_run(run, render_frames=40, training_data={"dataset": "toy"})
    save_gan_bundle(bundle, tmp_path / "gan")
    assert sorted(p.name for p in (tmp_path / "gan").iterdir()) == [
        "MODEL_CARD.md", "config.json", "generator.safetensors", "history.json", "metrics.json"]
    loaded = load_gan_bundle(tmp_path / "gan")
    a = bundle.source().sample(4, torch.Generator().manual_seed(3))
    b = loaded.source().sample(4, torch.Generator().manual_seed(3))
    assert a[0].shape == (4, 40, 16) and torch.allclose(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(loaded.label_sampler.support, labels)
    assert "augmentation only" in loaded.card

    with pytest.raises(BundleError, match="does not exist"):
        load_gan_bundle(tmp_path / "missing")
    (tmp_path / "gan" / "generator.safetensors").write_bytes(b"garbage")
    with pytest.raises(BundleError, match="corrupt"):
        load_gan_bundle(tmp_path / "gan")
    config = json.loads((tmp_path / "gan" / "config.json").read_text())
    (tmp_path / "gan" / "config.json").write_text(json.dumps({**config, "format": "sentio-model-bundle"}))
    with pytest.raises(BundleError, match="not a Sentio GAN bundle"):
        load_gan_bundle(tmp_path / "gan")


def test_source_applies_the_regressors_normalisation():
    from sentio_ml.features import FeatureConfig

    feats, labels = _toy_data()
    run = train_gan(feats, labels, TINY)
    cfg = FeatureConfig(num_mel_bins=16, frames=40, mean=-6.0, std=2.0)
    raw = run.source(frames=40).render(labels[:3], torch.Generator().manual_seed(0))
    normalised = run.source(frames=40, feature_config=cfg).render(labels[:3], torch.Generator().manual_seed(0))
    assert torch.allclose(normalised, (raw + 6.0) / 4.0, atol=1e-5)
