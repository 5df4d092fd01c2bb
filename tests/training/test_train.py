"""One-epoch CPU smoke training on generated clips, resume, and the synthetic-data firewall."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from sentio_ml.audio import excerpt_starts
from sentio_ml.errors import SentioMLError
from sentio_ml.evaluation.crossval import run_cv
from sentio_ml.features import FeatureConfig, frame_count
from sentio_ml.training import loop
from sentio_ml.training.cache import FeatureCache, excerpt_start_frames
from sentio_ml.training.config import TrainConfig, load_train_config
from sentio_ml.training.loop import predict_clips, train
from sentio_ml.training.recipe import model_fit_predict

TINY = TrainConfig(preset="tiny", epochs=1, batch_size=4, eval_crops=2, validation_fraction=0.25, patience=0, threads=1)


@pytest.fixture
def cache(tmp_path):
    return FeatureCache(tmp_path / "cache")


@pytest.mark.parametrize("seconds", [3.0, 10.3, 30.0, 45.5, 240.0, 900.0])
def test_training_windows_are_the_predictors_excerpts(seconds):
    """The heads are fitted on the windows the Predictor feeds them: the same starts, on the fbank's grid."""
    cfg = FeatureConfig()
    length = frame_count(int(seconds * cfg.sample_rate))
    frames = excerpt_start_frames(length, cfg.frames, 3)
    expected = excerpt_starts(seconds, cfg.excerpt_seconds, 3)
    assert len(frames) == 3
    if len(expected) == 1:
        assert frames == [0, 0, 0]
    else:
        assert np.abs(np.array(frames) / 100 - expected).max() <= 0.01
        assert frames[-1] + cfg.frames <= length


def test_cache_is_keyed_by_content_and_settings(tiny_dataset, cache, tmp_path):
    clips = tiny_dataset.clips[:2]
    assert cache.ensure(clips) == []
    entries = sorted((tmp_path / "cache").glob("fbank-*.npy"))
    assert len(entries) == 2
    fbank = cache.load(clips[0])
    assert fbank.dtype == np.float16 and fbank.shape[1] == 128 and fbank.shape[0] == 1 + (int(3.2 * 16000) - 400) // 160
    other = FeatureCache(tmp_path / "cache", num_mel_bins=64)
    assert other.settings_key != cache.settings_key
    other.ensure(clips[:1])
    assert len(list((tmp_path / "cache").glob("fbank-*.npy"))) == 3


def test_filling_a_clips_fbank_descriptors_and_embeddings_decodes_it_once(tiny_dataset, cache, monkeypatch):
    import sentio_ml.audio as audio_module

    decoded = []
    real_decode = audio_module.decode
    monkeypatch.setattr(audio_module, "decode", lambda path, *a, **k: decoded.append(path) or real_decode(path, *a, **k))
    clips = tiny_dataset.clips[:2]
    assert cache.ensure(clips, audio_windows=(256, 2), audio=True, musicnn=1) == []
    assert decoded == [c.path for c in clips]
    assert len(list(cache.cache_dir.glob("audio*-*.npy"))) == len(list(cache.cache_dir.glob("musicnn*-*.npy"))) == 2


def test_cache_reports_undecodable_clip_and_keeps_going(tiny_dataset, cache, tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio at all" * 100)
    bad = dataclasses.replace(tiny_dataset.clips[0], path=broken)
    failures = cache.ensure([bad, tiny_dataset.clips[1]])
    assert len(failures) == 1 and "broken.mp3" in failures[0]
    assert len(list(cache.cache_dir.glob("fbank-*.npy"))) == 1


def test_one_epoch_smoke_train_logs_and_predicts(tiny_dataset, cache, tmp_path):
    train_clips, test_clips = tiny_dataset.fold_split(0)
    seen = []
    result = train(train_clips[:12], train_clips[12:], cache, TINY, progress=seen.append, log_dir=tmp_path / "log")
    assert result.stopped == "completed" and len(result.history) == 1
    assert seen[-1].epoch_end is not None and seen[-1].step == seen[-1].total_steps == 3
    assert {"train_loss", "val_loss", "val_macro_f1", "lr"} <= set(result.history[0])
    assert (tmp_path / "log" / "train_log.jsonl").read_text().count("\n") == 1
    assert (tmp_path / "log" / "train_log.csv").read_text().startswith("epoch,")
    # normalisation comes from the training clips only
    train_values = np.concatenate([cache.load(c).astype(np.float64).ravel() for c in train_clips[:12]])
    assert result.feature_config.mean == pytest.approx(train_values.mean(), rel=1e-4)
    pred = predict_clips(result, test_clips, cache)
    assert pred.shape == (len(test_clips), 2) and np.all((pred >= 0) & (pred <= 1))


def test_resume_continues_where_it_stopped(tiny_dataset, cache, tmp_path):
    config = dataclasses.replace(TINY, epochs=2, seed=3)
    clips = tiny_dataset.clips[:8]
    full = train(clips, [], cache, config)
    cancel = threading.Event()
    stopped = train(clips, [], cache, config, cancel=cancel, checkpoint_dir=tmp_path / "ckpt",
                    progress=lambda p: cancel.set() if p.epoch_end else None)
    assert stopped.stopped == "cancelled" and len(stopped.history) == 1
    resumed = train(clips, [], cache, config, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    for key, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
    with pytest.raises(SentioMLError, match="other training settings"):
        train(clips, [], cache, dataclasses.replace(config, lr=0.5), checkpoint_dir=tmp_path / "ckpt", resume=True)


SENTINEL = 1000.0


class MarkedSource:
    """Synthetic excerpts filled with an impossible value, so any model input can be traced back to it."""

    def __init__(self) -> None:
        self.calls = 0

    def sample(self, n, generator=None):
        self.calls += 1
        return torch.full((n, 256, 128), SENTINEL), torch.full((n, 2), 0.5)


def test_synthetic_samples_reach_training_batches_only(tiny_dataset, cache, monkeypatch):
    inputs: list[tuple[bool, bool]] = []  # (model in training mode, batch holds synthetic rows)
    real_build = loop.build_model

    def spying_build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        model.register_forward_pre_hook(lambda mod, a: inputs.append((mod.training, bool((a[0] > SENTINEL / 2).any()))))
        return model

    monkeypatch.setattr(loop, "build_model", spying_build)
    source = MarkedSource()
    factory_calls = []

    def factory(train_clips, feature_cache, fold, seed):
        factory_calls.append((fold, {c.clip_id for c in train_clips}))
        return source

    config = dataclasses.replace(TINY, synthetic_ratio=0.5)
    result = run_cv(tiny_dataset, model_fit_predict(cache, config, synthetic_factory=factory), "tiny", folds=[1])
    assert source.calls > 0 and any(training and marked for training, marked in inputs)
    assert not any(marked for training, marked in inputs if not training)  # validation and test: real only
    fold, given = factory_calls[0]
    train_clips, test_clips = tiny_dataset.fold_split(1)
    assert fold == 1 and not given & {c.clip_id for c in test_clips}
    assert len(given) < len(train_clips)  # the validation artists were held out of the source too
    assert result.folds[0].y_pred.shape == (len(test_clips), 2)


def test_synthetic_ratio_without_source_is_one_sentence(tiny_dataset, cache):
    with pytest.raises(SentioMLError, match="needs a synthetic source"):
        train(tiny_dataset.clips[:4], [], cache, dataclasses.replace(TINY, synthetic_ratio=0.5))


def test_config_files_and_unknown_keys(tmp_path):
    (tmp_path / "a.toml").write_text('epochs = 3\nlr = 0.01\nmodel_overrides = { frames = 512 }\n')
    config = load_train_config(tmp_path / "a.toml")
    assert config.epochs == 3 and config.model_overrides == {"frames": 512}
    (tmp_path / "b.json").write_text('{"epochz": 3}')
    with pytest.raises(SentioMLError, match="epochz"):
        load_train_config(tmp_path / "b.json")
    assert TrainConfig().updated(epochs=None, lr=0.5).lr == 0.5


def test_the_cv_predicts_with_the_model_as_it_ships_once(tiny_dataset, cache):
    """One pass of the declared composition gives the fold's predictions (those of the trained network) and each
    part's share of them."""
    from sentio_ml.training.loop import predict_as_shipped

    clips = tiny_dataset.clips
    config = TrainConfig(preset="tiny", epochs=1, batch_size=4, eval_crops=2, validation_fraction=0.0, threads=1)
    result = train(clips[:6], [], cache, config)
    predictions, shares = predict_as_shipped(result, clips[6:], cache, device="cpu")
    np.testing.assert_allclose(predictions, predict_clips(result, clips[6:], cache), atol=1e-5)
    assert set(shares) == {"blend.net", "blend.kernel", "quadrant"}
    assert np.allclose(np.sum(list(shares.values()), axis=0), 1.0, atol=0.02)
