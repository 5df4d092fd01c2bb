"""The GAN inside the training pipeline: per-fold GANs see only the songs the regressor trains on, and
synthetic samples reach training batches only (never validation or test)."""
from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from sentio_ml.datasets import Clip, Dataset, quadrant_of, split_train_validation
from sentio_ml.evaluation.crossval import run_cv
from sentio_ml.gan import PRESETS
from sentio_ml.gan.cli import BundleSourceFactory
from sentio_ml.gan.errors import GanError
from sentio_ml.gan.pipeline import GanFoldFactory, train_gan_bundle
from sentio_ml.model import PRESETS as MODEL_PRESETS
from sentio_ml.training.cache import FeatureCache
from sentio_ml.training.config import TrainConfig
from sentio_ml.training.recipe import model_fit_predict

SR = 16000
GAN = PRESETS["tiny"].with_updates(mel_bins=128)
TRAIN = TrainConfig(preset="tiny", epochs=1, batch_size=4, eval_crops=2, validation_fraction=0.25, patience=0,
                    threads=1, synthetic_ratio=0.5)


def _clip(path: Path, valence: float, arousal: float, seed: int) -> Clip:
    rng = np.random.default_rng(seed)
    t = np.arange(int(3.0 * SR)) / SR
    wave = 0.3 * np.sin(2 * np.pi * 220 * (1 + 2 * valence) * t) + 0.2 * arousal * rng.standard_normal(t.size)
    soundfile.write(path, wave.astype(np.float32), SR)
    return Clip(path, valence, arousal, quadrant_of(valence, arousal), group=path.stem,
                artist=f"artist-{path.stem}", clip_id=path.stem)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("gan_clips")
    rng = np.random.default_rng(1)
    clips = [_clip(root / f"g{i:02d}.wav", *rng.uniform(0.1, 0.9, 2), seed=i) for i in range(12)]
    return Dataset("toy", clips, folds=[i % 3 for i in range(12)])


@pytest.fixture(scope="module")
def cache(dataset, tmp_path_factory) -> FeatureCache:
    cache = FeatureCache(tmp_path_factory.mktemp("gan_cache"))
    assert cache.ensure(dataset.clips) == []
    return cache


class SpySource:
    """Wraps a SyntheticSource and records who asked for how many samples."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[int, set[str]]] = []

    def sample(self, n, generator=None):
        self.calls.append((n, {frame.function for frame in inspect.stack()}))
        return self.inner.sample(n, generator)


def test_cv_gan_sees_training_songs_only_and_synthetic_samples_reach_training_batches_only(dataset, cache, tmp_path):
    factory = GanFoldFactory(GAN, frames=MODEL_PRESETS["tiny"].frames,
                             base_features=MODEL_PRESETS["tiny"].feature_config(), out_dir=tmp_path / "gans")
    spies: dict[int, SpySource] = {}

    def spying_factory(train_clips, feature_cache, fold, seed):
        spies[fold] = SpySource(factory(train_clips, feature_cache, fold, seed))
        return spies[fold]

    result = run_cv(dataset, model_fit_predict(cache, TRAIN, spying_factory), "gan", folds=[1])
    for fold_result in result.folds:
        fold = fold_result.fold
        train_clips, test_clips = dataset.fold_split(fold)
        fit, val = split_train_validation(train_clips, TRAIN.validation_fraction, seed=TRAIN.seed)
        # The GAN was trained on exactly the clips the regressor fits on: no test, no validation song.
        assert sorted(factory.seen_clips[fold]) == sorted(str(c.path) for c in fit)
        assert not set(factory.seen_clips[fold]) & {str(c.path) for c in test_clips + val}
        from sentio_ml.gan.checkpoint import load_gan_bundle

        bundle = load_gan_bundle(tmp_path / "gans" / f"fold_{fold}")
        support = np.array(sorted(map(tuple, bundle.label_sampler.support.numpy().tolist())))
        fit_labels = np.array(sorted((c.valence, c.arousal) for c in fit))
        assert support.shape == fit_labels.shape and np.allclose(support, fit_labels, atol=1e-6)
        assert (tmp_path / "gans" / f"fold_{fold}" / "report" / "report.md").is_file()
        # Synthetic samples were drawn for training batches only: as many as the batches need, never from
        # the validation/test prediction code.
        spy = spies[fold]
        steps = -(-len(fit) // TRAIN.batch_size)
        sizes = [min(TRAIN.batch_size, len(fit) - i * TRAIN.batch_size) for i in range(steps)]
        assert [n for n, _ in spy.calls] == [max(1, round(s * TRAIN.synthetic_ratio)) for s in sizes]
        for _, stack in spy.calls:
            assert "train" in stack and not stack & {"predict_crops", "predict_clips", "predict_as_shipped"}
        # test predictions are exactly the test fold's clips (no synthetic rows)
        assert fold_result.clip_ids == [c.clip_id for c in test_clips]
        assert fold_result.y_pred.shape == (len(test_clips), 2)
    # A second run (e.g. another synthetic ratio) reuses each fold's GAN instead of retraining it.
    train_clips, _ = dataset.fold_split(1)
    fit, _ = split_train_validation(train_clips, TRAIN.validation_fraction, seed=TRAIN.seed)
    factory(fit, cache, 1, TRAIN.seed)
    assert factory.summaries[1]["reused"] is True
    factory(fit[:-1], cache, 1, TRAIN.seed)  # other songs: retrained, never reused
    assert factory.summaries[1]["reused"] is False


def test_a_gan_bundle_that_saw_held_out_songs_is_refused(dataset, cache, tmp_path):
    every_clip = dataset.clips
    train_gan_bundle(every_clip, cache, GAN, render_frames=256, out_dir=tmp_path / "gan-all")
    factory = BundleSourceFactory(tmp_path / "gan-all", 256, MODEL_PRESETS["tiny"].feature_config())
    train_clips, _ = dataset.fold_split(0)
    with pytest.raises(GanError, match=r"trained on 4 song\(s\) this run does not train on"):
        factory(train_clips, cache, 0, 0)
    source = factory(every_clip, cache, -1, 0)  # the final all-data model may use it
    feats, labels = source.sample(3, torch.Generator().manual_seed(0))
    assert feats.shape == (3, 256, 128) and labels.shape == (3, 2)
