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

from sentio_ml.audio_descriptors import SAMPLE_RATE, describe_audio, feature_names  # noqa: F401 - re-exported
from sentio_ml.errors import AudioDecodeError
from sentio_ml.training.cache import file_key

FEATURE_VERSION = "ref-v3"


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
    for _path, error in runner:
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
        forest = RandomForestRegressor(n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1)
        return make_pipeline(StandardScaler(), forest)
    raise ValueError(f"unknown reference model {kind!r}")
