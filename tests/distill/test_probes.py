"""`sentio-ml distill probes --export`: a teacher's linear probe as a bundle that predicts what its head gives."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sentio_ml.audio import load_excerpts
from sentio_ml.bundle import load_bundle
from sentio_ml.distill.probes import export_probe, teacher_features
from sentio_ml.evaluation.crossval import cv_result_from_dict
from sentio_ml.features import FeatureConfig
from sentio_ml.paths import shipped_bundle_dir
from sentio_ml.predictor import Predictor
from tests.conftest import FIXTURES


class TinyDataset:
    """What export_probe reads of a dataset: name, clips (with split_key), labels, length."""

    def __init__(self, labels: np.ndarray) -> None:
        self.name, self._labels = "unit", labels
        self.clips = [type("Clip", (), {"split_key": f"artist{i % 12}"})() for i in range(len(labels))]

    def labels(self) -> np.ndarray:
        return self._labels

    def __len__(self) -> int:
        return len(self._labels)


def test_an_exported_probe_predicts_its_head_on_the_teachers_features(tmp_path):
    track = FIXTURES / "vibe_ace.flac"  # shorter than an excerpt: one excerpt, so no clamp-then-average
    waves = load_excerpts(track, 16000, FeatureConfig().excerpt_seconds, 1).waves  # the Predictor's
    real = teacher_features("mn04", waves[None])  # [1, 911]
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(48, real.shape[1])).astype(np.float32)
    features = real + 0.1 * np.abs(real) * noise  # clips like the fixture, so its prediction is off the clamp
    labels = np.clip(0.5 + 0.05 * noise[:, :2] + 0.02 * rng.normal(size=(48, 2)), 0, 1)
    report = json.loads((shipped_bundle_dir("default") / "cv" / "mn04" / "report.json").read_text())
    result = cv_result_from_dict(report["models"][0])  # any CV result: the bundle carries it as its score
    out = tmp_path / "probe"
    export_probe("mn04", features, TinyDataset(labels), result, out, version="0.0.1", excerpts=1, command="unit test")

    bundle = load_bundle(out)
    assert bundle.model.view_names == ["wave32k"] and bundle.metrics["cv_name"] == result.name
    assert "Copyright (c) 2022 Florian Schmid" in bundle.card and (out / "cv" / "report.json").is_file()
    head = bundle.model.parts["mn04"].head
    with torch.inference_mode():  # the head was fitted on those features: better than the labels' mean
        fitted = head(torch.from_numpy(features)).numpy()
    assert ((fitted - labels) ** 2).mean() < ((labels - labels.mean(0)) ** 2).mean()

    [predicted] = Predictor(bundle, device="cpu", detect_music=False).predict([track])
    with torch.inference_mode():
        raw = head(torch.from_numpy(real)).numpy()[0]
    expected = np.clip(bundle.model.offset.numpy() + bundle.model.scale.numpy() * raw, 0, 1)
    assert [predicted.valence, predicted.arousal] == pytest.approx(expected.tolist(), abs=1e-4)
    assert np.all((expected > 0.01) & (expected < 0.99)), expected  # off the clamp, so the values are compared
