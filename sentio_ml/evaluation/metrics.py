"""Metrics for valence/arousal regression and quadrant classification, with bootstrap CIs.

Per dimension: R², Pearson r, CCC (Lin's concordance), RMSE, MAE — R², r and CCC do not depend on
the scale; RMSE/MAE are given on the dataset's own scale (e.g. 1–9) and on the unit scale.
Quadrants: predicted by the sign of each dimension around the centre, scored against the dataset's
own quadrant labels: accuracy, macro-F1, confusion matrix (rows = true Q1..Q4, columns = predicted).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

DIMENSIONS = ("valence", "arousal")
QUADRANTS = (1, 2, 3, 4)


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (population moments, as in the AVEC/MER literature)."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    mt, mp = y_true.mean(), y_pred.mean()
    vt, vp = y_true.var(), y_pred.var()
    cov = ((y_true - mt) * (y_pred - mp)).mean()
    denom = vt + vp + (mt - mp) ** 2
    return float(2 * cov / denom) if denom > 0 else 0.0


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if y_true.std() == 0 or y_pred.std() == 0:
        return 0.0
    return float(np.corrcoef(y_true, y_pred)[0, 1])


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, scale: tuple[float, float] = (0.0, 1.0)) -> dict[str, float]:
    """Metrics of one dimension; inputs on the unit scale, RMSE/MAE also on `scale`."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    span = scale[1] - scale[0]
    rmse_unit = float(np.sqrt(mean_squared_error(y_true, y_pred)))
    mae_unit = float(mean_absolute_error(y_true, y_pred))
    return {
        "r2": float(r2_score(y_true, y_pred)),
        "pearson_r": pearson(y_true, y_pred),
        "ccc": ccc(y_true, y_pred),
        "rmse": rmse_unit * span,
        "mae": mae_unit * span,
        "rmse_unit": rmse_unit,
        "mae_unit": mae_unit,
    }


def quadrants_from_unit(values: np.ndarray) -> np.ndarray:
    """Quadrant 1..4 of each [valence, arousal] row, split at 0.5 (Q1 +v+a, Q2 −v+a, Q3 −v−a, Q4 +v−a)."""
    values = np.asarray(values)
    pos_v, pos_a = values[:, 0] >= 0.5, values[:, 1] >= 0.5
    return np.where(pos_a, np.where(pos_v, 1, 2), np.where(pos_v, 4, 3))


def quadrant_metrics(q_true: Sequence[int], q_pred: Sequence[int]) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    return {
        "accuracy": float(accuracy_score(q_true, q_pred)),
        "macro_f1": float(f1_score(q_true, q_pred, labels=list(QUADRANTS), average="macro", zero_division=0)),
        "confusion": confusion_matrix(q_true, q_pred, labels=list(QUADRANTS)).tolist(),
    }


def evaluate_predictions(
    y_true: np.ndarray, y_pred: np.ndarray, q_true: Sequence[int], scale: tuple[float, float] = (0.0, 1.0)
) -> dict:
    """All metrics: {"valence": {...}, "arousal": {...}, "quadrant": {...}}; inputs [N, 2] on [0, 1]."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out: dict = {dim: regression_metrics(y_true[:, i], y_pred[:, i], scale) for i, dim in enumerate(DIMENSIONS)}
    out["quadrant"] = quadrant_metrics(list(q_true), quadrants_from_unit(y_pred).tolist())
    return out


def flat_metrics(metrics: dict) -> dict[str, float]:
    """{"valence.r2": ..., "quadrant.macro_f1": ...} — scalar entries only (for tables and mean ± std)."""
    flat = {}
    for group, values in metrics.items():
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, (int, float)):
                    flat[f"{group}.{name}"] = float(value)
    return flat


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(point estimate, low, high): percentile bootstrap over rows shared by all `arrays`."""
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    rng = np.random.default_rng(seed)
    point = float(statistic(*arrays))
    samples = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        samples[i] = statistic(*(a[idx] for a in arrays))
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return point, float(low), float(high)


def bootstrap_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, q_true: Sequence[int], n_resamples: int = 1000, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """95% bootstrap CIs of the headline metrics: CCC and r per dimension, quadrant accuracy and macro-F1."""
    from sklearn.metrics import f1_score

    y_true, y_pred, q_true = np.asarray(y_true), np.asarray(y_pred), np.asarray(q_true)
    q_pred = quadrants_from_unit(y_pred)
    out = {}
    for i, dim in enumerate(DIMENSIONS):
        out[f"{dim}.ccc"] = bootstrap_ci(ccc, y_true[:, i], y_pred[:, i], n_resamples=n_resamples, seed=seed)
        out[f"{dim}.pearson_r"] = bootstrap_ci(pearson, y_true[:, i], y_pred[:, i], n_resamples=n_resamples, seed=seed)
    out["quadrant.accuracy"] = bootstrap_ci(lambda t, p: float((t == p).mean()), q_true, q_pred,
                                           n_resamples=n_resamples, seed=seed)
    out["quadrant.macro_f1"] = bootstrap_ci(
        lambda t, p: float(f1_score(t, p, labels=list(QUADRANTS), average="macro", zero_division=0)),
        q_true, q_pred, n_resamples=n_resamples, seed=seed,
    )
    return out
