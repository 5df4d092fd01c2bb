"""The 4Q excerpts cache of `distill heads` / `distill probes`: a run that decodes and one that reads the cache see
the same waves, and the cache appears whole or not at all."""
from __future__ import annotations

import numpy as np

from sentio_ml.audio import load_excerpts
from sentio_ml.datasets import Dataset
from sentio_ml.distill.finetune import excerpt_waves
from tests.training.conftest import make_clip


def test_decoding_run_and_cached_run_see_the_same_waves(tmp_path):
    clips = [make_clip(tmp_path / f"c{i}.wav", 0.3 + 0.2 * i, 0.6, seconds=4.0, seed=i) for i in range(2)]
    dataset = Dataset("unit", clips, scale=(1.0, 9.0), folds=[0, 1])
    cache = tmp_path / "cache" / "excerpts.npy"
    cache.parent.mkdir()

    decoded = excerpt_waves(dataset, cache, seconds=1.0, count=3)
    assert cache.is_file() and list(cache.parent.iterdir()) == [cache]  # no partial file left beside it
    cached = excerpt_waves(dataset, cache, seconds=1.0, count=3)

    assert decoded.dtype == np.float32 and decoded.shape == cached.shape == (2, 3, 16000)
    np.testing.assert_array_equal(decoded, cached)
    direct = load_excerpts(clips[1].path, 16000, 1.0, 3).waves
    np.testing.assert_allclose(decoded[1], direct, atol=1 / 32767)
