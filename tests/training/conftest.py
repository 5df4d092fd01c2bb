"""Tiny generated clips for training tests: tones and noise whose brightness/tempo follow the labels."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from sentio_ml.datasets import Clip, Dataset, quadrant_of

SR = 16000


def make_clip(path: Path, valence: float, arousal: float, seconds: float = 3.2, seed: int = 0) -> Clip:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = 220 * (1 + 2 * valence)
    pulse = (np.sin(2 * np.pi * (1 + 6 * arousal) * t) > 0).astype(np.float32)
    wave = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.2 * arousal * pulse * rng.standard_normal(t.size)
    soundfile.write(path, wave.astype(np.float32), SR)
    return Clip(path, valence, arousal, quadrant_of(valence, arousal),
                group=path.stem, artist=f"artist-{path.stem}", clip_id=path.stem)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("tiny_clips")
    rng = np.random.default_rng(0)
    clips = [make_clip(root / f"c{i:02d}.wav", *rng.uniform(0.1, 0.9, 2), seed=i) for i in range(20)]
    return Dataset("tiny", clips, scale=(1.0, 9.0), folds=[i % 4 for i in range(20)])


@pytest.fixture
def untrained_tiny(tiny_dataset, tmp_path) -> SimpleNamespace:
    """An untrained `tiny` model with its fit / validation crops (first 14 / last 6 clips), normalised on the fit
    clips: what the post-training heads (kernel, quadrant) are attached to in their tests."""
    from sentio_ml.model import PRESETS, build_model
    from sentio_ml.training.batches import ClipCrops
    from sentio_ml.training.cache import FeatureCache, fit_normalisation

    cache = FeatureCache(tmp_path / "cache")
    clips = tiny_dataset.clips
    config = PRESETS["tiny"]
    feature_config = fit_normalisation(cache, clips[:14], config.feature_config())
    return SimpleNamespace(
        cache=cache, clips=clips, config=config, feature_config=feature_config, model=build_model(config).eval(),
        fit=ClipCrops(clips[:14], cache, feature_config), val=ClipCrops(clips[14:], cache, feature_config),
    )
