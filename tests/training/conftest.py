"""Tiny generated clips for training tests: tones and noise whose brightness/tempo follow the labels."""
from __future__ import annotations

from pathlib import Path

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
    return Clip(path, valence, arousal, quadrant_of(valence, arousal), group=path.stem, artist=f"artist-{path.stem}", clip_id=path.stem)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("tiny_clips")
    rng = np.random.default_rng(0)
    clips = [make_clip(root / f"c{i:02d}.wav", *rng.uniform(0.1, 0.9, 2), seed=i) for i in range(20)]
    return Dataset("tiny", clips, scale=(1.0, 9.0), folds=[i % 4 for i in range(20)])
