"""The non-deep reference: hand-crafted librosa descriptors + a scikit-learn regressor.

It answers "what does a classic MER pipeline reach on the same folds?" so the shipped AST-family
model is always reported side by side with it. Features are computed once per clip (whole clip) and
cached as float32 .npy keyed by file content and `FEATURE_VERSION`.
"""
from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from sentio_ml.errors import AudioDecodeError
from sentio_ml.training.cache import file_key

FEATURE_VERSION = "ref-v2"
SAMPLE_RATE = 22050
N_MFCC = 20
# Krumhansl–Kessler key profiles (major, minor), for key clarity and mode.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _stats(name: str, x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, dtype=np.float64).ravel()
    return {f"{name}_mean": float(np.mean(x)), f"{name}_std": float(np.std(x))}


def _key_features(chroma_mean: np.ndarray) -> dict[str, float]:
    def corr(profile: np.ndarray) -> np.ndarray:
        return np.array([np.corrcoef(np.roll(profile, k), chroma_mean)[0, 1] for k in range(12)])

    major, minor = np.nan_to_num(corr(_MAJOR)), np.nan_to_num(corr(_MINOR))
    both = np.sort(np.concatenate([major, minor]))
    return {
        "key_clarity": float(both[-1]),
        "key_margin": float(both[-1] - both[-2]),
        "mode_major_minus_minor": float(major.max() - minor.max()),
    }


def describe_audio(y: np.ndarray, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """Named descriptors of one mono signal: rhythm, loudness/dynamics, spectral shape, timbre, tonality."""
    import librosa

    feats: dict[str, float] = {}
    hop = 512
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop))
    power = stft**2
    # rhythm
    onset_env = librosa.onset.onset_strength(S=librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr)), sr=sr)
    tempo, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=hop)
    feats["tempo"] = float(np.atleast_1d(tempo)[0])
    feats["beat_strength"] = float(onset_env[beats].mean()) if len(beats) else 0.0
    feats["onset_rate"] = float(len(librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr)) / (len(y) / sr))
    feats.update(_stats("onset", onset_env))
    ac = librosa.autocorrelate(onset_env - onset_env.mean(), max_size=len(onset_env) // 2)
    feats["pulse_clarity"] = float(ac[8:].max() / (ac[0] + 1e-9)) if len(ac) > 8 else 0.0
    # loudness and dynamics
    rms = librosa.feature.rms(S=stft, frame_length=2048)[0]
    rms_db = librosa.amplitude_to_db(rms + 1e-9)
    feats.update(_stats("rms", rms))
    feats.update(_stats("rms_db", rms_db))
    feats["dynamic_range_db"] = float(np.percentile(rms_db, 95) - np.percentile(rms_db, 5))
    feats["low_energy_ratio"] = float((rms < rms.mean()).mean())
    # spectral shape
    feats.update(_stats("centroid", librosa.feature.spectral_centroid(S=stft, sr=sr)))
    feats.update(_stats("bandwidth", librosa.feature.spectral_bandwidth(S=stft, sr=sr)))
    feats.update(_stats("rolloff", librosa.feature.spectral_rolloff(S=stft, sr=sr)))
    feats.update(_stats("flatness", librosa.feature.spectral_flatness(S=stft)))
    flux = np.sqrt((np.diff(stft, axis=1).clip(min=0) ** 2).sum(axis=0))
    feats.update(_stats("flux", flux))
    contrast = librosa.feature.spectral_contrast(S=stft, sr=sr)
    for i, band in enumerate(contrast):
        feats.update(_stats(f"contrast{i}", band))
    feats.update(_stats("zcr", librosa.feature.zero_crossing_rate(y, hop_length=hop)))
    # timbre
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=64))
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    delta = librosa.feature.delta(mfcc)
    for i in range(N_MFCC):
        feats.update(_stats(f"mfcc{i}", mfcc[i]))
        feats[f"dmfcc{i}_std"] = float(delta[i].std())
    # harmonic / percussive balance (HPSS on the 128-band mel spectrogram: ~8x cheaper than on the STFT)
    harmonic, percussive = librosa.decompose.hpss(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=128))
    feats["harmonic_ratio"] = float(harmonic.sum() / (harmonic.sum() + percussive.sum() + 1e-9))
    # tonality
    chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    chroma_mean = chroma.mean(axis=1)
    for i, value in enumerate(chroma_mean / (chroma_mean.sum() + 1e-9)):
        feats[f"chroma{i}"] = float(value)
    feats.update(_key_features(chroma_mean))
    feats["chroma_entropy"] = float(-(chroma / (chroma.sum(0, keepdims=True) + 1e-9) * np.log(chroma / (chroma.sum(0, keepdims=True) + 1e-9) + 1e-9)).sum(0).mean())
    tonnetz = librosa.feature.tonnetz(chroma=chroma, sr=sr)
    for i, row in enumerate(tonnetz):
        feats.update(_stats(f"tonnetz{i}", row))
    return feats


def feature_names() -> list[str]:
    """Names of the descriptor vector, in order."""
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    return list(describe_audio((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)).keys())


def load_audio(path: Path, sr: int = SAMPLE_RATE) -> np.ndarray:
    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, _ = librosa.load(str(path), sr=sr, mono=True)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the same user-facing problem
        raise AudioDecodeError(f"Cannot decode {path}: {exc}.") from exc
    if y.size < sr // 2:
        raise AudioDecodeError(f"{path} holds less than half a second of audio.")
    return y


def _compute_one(args: tuple[str, str]) -> tuple[str, str | None]:
    path, out = args
    try:
        vector = np.array(list(describe_audio(load_audio(Path(path))).values()), dtype=np.float32)
    except AudioDecodeError as exc:
        return path, str(exc)
    np.save(out, vector, allow_pickle=False)
    return path, None


def reference_features(
    paths: Sequence[Path],
    cache_dir: Path,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """[N, F] descriptors for `paths`, computed once and cached in `cache_dir`."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    targets = [cache_dir / f"{FEATURE_VERSION}-{file_key(Path(p))}.npy" for p in paths]
    todo = [(str(p), str(t)) for p, t in zip(paths, targets) if not t.exists()]
    done = len(paths) - len(todo)
    if progress:
        progress(done, len(paths))
    errors = []
    runner: Iterable = (
        ProcessPoolExecutor(workers).map(_compute_one, todo) if workers > 1 and todo else map(_compute_one, todo)
    )
    for path, error in runner:
        done += 1
        if error:
            errors.append(error)
        if progress:
            progress(done, len(paths))
    if errors:
        raise AudioDecodeError(f"{len(errors)} clip(s) could not be decoded; first: {errors[0]}")
    return np.stack([np.load(t, allow_pickle=False) for t in targets])


def make_reference_model(kind: str = "svr", seed: int = 0):
    """A scikit-learn regressor for [N, 2] unit-scale targets: RBF SVR per dimension (default) or a
    random forest. Standardisation is fitted on the training split only (inside the pipeline)."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    if kind == "svr":
        return make_pipeline(StandardScaler(), MultiOutputRegressor(SVR(C=1.0, epsilon=0.02, gamma="scale")))
    if kind == "forest":
        return make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1))
    raise ValueError(f"unknown reference model {kind!r}")
