from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import torch

from sentio_ml.audio import load_excerpts
from sentio_ml.bundle import load_bundle
from sentio_ml.errors import BundleError, DeviceUnavailableError, SentioMLError
from sentio_ml.features import compute_fbank
from sentio_ml.mood import mood_word, quadrant
from sentio_ml.predictor import Predictor, resolve_device
from tests.conftest import FIXTURES

AUDIO = sorted(p for p in FIXTURES.iterdir() if p.name.startswith("vibe_ace"))


@pytest.fixture(scope="module")
def bundle(tiny_bundle_dir):
    return load_bundle(tiny_bundle_dir)


def test_predicts_every_fixture_like_the_model_does(bundle):
    predictor = Predictor(bundle, device="cpu", precision="fp32", batch_size=4)
    results = predictor.predict(AUDIO)
    assert [r.path for r in results] == AUDIO  # predict() keeps the input order
    cfg = bundle.feature_config
    for r in results:
        assert r.ok and 0 < r.valence < 1 and 0 < r.arousal < 1
        assert r.mood == mood_word(r.valence, r.arousal) and r.quadrant == quadrant(r.valence, r.arousal)
        assert r.duration == pytest.approx(4.0, abs=0.05)
        assert len(r.excerpts) == 3 and all(0 <= e.start < e.end <= r.duration for e in r.excerpts)
        assert r.valence == pytest.approx(np.mean([e.valence for e in r.excerpts]))
        # the same numbers as running the pieces by hand
        ex = load_excerpts(r.path, cfg.sample_rate, bundle.excerpt_seconds, 3)
        with torch.inference_mode():
            direct = bundle.model(fbank=compute_fbank(ex.waves, cfg)).numpy()
        np.testing.assert_allclose([[e.valence, e.arousal] for e in r.excerpts], direct, atol=1e-5)
    assert predictor.model_id.startswith("sentio-tiny@0.0.1+") and predictor.device_name == "cpu"


def test_batch_size_int8_and_bf16_do_not_change_results_much(bundle):
    files = AUDIO[:4]
    one = Predictor(bundle, device="cpu", precision="fp32", batch_size=1).predict(files)
    eight = Predictor(bundle, device="cpu", precision="fp32", batch_size=8).predict(files)
    int8 = Predictor(bundle, device="cpu", precision="int8", batch_size=8)
    bf16 = Predictor(bundle, device="cpu", precision="bf16", batch_size=8)
    assert int8.quantized and int8.precision == "int8" and bf16.precision == "bf16" and not bf16.quantized
    quantised, halved = int8.predict(files), bf16.predict(files)
    for a, b, q, h in zip(one, eight, quantised, halved):
        assert a.valence == pytest.approx(b.valence, abs=1e-5) and a.arousal == pytest.approx(b.arousal, abs=1e-5)
        assert abs(a.valence - q.valence) < 0.05 and abs(a.arousal - q.arousal) < 0.05
        assert abs(a.valence - h.valence) < 0.05 and abs(a.arousal - h.arousal) < 0.05
        assert isinstance(h.valence, float) and h.valence != a.valence  # bf16 really ran, and came back as floats


def test_failures_are_reported_and_the_rest_complete(bundle, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 20)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    paths = [AUDIO[0], text, tmp_path / "gone.ogg", AUDIO[1], empty]
    results = list(Predictor(bundle, device="cpu").predict_iter(paths))
    assert sorted(map(str, (r.path for r in results))) == sorted(map(str, paths))
    by_path = {r.path: r for r in results}
    assert by_path[AUDIO[0]].ok and by_path[AUDIO[1]].ok
    for bad in (text, tmp_path / "gone.ogg", empty):
        assert not by_path[bad].ok and str(bad) in by_path[bad].error and by_path[bad].valence is None


def test_cancel_stops_promptly(bundle):
    paths = AUDIO * 30  # 270 files
    cancel = threading.Event()
    predictor = Predictor(bundle, device="cpu", batch_size=2, decode_workers=2)
    seen = []
    started = time.perf_counter()
    for result in predictor.predict_iter(paths, cancel=cancel):
        seen.append(result)
        cancel.set()
    assert 1 <= len(seen) < 10
    assert time.perf_counter() - started < 10
    assert list(predictor.predict_iter(paths, cancel=cancel)) == []  # already cancelled: nothing


def test_device_errors_are_one_sentence(bundle):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        for spec in ("cuda", "cuda:1"):
            with pytest.raises(DeviceUnavailableError, match=f"Device '{spec}' was requested") as info:
                Predictor(bundle, device=spec)
            assert "\n" not in str(info.value) and "cpu" in str(info.value)
    with pytest.raises(DeviceUnavailableError, match="Unknown device 'tpu'"):
        resolve_device("tpu")


def test_bad_settings_and_missing_bundle(bundle, tmp_path):
    with pytest.raises(SentioMLError, match="batch size"):
        Predictor(bundle, device="cpu", batch_size=0)
    with pytest.raises(SentioMLError, match="Unknown precision 'int4'; use auto, fp32, int8, bf16, fp16"):
        Predictor(bundle, device="cpu", precision="int4")
    with pytest.raises(SentioMLError, match="fp16 runs on GPUs only"):
        Predictor(bundle, device="cpu", precision="fp16")
    assert Predictor(bundle, device="cpu", precision="none", detect_music=False).precision == "fp32"
    assert Predictor(bundle, device="cpu", detect_music=False).batch_size == 8  # auto on the CPU (32 on a GPU)
    with pytest.raises(BundleError):
        Predictor(tmp_path / "no-bundle")


def test_predictor_accepts_a_bundle_path_and_overrides(tiny_bundle_dir):
    predictor = Predictor(tiny_bundle_dir, device="cpu", excerpts=1, excerpt_seconds=1.0)
    (result,) = predictor.predict([AUDIO[0]])
    assert result.ok and len(result.excerpts) == 1 and result.excerpts[0].end - result.excerpts[0].start == 1.0


def test_a_model_failure_is_one_sentence(bundle):
    predictor = Predictor(bundle, device="cpu", precision="fp32")

    class Broken(torch.nn.Module):
        def forward(self, **views):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\n(long details)")

    predictor.model = Broken()
    with pytest.raises(SentioMLError, match="The model failed on cpu: mat1 and mat2 shapes cannot be multiplied.$"):
        predictor.predict([AUDIO[0]])


def test_blas_runs_one_thread_per_worker_while_predicting_and_is_restored(bundle, monkeypatch):
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    seen: list[list[int]] = []
    from sentio_ml.composition import VIEWS

    real = VIEWS["fbank"]

    def spy(waves, cfg, views):
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return real.compute(waves, cfg, views)

    monkeypatch.setitem(VIEWS, "fbank", dataclasses.replace(real, compute=spy))
    [result] = Predictor(bundle, device="cpu").predict([FIXTURES / "vibe_ace.flac"])
    assert result.ok and seen and all(n == 1 for threads in seen for n in threads)
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before


def test_music_check_rates_the_middle_excerpt_and_can_be_switched_off(bundle):
    from sentio_ml.music_detector import load_music_detector

    files = AUDIO[:2]
    checked = Predictor(bundle, device="cpu", precision="fp32").predict(files)
    detector = load_music_detector()
    for r in checked:
        middle = load_excerpts(r.path, 16000, bundle.excerpt_seconds, 3).waves[1]  # no second decode in the predictor
        assert r.music == pytest.approx(detector.probability(middle, 16000), abs=1e-4)
        assert r.music > 0.5 and r.to_dict()["music"] == r.music  # the fixture is a cut of a song
    unchecked = Predictor(bundle, device="cpu", precision="fp32", detect_music=False)
    assert unchecked.music_detector is None
    results = unchecked.predict(files)
    assert [r.music for r in results] == [None, None]
    assert [r.valence for r in results] == pytest.approx([r.valence for r in checked], abs=1e-6)


def test_a_model_with_the_detectors_tagger_answers_the_music_check_itself(tmp_path):
    """The default runs mn04 on every 32-kHz excerpt: its pass of the middle one is the music check (no second mn04
    pass per track), with the detector's value."""
    import soundfile

    from sentio_ml.audio import decode
    from sentio_ml.music_detector import load_music_detector

    song = tmp_path / "long.wav"  # 40 s: three excerpts, whose rows span two batches of 2
    soundfile.write(song, np.tile(decode(AUDIO[0], 16000), 8)[:40 * 16000], 16000)
    predictor = Predictor("default", device="cpu", batch_size=2)
    assert predictor.music_detector is None and predictor._music_tap is not None
    results = predictor.predict([song, AUDIO[0], song])
    detector = load_music_detector()
    for r in results:
        waves = load_excerpts(r.path, 16000, predictor.excerpt_seconds, 3).waves
        assert r.music == pytest.approx(detector.probability(waves[len(waves) // 2], 16000), abs=1e-4)
    assert len(load_excerpts(song, 16000, predictor.excerpt_seconds, 3).waves) == 3


def test_the_fast_model_with_the_music_check_imports_no_librosa_sklearn_or_numba():
    import json
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    probe = ("import json, sys; from sentio_ml.predictor import Predictor; "
             f"r = Predictor('fast', device='cpu').predict([{str(AUDIO[0])!r}])[0]; "
             "print(json.dumps([r.music, [m for m in ('librosa', 'sklearn', 'numba') if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    music, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert music is not None and heavy == []


def test_missing_detector_weights_still_predict_with_music_unknown(bundle, monkeypatch, tmp_path, caplog):
    import logging

    from sentio_ml import music_detector

    monkeypatch.setattr(music_detector, "_loaded", {})  # load the detector afresh ...
    monkeypatch.setattr("sentio_ml.teachers.PRETRAINED", tmp_path)  # ... from a folder without mn04's weights
    with caplog.at_level(logging.WARNING, logger="sentio_ml.music_detector"):
        results = Predictor(bundle, device="cpu", precision="fp32").predict(AUDIO[:2])
    assert all(r.ok and r.valence is not None and r.music is None for r in results)
    assert [r.levelno for r in caplog.records] == [logging.WARNING] and "music check is off" in caplog.text


def test_missing_view_weights_are_one_sentence_before_any_track(monkeypatch, tmp_path):
    """A model that reads the musicnn view (the hybrid of `sentio-ml train`) needs musicnn's shipped weights: without
    them the Predictor does not start (one sentence), rather than failing every track."""
    import sentio_ml.composition as composition
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.composition import Composition, QuadrantPart
    from sentio_ml.features import FeatureConfig

    model = Composition({"quadrant": QuadrantPart(["musicnn1"], rows=4, dim=250, subsets=1)}).eval()
    save_bundle(Bundle.from_composition(model, name="reads-musicnn", features=FeatureConfig(),
                                        normalisation_source="test"), tmp_path / "bundle")

    def missing():
        raise SentioMLError("The pretrained musicnn weights are missing (msd_musicnn.safetensors).")

    monkeypatch.setattr(composition, "_load_musicnn", missing)
    with pytest.raises(SentioMLError, match="musicnn weights are missing"):
        Predictor(tmp_path / "bundle", device="cpu", detect_music=False)


def test_auto_quantises_only_large_models(bundle):
    """int8 halves `base` but gains nothing on small models, where it would tie a track's values to its batch."""
    from sentio_ml.ast_encoder import PRESETS
    from sentio_ml.bundle import Bundle
    from sentio_ml.composition import AstPart, Composition
    from sentio_ml.features import FeatureConfig

    assert Predictor(bundle, device="cpu", detect_music=False).precision == "fp32"
    large = Bundle.from_composition(Composition({"ast": AstPart(PRESETS["base"])}).eval(), name="base",
                                    features=FeatureConfig(), normalisation_source="-")
    assert Predictor(large, device="cpu", detect_music=False).precision == "int8"
