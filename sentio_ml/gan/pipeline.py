"""The GAN on real data: training songs from the feature cache in, a GAN bundle (+ quality report) out;
and the per-fold factory the cross-validation loop calls so each fold's GAN sees that fold's training
songs only.

Nothing here ever receives validation or test clips: callers pass the clips the regressor trains on.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from sentio_ml.gan.checkpoint import GanBundle, bundle_from_run, load_gan_bundle, save_gan_bundle
from sentio_ml.gan.config import GanConfig
from sentio_ml.gan.errors import GanError
from sentio_ml.gan.quality import evaluate_quality
from sentio_ml.gan.report import write_quality_report
from sentio_ml.gan.trainer import GanDivergedError, GanProgress, GanRun, train_gan


def clip_fbanks(clips: Sequence, cache) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Whole-clip raw log-mel fbanks [T_i, M] (from the training pipeline's FeatureCache) and labels [N, 2]."""
    feats = [torch.from_numpy(np.asarray(cache.load(c), dtype=np.float32)) for c in clips]
    labels = torch.tensor([[c.valence, c.arousal] for c in clips], dtype=torch.float32)
    return feats, labels


def centre_excerpts(fbanks: Sequence[torch.Tensor], frames: int, feature_config=None) -> torch.Tensor:
    """One centre crop of `frames` per clip (zero-padded if short), normalised if `feature_config` is given."""
    out = []
    for fbank in fbanks:
        start = max(0, (fbank.shape[0] - frames) // 2)
        crop = fbank[start : start + frames]
        if crop.shape[0] < frames:
            crop = torch.nn.functional.pad(crop, (0, 0, 0, frames - crop.shape[0]))
        out.append(crop)
    stacked = torch.stack(out)
    return stacked if feature_config is None else (stacked - feature_config.mean) / (2.0 * feature_config.std)


def clips_fingerprint(clips: Sequence) -> str:
    """Stable id of a set of clips and their labels (to reuse a fold's GAN across synthetic ratios)."""
    items = sorted(f"{c.clip_id or Path(c.path).stem}:{c.valence:.6f}:{c.arousal:.6f}" for c in clips)
    return hashlib.sha1("\n".join(items).encode()).hexdigest()[:16]


def train_gan_bundle(
    clips: Sequence,
    cache,
    config: GanConfig,
    *,
    render_frames: int,
    feature_config=None,
    training_data: dict[str, Any] | None = None,
    regressor=None,
    out_dir: str | Path | None = None,
    progress: Callable[[GanProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[GanBundle, GanRun]:
    """Train on `clips` (training songs only), evaluate, and save bundle + report when `out_dir` is given.

    A diverged run still writes its history and report (so the failure can be inspected) before the
    GanError propagates.
    """
    fbanks, labels = clip_fbanks(clips, cache)
    if fbanks and fbanks[0].shape[1] != config.mel_bins:
        config = config.with_updates(mel_bins=int(fbanks[0].shape[1]))
    data = {"fingerprint": clips_fingerprint(clips), **(training_data or {}),
            "clip_ids": sorted(c.clip_id or Path(c.path).stem for c in clips)}
    try:
        run = train_gan(fbanks, labels, config, progress=progress, cancel=cancel)
        diverged = None
    except GanDivergedError as exc:
        run, diverged = exc.run, exc
    real = centre_excerpts(fbanks, render_frames, feature_config)
    bundle = bundle_from_run(run, render_frames=render_frames, feature_config=feature_config, training_data=data)
    metrics = evaluate_quality(bundle.source(), real, labels, regressor=regressor, history=run.history,
                               loss=config.loss, seed=config.seed)
    if diverged is not None:
        metrics["collapse"]["collapsed"] = True
        metrics["collapse"]["reasons"].append(str(diverged).rstrip("."))
    bundle.metrics = metrics
    if out_dir is not None:
        out = Path(out_dir)
        save_gan_bundle(bundle, out)
        write_quality_report(out / "report", metrics, source=bundle.source(), real_feats=real, real_labels=labels,
                             history=run.history, epochs=run.epochs, grids=run.grids, grid_labels=run.grid_labels,
                             grid_columns=config.grid_noise)
    if diverged is not None:
        raise diverged
    return bundle, run


class GanFoldFactory:
    """`(train_clips, feature_cache, fold, seed) -> SyntheticSource` for the CV loop.

    Trains one GAN per fold on that fold's training clips; with `out_dir`, each fold's bundle and report
    go to `out_dir/fold_<k>` and an existing bundle trained on the very same clips, config and seed is
    reused (so several synthetic ratios share one GAN per fold, as a paired ablation should).
    """

    def __init__(self, config: GanConfig, *, frames: int, base_features, out_dir: str | Path | None = None,
                 progress: Callable[[int, GanProgress], None] | None = None,
                 cancel: threading.Event | None = None) -> None:
        self.config = config
        self.frames = frames
        self.base_features = base_features  # FeatureConfig of the regressor (frames, mel bins)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        self.cancel = cancel
        self.summaries: dict[int, dict[str, Any]] = {}
        self.seen_clips: dict[int, list[str]] = {}

    def _reusable(self, folder: Path, fingerprint: str, config: GanConfig) -> GanBundle | None:
        if not (folder / "config.json").is_file():
            return None
        try:
            saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if saved.get("gan") != config.to_dict() or saved.get("training_data", {}).get("fingerprint") != fingerprint \
                or saved.get("training", {}).get("cancelled"):
            return None
        try:
            return load_gan_bundle(folder)
        except GanError:
            return None
        except Exception:  # noqa: BLE001 - a damaged cache entry is retrained, never fatal
            return None

    def __call__(self, train_clips: Sequence, feature_cache, fold: int, seed: int):
        from sentio_ml.training.cache import fit_normalisation

        self.seen_clips[fold] = [str(c.path) for c in train_clips]
        config = self.config.with_updates(seed=int(seed) * 1000 + int(fold))
        feature_config = fit_normalisation(feature_cache, train_clips, self.base_features)
        folder = self.out_dir / f"fold_{fold}" if self.out_dir is not None else None
        fingerprint = clips_fingerprint(train_clips)
        bundle = self._reusable(folder, fingerprint, config) if folder is not None else None
        reused = bundle is not None
        if bundle is None:
            bundle, _ = train_gan_bundle(
                train_clips, feature_cache, config, render_frames=self.frames, feature_config=feature_config,
                training_data={"fold": fold, "note": "training songs of this fold only"}, out_dir=folder,
                progress=(lambda p: self.progress(fold, p)) if self.progress else None, cancel=self.cancel,
            )
        collapse = bundle.metrics.get("collapse", {})
        self.summaries[fold] = {
            "fold": fold, "reused": reused, "bundle": str(folder) if folder else None,
            "steps": bundle.config.get("training", {}).get("steps"),
            "seconds": bundle.config.get("training", {}).get("seconds"),
            "diversity_ratio": bundle.metrics.get("diversity_ratio"),
            "collapsed": collapse.get("collapsed"), "collapse_reasons": collapse.get("reasons", []),
        }
        return bundle.source(frames=self.frames, feature_config=feature_config)
