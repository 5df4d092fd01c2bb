"""Fit the hybrid's kernel head: an RBF SVR (scikit-learn) on fbank descriptors of training excerpts,
blended with the network by a weight chosen on the validation artists, then stored as tensors."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from sentio_ml.descriptors import KernelHead, fbank_descriptors
from sentio_ml.evaluation.metrics import ccc
from sentio_ml.model import MoodRegressor
from sentio_ml.training.batches import ClipCrops

BLEND_GRID = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SCALE_GRID = tuple(round(1.0 + 0.1 * i, 1) for i in range(11))  # output expansion around the training mean


@torch.no_grad()
def excerpt_descriptors(crops: ClipCrops, frames: int, count: int) -> np.ndarray:
    """[N, count, D] descriptors of `count` evenly spaced excerpts per clip (raw log-mel)."""
    out = []
    for i in range(len(crops)):
        feats = crops.eval_crops(i, frames, count)
        raw = feats * (2 * crops.cfg.std) + crops.cfg.mean
        out.append(fbank_descriptors(raw).numpy())
    return np.stack(out)


def fit_kernel_head(rows: np.ndarray, labels: np.ndarray, c: float, epsilon: float) -> KernelHead:
    """An RBF SVR per dimension on standardised `rows` [N, D] → a KernelHead holding all N rows."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    scaler = StandardScaler().fit(rows)
    z = scaler.transform(rows)
    head = KernelHead(len(z), z.shape[1])
    head.mean.copy_(torch.as_tensor(scaler.mean_, dtype=torch.float32))
    head.scale.copy_(torch.as_tensor(scaler.scale_, dtype=torch.float32))
    head.rows.copy_(torch.as_tensor(z, dtype=torch.float32))
    for d in range(2):
        svr = SVR(C=c, epsilon=epsilon, gamma="scale").fit(z, labels[:, d])
        head.coef[torch.as_tensor(svr.support_), d] = torch.as_tensor(svr.dual_coef_[0], dtype=torch.float32)
        head.gamma[d] = float(svr._gamma)
        head.intercept[d] = float(svr.intercept_[0])
    return head


def attach_kernel_head(
    model: MoodRegressor,
    fit: ClipCrops,
    val: ClipCrops | None,
    crops: int,
    c: float = 1.0,
    epsilon: float = 0.02,
    blend: float | None = None,
    calibrate: bool = True,
) -> tuple[MoodRegressor, dict]:
    """A copy of `model` with a kernel head. `blend` None: the grid value with the lowest validation MSE
    of the blended prediction (the net's and the kernel's excerpt-averaged predictions); with `calibrate`,
    each dimension is then expanded around the training mean by the factor that maximises validation CCC.
    The kernel is finally refitted on training + validation rows. Returns (model, info)."""
    from sentio_ml.training.loop import predict_crops

    frames = model.config.frames
    fit_desc = excerpt_descriptors(fit, frames, crops)
    info: dict = {}
    centre, scale = fit.labels.mean(axis=0), np.ones(2)
    if blend is None and val is not None and len(val):
        head = fit_kernel_head(fit_desc.reshape(-1, fit_desc.shape[-1]), np.repeat(fit.labels, crops, 0), c, epsilon)
        val_desc = torch.as_tensor(excerpt_descriptors(val, frames, crops))
        with torch.no_grad():
            per_crop = head.regress(val_desc.reshape(-1, val_desc.shape[-1])).clamp(0, 1)
            kernel_pred = per_crop.reshape(len(val), crops, 2).mean(1).numpy()
        net_pred = predict_crops(model, val, frames, crops, torch.device("cpu"))
        losses = {b: float(np.mean(((1 - b) * net_pred + b * kernel_pred - val.labels) ** 2)) for b in BLEND_GRID}
        blend = min(losses, key=losses.get)
        info["val_mse_by_blend"] = losses
        if calibrate:
            blended = (1 - blend) * net_pred + blend * kernel_pred
            centre = fit.labels.mean(axis=0)
            for d in range(2):
                ccc_by_scale = {s: ccc(val.labels[:, d], np.clip(centre[d] + s * (blended[:, d] - centre[d]), 0, 1))
                                for s in SCALE_GRID}
                scale[d] = max(ccc_by_scale, key=ccc_by_scale.get)
        rows = np.concatenate([fit_desc, val_desc.numpy()])
        labels = np.concatenate([fit.labels, val.labels])
    else:
        blend = 1.0 if blend is None else blend
        rows, labels = fit_desc, fit.labels
    head = fit_kernel_head(rows.reshape(-1, rows.shape[-1]), np.repeat(labels, crops, 0), c, epsilon)
    head.out_centre.copy_(torch.as_tensor(centre, dtype=torch.float32))
    head.out_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
    head.fbank_mean.fill_(fit.cfg.mean)
    head.fbank_std.fill_(fit.cfg.std)
    config = dataclasses.replace(model.config, kernel_rows=len(head.rows), kernel_blend=float(blend))
    hybrid = model.with_head("kernel", head, config)
    info.update({"output_scale": scale.tolist(), "output_centre": centre.tolist()})
    info.update({"blend": float(blend), "rows": len(head.rows), "support_vectors": int((head.coef != 0).any(1).sum())})
    return hybrid, info
