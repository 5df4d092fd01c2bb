"""The training loop: AdamW, warm-up + cosine schedule, gradient clipping, early stopping on a
held-out validation split, SpecAugment/mixup, optional synthetic (GAN) samples in training batches,
mixed precision on CUDA, resumable checkpoints, per-epoch JSONL/CSV logs, and torch DDP when launched
with `torchrun` (each rank trains on its shard of every epoch; rank 0 writes logs and checkpoints).
"""
from __future__ import annotations

import copy
import csv
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist

from sentio_ml.datasets import Clip
from sentio_ml.devices import resolve_device
from sentio_ml.errors import SentioMLError
from sentio_ml.evaluation.metrics import evaluate_predictions
from sentio_ml.features import FeatureConfig
from sentio_ml.model import PRESETS, ModelConfig, MoodRegressor, build_model
from sentio_ml.training.batches import ClipCrops, SyntheticSource, fit_length, spec_augment
from sentio_ml.training.cache import FeatureCache, fit_normalisation
from sentio_ml.training.checkpoint import load_checkpoint, save_checkpoint
from sentio_ml.training.config import TrainConfig


@dataclass
class StepProgress:
    """One optimiser step done: `step` of `total_steps` over the whole run, with the latest loss."""

    epoch: int
    step: int
    total_steps: int
    loss: float
    epoch_end: dict | None = None  # the epoch's log row, on its last step


@dataclass
class TrainResult:
    model: MoodRegressor
    model_config: ModelConfig
    feature_config: FeatureConfig
    train_config: TrainConfig
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = "completed"  # completed | early-stopped | cancelled


def model_config_for(config: TrainConfig) -> ModelConfig:
    if config.preset not in PRESETS:
        raise SentioMLError(f"Unknown model preset {config.preset!r}; choose one of {', '.join(PRESETS)}.")
    try:
        return replace(PRESETS[config.preset], **config.model_overrides)
    except TypeError as exc:
        raise SentioMLError(f"Unknown model setting in model_overrides: {exc}.") from exc


def _schedule(total_steps: int, warmup_steps: int, min_ratio: float) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _param_groups(model: MoodRegressor, config: TrainConfig) -> list[dict]:
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_backbone = name.startswith("backbone.")
        no_decay = param.ndim < 2 or "norm" in name.lower() or "embeddings" in name
        groups.setdefault((is_backbone, no_decay), []).append(param)
    out = []
    for (is_backbone, no_decay), params in sorted(groups.items()):
        lr = (config.backbone_lr or config.lr) if is_backbone else config.lr
        out.append({"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else config.weight_decay})
    return out


@torch.no_grad()
def predict_crops(
    model: torch.nn.Module, crops: ClipCrops, frames: int, count: int, device: torch.device, batch_size: int = 32,
) -> np.ndarray:
    """[N, 2] predictions, each the mean over `count` evenly spaced crops of the clip."""
    was_training = model.training
    model.eval()
    out = np.zeros((len(crops), 2), dtype=np.float64)
    per_batch = max(1, batch_size // count)
    for start in range(0, len(crops), per_batch):
        idx = range(start, min(len(crops), start + per_batch))
        feats = torch.cat([crops.eval_crops(i, frames, count) for i in idx]).to(device)
        extra = {}
        if getattr(model, "needs_audio", False):
            extra["audio"] = torch.cat([crops.eval_audio(i, frames, count) for i in idx]).to(device)
        if getattr(model, "needs_musicnn", False):
            patches = model.config.musicnn_patches
            extra["musicnn_input"] = torch.cat([crops.eval_musicnn(i, frames, count, patches) for i in idx]).to(device)
        pred = model(feats, **extra).float().cpu().numpy().reshape(len(idx), count, 2).mean(axis=1)
        out[start : start + len(idx)] = pred
    model.train(was_training)
    return out


def predict_clips(
    result: TrainResult, clips: Sequence[Clip], cache: FeatureCache, crops: int | None = None, device: str = "auto",
) -> np.ndarray:
    """Predictions [N, 2] on the unit scale for clips (test-time averaging over `crops` excerpts)."""
    dev = resolve_device(device)
    model = result.model.to(dev)
    data = ClipCrops(clips, cache, result.feature_config)
    return predict_crops(model, data, result.model_config.frames, crops or result.train_config.eval_crops, dev)


@torch.no_grad()
def predict_as_shipped(result: TrainResult, clips: Sequence[Clip], cache: FeatureCache, device: str = "auto",
                       batch_size: int = 32) -> tuple[np.ndarray, dict[str, list[float]]]:
    """The trained model declared as it ships (`Composition.from_hybrid`), run once over `clips` on `device`:
    predictions [N, 2] (each clip the mean over its `eval_crops` excerpts) and each part's share of their variance
    (`Composition.output_and_leaves`, `variance_shares`)."""
    from sentio_ml.composition import Composition, variance_shares

    dev = resolve_device(device)
    composition = Composition.from_hybrid(result.model).to(dev).eval()
    data = ClipCrops(clips, cache, result.feature_config)
    frames, count = result.model_config.frames, result.train_config.eval_crops
    predictions: list[np.ndarray] = []
    leaves: dict[str, list[np.ndarray]] = {}
    per_batch = max(1, batch_size // count)
    for start in range(0, len(data), per_batch):
        rows = [data.eval_views(i, frames, count, composition.views) for i in range(start, min(len(data), start + per_batch))]
        inputs = {name: torch.cat([row[name] for row in rows]).to(dev) for name in rows[0]}
        output, parts = composition.output_and_leaves(inputs)
        predictions.append(output.double().cpu().numpy().reshape(len(rows), count, 2).mean(axis=1))
        for name, value in parts.items():
            leaves.setdefault(name, []).append(value.double().cpu().numpy().reshape(len(rows), count, 2).mean(axis=1))
    return np.concatenate(predictions), variance_shares({name: np.concatenate(v) for name, v in leaves.items()})


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _EpochLog:
    """Per-epoch log rows as JSONL and CSV (rank 0 only)."""

    def __init__(self, directory: Path | None, resume: bool) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            if not resume:
                for name in ("train_log.jsonl", "train_log.csv"):
                    (directory / name).unlink(missing_ok=True)

    def write(self, row: dict) -> None:
        if self.directory is None:
            return
        with open(self.directory / "train_log.jsonl", "a") as handle:
            handle.write(json.dumps(row) + "\n")
        path = self.directory / "train_log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


@dataclass
class _Run:
    """What every epoch of one training run shares: data, network, optimiser, AMP and the step count."""

    config: TrainConfig
    model: MoodRegressor
    net: torch.nn.Module  # `model`, or its DDP wrapper
    device: torch.device
    train_data: ClipCrops
    val_data: ClipCrops | None
    synthetic: SyntheticSource | None
    rank: int
    world: int
    per_rank: int  # training crops per rank and epoch
    steps_per_epoch: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    use_amp: bool
    amp_dtype: torch.dtype
    frames: int  # the preset's crop length in fbank frames
    step: int = 0

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs


@dataclass
class _Best:
    """Early stopping's memory: the best epoch so far by validation loss (without validation, the last one)."""

    state: dict
    loss: float = math.inf
    epoch: int = 0

    def update(self, row: dict, model: MoodRegressor) -> None:
        monitored = row.get("val_loss", -row["epoch"])
        if monitored < self.loss:
            self.loss, self.epoch = monitored, row["epoch"]
            self.state = copy.deepcopy(model.state_dict())


def _training_device(config: TrainConfig, rank: int, world: int) -> torch.device:
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    return device


def _prepare_run(
    train_clips: Sequence[Clip], val_clips: Sequence[Clip], cache: FeatureCache, config: TrainConfig,
    synthetic: SyntheticSource | None,
) -> tuple[_Run, FeatureConfig]:
    """Data (normalised on the training clips), the model (DDP-wrapped under torchrun), AdamW with the
    warm-up + cosine schedule, and mixed precision on CUDA (bf16 where supported, else fp16 with a scaler)."""
    rank, world = _distributed()
    device = _training_device(config, rank, world)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    model_config = model_config_for(config)
    feature_config = fit_normalisation(cache, train_clips, model_config.feature_config())
    train_data = ClipCrops(train_clips, cache, feature_config)
    val_data = ClipCrops(val_clips, cache, feature_config) if val_clips else None

    model = build_model(model_config, backbone=config.backbone).to(device)
    net: torch.nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    per_rank = math.ceil(len(train_data) * config.crops_per_clip / world)
    steps_per_epoch = max(1, math.ceil(per_rank / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(_param_groups(model, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(total_steps, int(config.warmup_fraction * total_steps), config.min_lr_ratio)
    )
    use_amp = config.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    run = _Run(config, model, net, device, train_data, val_data, synthetic, rank, world, per_rank, steps_per_epoch,
               optimizer, scheduler, scaler, use_amp, amp_dtype, model_config.frames)
    return run, feature_config


def _resume_run(run: _Run, ckpt_dir: Path | None, history: list[dict], best: _Best) -> int:
    """Restore the model, optimiser, schedule, history and best epoch from a checkpoint; returns the next epoch."""
    if ckpt_dir is None:
        raise SentioMLError("Resuming needs the checkpoint folder of the interrupted run.")
    meta, best.state = load_checkpoint(ckpt_dir, run.model, run.optimizer, run.scheduler)
    history[:] = meta["history"]
    best.loss, best.epoch = meta["best_loss"], meta["best_epoch"]
    if meta.get("train_config") and meta["train_config"] != run.config.to_dict():
        raise SentioMLError("The checkpoint was made with other training settings; resume with the same config.")
    return meta["epoch"] + 1


def _training_batch(run: _Run, idx: np.ndarray, rng: np.random.Generator, torch_gen: torch.Generator):
    """One augmented batch (features, labels) on the CPU: random crops, synthetic samples, SpecAugment,
    mixup and label smoothing, in the order that fixes the random streams."""
    config, frames = run.config, run.frames
    feats, labels = run.train_data.random_batch(idx, frames, rng)
    if run.synthetic is not None and config.synthetic_ratio > 0:
        n_syn = max(1, round(len(idx) * config.synthetic_ratio))
        syn_feats, syn_labels = run.synthetic.sample(n_syn, torch_gen)
        feats = torch.cat([feats, fit_length(syn_feats.detach().float().cpu(), frames)])
        labels = torch.cat([labels, syn_labels.detach().float().cpu()])
    feats = spec_augment(feats, torch_gen, config.spec_time_masks, config.spec_time_width,
                         config.spec_freq_masks, config.spec_freq_width, config.gain_jitter)
    if config.mixup_alpha > 0:
        lam = float(rng.beta(config.mixup_alpha, config.mixup_alpha))
        perm = torch.randperm(len(feats), generator=torch_gen)
        feats = lam * feats + (1 - lam) * feats[perm]
        labels = lam * labels + (1 - lam) * labels[perm]
    if config.label_smoothing_sigma > 0:
        noise = config.label_smoothing_sigma * torch.randn(labels.shape, generator=torch_gen)
        labels = (labels + noise).clamp(0, 1)
    return feats, labels


def _optimiser_step(run: _Run, feats: torch.Tensor, labels: torch.Tensor) -> float:
    """Forward (under autocast with AMP), MSE loss, backward, clipping, AdamW and schedule step; the loss."""
    feats, labels = feats.to(run.device), labels.to(run.device)
    with torch.autocast(device_type=run.device.type, dtype=run.amp_dtype, enabled=run.use_amp):
        pred = run.net(feats)
    loss = torch.nn.functional.mse_loss(pred.float(), labels)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if run.config.grad_clip:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    run.step += 1
    return float(loss.detach())


def _train_epoch(
    run: _Run, epoch: int, progress: Callable[[StepProgress], None] | None, cancel: threading.Event | None,
) -> list[float] | None:
    """One epoch over this rank's shard; the step losses, or None when cancelled."""
    config = run.config
    rng = np.random.default_rng([config.seed, epoch])  # same permutation on every rank
    torch_gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch * 1009 + run.rank)
    order = np.concatenate([rng.permutation(len(run.train_data)) for _ in range(config.crops_per_clip)])
    order = np.resize(order, run.per_rank * run.world)[run.rank :: run.world]  # DistributedSampler-style shard
    run.net.train()
    losses = []
    for b in range(run.steps_per_epoch):
        if cancel is not None and cancel.is_set():
            return None
        idx = order[b * config.batch_size : (b + 1) * config.batch_size]
        losses.append(_optimiser_step(run, *_training_batch(run, idx, rng, torch_gen)))
        if progress and run.rank == 0 and b < run.steps_per_epoch - 1:
            progress(StepProgress(epoch, run.step, run.total_steps, losses[-1]))
    return losses


def _epoch_row(run: _Run, epoch: int, losses: list[float], started: float) -> dict:
    """The epoch's log row: training loss, learning rate and, with validation, loss, CCCs and macro-F1."""
    row = {"epoch": epoch, "train_loss": float(np.mean(losses)), "lr": run.scheduler.get_last_lr()[0]}
    val_data = run.val_data
    if val_data is not None:
        val_pred = predict_crops(run.model, val_data, run.frames, run.config.eval_crops, run.device)
        row["val_loss"] = float(np.mean((val_pred - val_data.labels) ** 2))
        m = evaluate_predictions(val_data.labels, val_pred, [c.quadrant for c in val_data.clips])
        row.update({"val_ccc_valence": m["valence"]["ccc"], "val_ccc_arousal": m["arousal"]["ccc"],
                    "val_macro_f1": m["quadrant"]["macro_f1"]})
    row["seconds"] = round(time.time() - started, 1)
    return row


def _attach_heads(run: _Run, model: MoodRegressor, history: list[dict]) -> MoodRegressor:
    """The trained network with the configured kernel and quadrant heads (fitted on the training clips,
    calibrated on the validation clips); their calibration figures go into the last history row."""
    config = run.config
    if config.kernel_head:
        from sentio_ml.training.kernel import attach_kernel_head

        model, info = attach_kernel_head(model, run.train_data, run.val_data, config.eval_crops, config.kernel_c,
                                         config.kernel_epsilon, config.kernel_blend, config.calibrate_output)
        if history:
            history[-1]["kernel_blend"] = info["blend"]
            history[-1]["output_scale"] = info["output_scale"]
    if config.quadrant_head:
        from sentio_ml.training.quadrant import attach_quadrant_head

        model, info = attach_quadrant_head(model, run.train_data, run.val_data, config.eval_crops, config.quadrant_c,
                                           config.quadrant_weight, config.audio_descriptors, config.calibrate_output,
                                           config.musicnn_patches if config.musicnn else 0)
        if history:
            history[-1].update({f"quadrant_{k}": v for k, v in info.items() if k in ("temperature", "val_macro_f1")})
    return model


def train(
    train_clips: Sequence[Clip],
    val_clips: Sequence[Clip],
    cache: FeatureCache,
    config: TrainConfig,
    synthetic: SyntheticSource | None = None,
    progress: Callable[[StepProgress], None] | None = None,
    cancel: threading.Event | None = None,
    log_dir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train a MoodRegressor on `train_clips`, early-stopping on `val_clips` (may be empty: then the
    last epoch is kept). Synthetic samples, when given, only ever enter training batches."""
    if not train_clips:
        raise SentioMLError("No training clips: check the dataset path and split.")
    if config.synthetic_ratio > 0 and synthetic is None:
        raise SentioMLError("synthetic_ratio > 0 needs a synthetic source (e.g. --gan).")
    run, feature_config = _prepare_run(train_clips, val_clips, cache, config, synthetic)
    model = run.model
    history: list[dict] = []
    best = _Best(copy.deepcopy(model.state_dict()))
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else None
    start_epoch = _resume_run(run, ckpt_dir, history, best) if resume else 1
    log = _EpochLog(Path(log_dir) if log_dir and run.rank == 0 else None, resume)

    stopped = "completed"
    run.step = (start_epoch - 1) * run.steps_per_epoch
    for epoch in range(start_epoch, config.epochs + 1):
        started = time.time()
        losses = _train_epoch(run, epoch, progress, cancel)
        if losses is None:
            stopped = "cancelled"
            break
        row = _epoch_row(run, epoch, losses, started)
        history.append(row)
        best.update(row, model)
        log.write(row)
        if progress and run.rank == 0:
            progress(StepProgress(epoch, run.step, run.total_steps, losses[-1], epoch_end=row))
        if ckpt_dir is not None and run.rank == 0:
            save_checkpoint(ckpt_dir, model, best.state, run.optimizer, run.scheduler, {
                "epoch": epoch, "history": history, "best_loss": best.loss, "best_epoch": best.epoch,
                "train_config": config.to_dict(),
            })
        if config.patience and run.val_data is not None and epoch - best.epoch >= config.patience:
            stopped = "early-stopped"
            break

    model.load_state_dict(best.state)
    model = model.cpu().eval()
    if stopped != "cancelled":
        model = _attach_heads(run, model, history)
    return TrainResult(model, model.config, feature_config, config, history, best.epoch, stopped)
