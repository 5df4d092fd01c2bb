"""The hybrid's kernel head reproduces scikit-learn's SVR exactly and survives a bundle round trip."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from sentio_ml.bundle import Bundle, load_bundle, save_bundle
from sentio_ml.composition import VIEWS
from sentio_ml.descriptors import descriptor_count, fbank_descriptors
from sentio_ml.training.kernel import attach_kernel_head, fit_kernel_head


def test_kernel_head_matches_sklearn_svr():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6)) * [1, 5, 0.1, 2, 1, 1] + 3
    y = np.stack([np.tanh(x[:, 0]) * 0.3 + 0.5, 0.5 + 0.05 * x[:, 1]], axis=1)
    head = fit_kernel_head(x, y, c=1.0, epsilon=0.02)
    test = rng.standard_normal((10, 6)) + 3
    for d in range(2):
        expected = make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.02)).fit(x, y[:, d]).predict(test)
        got = head.regress(torch.as_tensor(test, dtype=torch.float32))[:, d].numpy()
        np.testing.assert_allclose(got, expected, atol=2e-4)


def test_descriptors_shape_and_meaning():
    t = torch.arange(1024, dtype=torch.float32)
    quiet = torch.full((1, 1024, 128), -8.0)
    loud = quiet + 3.0
    beat = quiet.clone()
    beat[0, (t % 50) < 3] += 4.0  # an onset every 0.5 s = 120 BPM
    d = fbank_descriptors(torch.cat([quiet, loud, beat]))
    assert d.shape == (3, descriptor_count()) and torch.isfinite(d).all()
    loudness_mean = 3 * 20 + 8 + 2 * 7  # index of the loudness mean
    assert abs(float(d[1, loudness_mean] - d[0, loudness_mean]) - 3.0) < 1e-3
    tempo_lag = descriptor_count() - 9 - 1  # the best lag (in seconds) before the 9 rhythm bins
    assert abs(float(d[2, tempo_lag]) - 0.5) < 0.02


def test_hybrid_blends_and_round_trips_through_a_bundle(untrained_tiny, tmp_path):
    t = untrained_tiny
    clips, config, feature_config, model, fit, val = t.clips, t.config, t.feature_config, t.model, t.fit, t.val
    hybrid, info = attach_kernel_head(model, fit, val, crops=2)
    assert info["blend"] in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0) and info["rows"] == 2 * len(clips)
    feats = val.eval_crops(0, config.frames, 2)
    with torch.no_grad():
        net, kernel, out = model(feats), hybrid.kernel(feats).clamp(0, 1), hybrid(feats)
    b = hybrid.config.kernel_blend
    torch.testing.assert_close(out, hybrid.kernel.calibrate((1 - b) * net + b * kernel))
    assert torch.all(hybrid.kernel.out_scale >= 1.0)
    assert torch.all((hybrid.kernel.out_centre > 0) & (hybrid.kernel.out_centre < 1))
    forced, _ = attach_kernel_head(model, fit, None, crops=2, blend=1.0)
    with torch.no_grad():
        assert not torch.allclose(forced(feats), net)
    bundle = Bundle.from_model(forced, features=feature_config)
    loaded = load_bundle(save_bundle(bundle, tmp_path / "bundle"))
    assert loaded.model_config.kernel_rows == forced.config.kernel_rows
    descriptors = VIEWS["fbank_descriptors"].compute(None, loaded.feature_config, {"fbank": feats})
    with torch.no_grad():  # loaded as a composition: the same outputs from the declared views
        torch.testing.assert_close(loaded.model(fbank=feats, fbank_descriptors=descriptors), forced(feats))
