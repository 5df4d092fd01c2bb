"""The quadrant head reproduces scikit-learn's one-vs-rest SVCs, maps probabilities to the plane, is fitted
after training with the audio descriptors, and survives a bundle round trip and the app's Predictor."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sentio_ml.audio_descriptors import AUDIO_DESCRIPTOR_COUNT, audio_descriptors, feature_names
from sentio_ml.bundle import Bundle, load_bundle, save_bundle
from sentio_ml.composition import VIEWS
from sentio_ml.errors import SentioMLError
from sentio_ml.predictor import Predictor
from sentio_ml.training.quadrant import (
    SPREAD_GRID,
    TEMPERATURE_GRID,
    attach_quadrant_head,
    calibrate_temperature,
    fit_quadrant_head,
)


def _blobs(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four noisy clusters in 5-D, one per quadrant, with unit-scale (valence, arousal) labels."""
    rng = np.random.default_rng(seed)
    quadrants = np.arange(n) % 4 + 1
    centres = np.array([[2, 2, 0, 0, 0], [-2, 2, 0, 0, 0], [-2, -2, 0, 0, 0], [2, -2, 0, 0, 0]], dtype=float)
    x = centres[quadrants - 1] + rng.standard_normal((n, 5)) * [1.5, 1.5, 1, 10, 0.1]
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])[quadrants - 1]
    labels = 0.5 + signs * rng.uniform(0.05, 0.4, (n, 2))
    return x, quadrants, labels


def test_quadrant_head_matches_sklearn_one_vs_rest_svcs():
    x, quadrants, labels = _blobs()
    views = [np.array([True, True, True, True, True]), np.array([True, False, True, False, True])]
    head = fit_quadrant_head(x, quadrants, labels, views, c=3.0)
    test = _blobs(20, seed=1)[0]
    got = head.decision(torch.as_tensor(test, dtype=torch.float32)).numpy()
    scaler = StandardScaler().fit(x)
    for v, columns in enumerate(views):
        for k in range(4):
            svc = SVC(C=3.0).fit(scaler.transform(x)[:, columns], (quadrants == k + 1).astype(int))
            np.testing.assert_allclose(got[:, v, k], svc.decision_function(scaler.transform(test)[:, columns]), atol=2e-4)
    # the centroids sit at 0.5 ± the labels' mean spread, and the output is their probability-weighted mean
    spread = np.abs(labels - 0.5).mean(0)
    np.testing.assert_allclose(head.centroids.numpy(), 0.5 + np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * spread, atol=1e-6)
    probs = head.probabilities(torch.as_tensor(test, dtype=torch.float32))
    torch.testing.assert_close(probs.sum(-1), torch.ones(len(test)))
    torch.testing.assert_close(head(torch.as_tensor(test, dtype=torch.float32)), probs @ head.centroids)
    point = head(torch.as_tensor(test, dtype=torch.float32))
    assert torch.equal(point[:, 0] > 0.5, probs[:, [0, 3]].sum(-1) > 0.5)  # valence side = P(Q1) + P(Q4) > 1/2
    assert torch.equal(point[:, 1] > 0.5, probs[:, [0, 1]].sum(-1) > 0.5)  # arousal side = P(Q1) + P(Q2) > 1/2
    # well-separated training points land in their own quadrant
    out = head(torch.as_tensor(x, dtype=torch.float32)).numpy()
    predicted = np.where(out[:, 1] >= 0.5, np.where(out[:, 0] >= 0.5, 1, 2), np.where(out[:, 0] >= 0.5, 4, 3))
    assert (predicted == quadrants).mean() > 0.8


def test_missing_quadrant_and_temperature_calibration():
    x, quadrants, labels = _blobs()
    keep = quadrants != 2  # no Q2 training clips: that class is never chosen
    head = fit_quadrant_head(x[keep], quadrants[keep], labels[keep], [np.ones(5, bool)], c=1.0)
    assert float(head.intercept[0, 1]) == -1.0 and not head.coef[0, :, 1].any()
    assert (head.probabilities(torch.as_tensor(x, dtype=torch.float32)).argmax(-1) != 1).all()
    val, val_quadrants, _ = _blobs(40, seed=2)
    temperature = calibrate_temperature(head, val[:, None, :], val_quadrants)
    assert temperature in TEMPERATURE_GRID and float(head.temperature) == temperature


def test_audio_descriptors_are_the_named_librosa_set():
    assert len(feature_names()) == AUDIO_DESCRIPTOR_COUNT
    t = np.arange(16000 * 2) / 16000
    waves = np.stack([np.zeros_like(t), 0.3 * np.sin(2 * np.pi * 440 * t)]).astype(np.float32)
    d = audio_descriptors(waves, 16000)
    assert d.shape == (2, AUDIO_DESCRIPTOR_COUNT) and np.isfinite(d).all()
    rms = feature_names().index("rms_mean")
    assert d[0, rms] == 0.0 and d[1, rms] > 0.1


def test_attached_head_round_trips_and_predicts_like_training(untrained_tiny, tmp_path):
    t = untrained_tiny
    cache, clips, config, feature_config, model, fit, val = t.cache, t.clips, t.config, t.feature_config, t.model, t.fit, t.val
    combined, info = attach_quadrant_head(model, fit, val, crops=1, c=3.0, weight=0.9, audio=True)
    assert combined.needs_audio and info["rows"] == len(clips) and info["views"] == 2
    assert all(m in SPREAD_GRID for m in info["spread_multiplier"]) and info["temperature"] in TEMPERATURE_GRID
    assert list(cache.cache_dir.glob("audio*-*.npy")), "the audio descriptors are cached next to the fbank"
    feats, audio = val.eval_crops(0, config.frames, 1), val.eval_audio(0, config.frames, 1)
    with torch.no_grad():
        expected = 0.1 * model(feats) + 0.9 * combined.quadrant(combined.quadrant_descriptors(feats, audio))
        torch.testing.assert_close(combined(feats, audio), expected)
    with pytest.raises(SentioMLError, match="audio descriptors"):
        combined(feats)

    bundle_dir = save_bundle(Bundle.from_model(combined, features=feature_config, excerpts=1,
                                               excerpt_seconds=config.frames / 100), tmp_path / "bundle")
    loaded = load_bundle(bundle_dir)
    assert loaded.model_config.quadrant_rows == len(clips)
    assert loaded.model.parts["quadrant"].views == ("fbank_descriptors", "audio_descriptors")
    descriptors = VIEWS["fbank_descriptors"].compute(None, loaded.feature_config, {"fbank": feats})
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(fbank=feats, fbank_descriptors=descriptors, audio_descriptors=audio),
                                   combined(feats, audio))
    # the app's Predictor computes the same audio descriptors from the file and gets a point on the plane
    track = Predictor(loaded, precision="fp32", batch_size=4).predict([clips[0].path])[0]
    assert track.ok and 0.0 <= track.valence <= 1.0 and 0.0 <= track.arousal <= 1.0


@pytest.mark.parametrize("patches", [3, 1])
def test_musicnn_view_is_a_third_view_cached_and_fed_by_the_predictor(untrained_tiny, tmp_path, patches, monkeypatch):
    from sentio_ml.musicnn import EMBEDDING_DIM, load_musicnn

    t = untrained_tiny
    combined, info = attach_quadrant_head(t.model, t.fit, t.val, crops=1, c=3.0, weight=0.9, audio=True, musicnn=patches)
    assert combined.needs_musicnn and combined.config.musicnn and combined.config.musicnn_patches == patches
    assert info["views"] == 3 and int(combined.quadrant.columns[2].sum()) == EMBEDDING_DIM  # the last columns
    assert list(t.cache.cache_dir.glob(f"musicnn*p{patches}-*.npy")), "the embeddings are cached next to the fbank"
    torch.testing.assert_close(combined.musicnn.dense.weight, load_musicnn().dense.weight)
    feats, audio, musicnn_input = (t.val.eval_crops(0, t.config.frames, 1), t.val.eval_audio(0, t.config.frames, 1),
                            t.val.eval_musicnn(0, t.config.frames, 1, patches))
    with pytest.raises(SentioMLError, match="musicnn"):
        combined(feats, audio)
    bundle_dir = save_bundle(Bundle.from_model(combined, features=t.feature_config, excerpts=1,
                                               excerpt_seconds=t.config.frames / 100), tmp_path / "bundle")
    loaded = load_bundle(bundle_dir)
    view = f"musicnn{patches}"
    assert loaded.model.parts["quadrant"].views == ("fbank_descriptors", "audio_descriptors", view)
    descriptors = VIEWS["fbank_descriptors"].compute(None, loaded.feature_config, {"fbank": feats})
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.model(fbank=feats, fbank_descriptors=descriptors, audio_descriptors=audio, **{view: musicnn_input}),
            combined(feats, audio, musicnn_input))
    # the Predictor computes the musicnn view on its own threads, beside the librosa descriptors
    import dataclasses
    import threading

    musicnn_threads = []
    real = VIEWS[view]
    monkeypatch.setitem(VIEWS, view, dataclasses.replace(real, compute=lambda *a: musicnn_threads.append(
        threading.current_thread().name) or real.compute(*a)))
    track = Predictor(loaded, precision="fp32", batch_size=4).predict([t.clips[0].path])[0]
    assert track.ok and 0.0 <= track.valence <= 1.0 and 0.0 <= track.arousal <= 1.0
    assert len(musicnn_threads) == 1 and musicnn_threads[0].startswith("sentio-views")
