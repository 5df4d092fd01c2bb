"""Fit the quadrant head (`sentio_ml.quadrant_head`): one-vs-rest RBF SVCs per view with scikit-learn,
a softmax temperature calibrated on the validation artists, stored as tensors."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import torch

from sentio_ml.audio_descriptors import AUDIO_DESCRIPTOR_COUNT
from sentio_ml.descriptors import descriptor_count
from sentio_ml.evaluation.metrics import quadrant_metrics
from sentio_ml.model import MoodRegressor, quadrant_descriptor_count
from sentio_ml.musicnn import EMBEDDING_DIM as TAGGER_EMBEDDING_DIM
from sentio_ml.quadrant_head import QUADRANT_SIGNS, QUADRANTS, QuadrantHead
from sentio_ml.training.batches import ClipCrops
from sentio_ml.training.kernel import excerpt_descriptors

TEMPERATURE_GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
SPREAD_GRID = tuple(round(1.0 + 0.1 * i, 1) for i in range(16))  # centroid spread multipliers (1–2.5), by validation MSE


def fit_quadrant_head(
    rows: np.ndarray,
    quadrants: np.ndarray,
    labels: np.ndarray,
    views: Sequence[np.ndarray],
    c: float,
) -> QuadrantHead:
    """One-vs-rest RBF SVCs on standardised `rows` [N, D] for each view (a boolean column mask [D]).

    `quadrants` [N] are the rows' quadrant labels (1–4) and `labels` [N, 2] their unit-scale targets. The
    centroids sit symmetrically around the plane's centre, 0.5 ± the labels' mean distance from 0.5 per
    dimension, so the head's point lies on the side of each axis its probabilities favour (the label means per
    quadrant can sit close to 0.5, where the small weight of the regressors would flip them). gamma is
    scikit-learn's "scale" (1 / columns, since the columns are standardised)."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    scaler = StandardScaler().fit(rows)
    z = scaler.transform(rows)
    head = QuadrantHead(len(z), z.shape[1], len(views))
    head.mean.copy_(torch.as_tensor(scaler.mean_, dtype=torch.float32))
    head.scale.copy_(torch.as_tensor(scaler.scale_, dtype=torch.float32))
    head.rows.copy_(torch.as_tensor(z, dtype=torch.float32))
    spread = np.abs(labels - 0.5).mean(axis=0)
    head.centroids.copy_(torch.as_tensor(0.5 + QUADRANT_SIGNS * spread, dtype=torch.float32))
    for v, columns in enumerate(views):
        columns = np.asarray(columns, dtype=bool)
        head.columns[v] = torch.as_tensor(columns)
        head.gamma[v] = 1.0 / columns.sum()
        for k, quadrant in enumerate(QUADRANTS):
            members = quadrants == quadrant
            if members.all() or not members.any():  # a one-class problem: a constant decision of ±1
                head.intercept[v, k] = 1.0 if members.all() else -1.0
                continue
            svc = SVC(C=c, kernel="rbf", gamma="scale").fit(z[:, columns], (quadrants == quadrant).astype(int))
            head.coef[v, torch.as_tensor(svc.support_), k] = torch.as_tensor(svc.dual_coef_[0], dtype=torch.float32)
            head.gamma[v] = float(svc._gamma)  # = 1 / columns on standardised rows
            head.intercept[v, k] = float(svc.intercept_[0])
    return head


@torch.no_grad()
def calibrate_temperature(head: QuadrantHead, descriptors: np.ndarray, quadrants: np.ndarray) -> float:
    """Set (and return) the softmax temperature with the lowest log-loss on held-out clips.

    `descriptors` [N, crops, D]; like the predictor, a clip's probability is the mean over its crops."""
    n, crops, dim = descriptors.shape
    decision = head.decision(torch.as_tensor(descriptors.reshape(-1, dim), dtype=torch.float32)).mean(dim=1)
    target = torch.as_tensor(np.searchsorted(QUADRANTS, quadrants))

    def log_loss(temperature: float) -> float:
        probs = torch.softmax(temperature * decision, dim=-1).reshape(n, crops, len(QUADRANTS)).mean(dim=1)
        return float(torch.nn.functional.nll_loss(torch.log(probs + 1e-9), target))

    losses = {t: log_loss(t) for t in TEMPERATURE_GRID}
    best = min(losses, key=losses.get)
    head.temperature.fill_(best)
    return best


def quadrant_rows(model: MoodRegressor, data: ClipCrops, crops: int, audio: bool, musicnn: int = 0) -> np.ndarray:
    """[N, crops, D] quadrant-head inputs of `crops` evenly spaced excerpts per clip (as the model computes them);
    `musicnn`: the tagger's patches per excerpt (0: no tagger view)."""
    parts = [excerpt_descriptors(data, model.config.frames, crops)]
    if audio:
        parts.append(np.stack([data.eval_audio(i, model.config.frames, crops).numpy() for i in range(len(data))]))
    if musicnn:
        parts.append(np.stack([data.eval_musicnn(i, model.config.frames, crops, musicnn).numpy() for i in range(len(data))]))
    return np.concatenate(parts, axis=-1)


def _calibrate_spread(
    model: MoodRegressor, head: QuadrantHead, probs: np.ndarray, val: ClipCrops, crops: int, weight: float
) -> np.ndarray:
    """Per dimension, the multiplier of the centroids' spread around 0.5 that minimises the validation squared
    error of the blended output. Soft probabilities pull the head's point towards the centre; this undoes the
    part of that shrinkage that costs accuracy. (Maximising CCC instead widens the map to the labels' spread but
    costs R², RMSE and MAE: on 4Q it let the librosa reference beat the model on arousal R²/RMSE/MAE.)"""
    from sentio_ml.training.loop import predict_crops

    base = predict_crops(model, val, model.config.frames, crops, torch.device("cpu"))
    offset = probs @ (head.centroids.numpy() - 0.5)
    best = np.ones(2)
    for d in range(2):
        blended = {m: np.clip((1 - weight) * base[:, d] + weight * (0.5 + m * offset[:, d]), 0, 1) for m in SPREAD_GRID}
        errors = {m: float(np.mean((val.labels[:, d] - pred) ** 2)) for m, pred in blended.items()}
        best[d] = min(errors, key=errors.get)
    return best


def attach_quadrant_head(
    model: MoodRegressor,
    fit: ClipCrops,
    val: ClipCrops | None,
    crops: int,
    c: float = 3.0,
    weight: float = 0.9,
    audio: bool = True,
    calibrate: bool = True,
    musicnn: int = 0,
) -> tuple[MoodRegressor, dict]:
    """A copy of `model` with a quadrant head on `crops` excerpts per clip: views = the fbank descriptors,
    with `audio` the librosa descriptors of the waveform, with `musicnn` > 0 the pretrained tagger's embedding
    over that many 3-s patches per excerpt (each view's decision values count equally). With `val`, the head is
    first fitted on `fit` to calibrate the softmax temperature and (with `calibrate`) the centroids' spread
    (`_calibrate_spread`) on `val`, then refitted on `fit` + `val`. Returns (model, info)."""
    config = dataclasses.replace(model.config, audio_descriptors=audio, musicnn=musicnn > 0,
                                 musicnn_patches=musicnn or model.config.musicnn_patches)
    widths = [descriptor_count(config.num_mel_bins)] + [AUDIO_DESCRIPTOR_COUNT] * audio + [TAGGER_EMBEDDING_DIM] * (musicnn > 0)
    dim = quadrant_descriptor_count(config)
    assert dim == sum(widths)
    edges = np.cumsum([0, *widths])
    views = [(np.arange(dim) >= lo) & (np.arange(dim) < hi) for lo, hi in zip(edges[:-1], edges[1:])]

    def fit_head(rows: np.ndarray, clips: ClipCrops | list[ClipCrops]) -> QuadrantHead:
        parts = clips if isinstance(clips, list) else [clips]
        quadrants = np.concatenate([[clip.quadrant for clip in p.clips] for p in parts])
        labels = np.concatenate([p.labels for p in parts])
        return fit_quadrant_head(rows.reshape(-1, dim), np.repeat(quadrants, crops), np.repeat(labels, crops, axis=0), views, c)

    fit_rows = quadrant_rows(model, fit, crops, audio, musicnn)
    info: dict = {"views": len(views), "c": c, "weight": weight}
    temperature, spread = 1.0, np.ones(2)
    if val is not None and len(val):
        head = fit_head(fit_rows, fit)
        val_rows = quadrant_rows(model, val, crops, audio, musicnn)
        temperature = calibrate_temperature(head, val_rows, np.array([clip.quadrant for clip in val.clips]))
        with torch.no_grad():
            probs = head.probabilities(torch.as_tensor(val_rows.reshape(-1, dim))).reshape(len(val), crops, 4).mean(1)
        info["val_macro_f1"] = quadrant_metrics([clip.quadrant for clip in val.clips], (probs.argmax(1) + 1).tolist())["macro_f1"]
        if calibrate:
            spread = _calibrate_spread(model, head, probs.numpy(), val, crops, weight)
        head = fit_head(np.concatenate([fit_rows, val_rows]), [fit, val])
    else:
        head = fit_head(fit_rows, fit)
    head.temperature.fill_(temperature)
    head.centroids.copy_(0.5 + (head.centroids - 0.5) * torch.as_tensor(spread, dtype=torch.float32))
    info["spread_multiplier"] = [float(m) for m in spread]
    head.fbank_mean.fill_(fit.cfg.mean)
    head.fbank_std.fill_(fit.cfg.std)
    support = int((head.coef != 0).any(-1).any(0).sum())
    info.update({"temperature": temperature, "rows": len(head.rows), "support_vectors": support})
    config = dataclasses.replace(config, quadrant_rows=len(head.rows), quadrant_views=len(views), quadrant_weight=float(weight))
    return model.with_head("quadrant", head, config), info
