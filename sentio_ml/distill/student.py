"""Train the AST student on the teachers' targets: every teacher's embedding and logits from random crops.

    python -m sentio_ml.distill.student --crops cache/distill/crops --out cache/distill/student \\
        --teachers musicnn_msd mn04 --minutes 60

Loss: for each teacher, the mean squared error between a linear projection of the student's embedding and the
teacher's standardised outputs (embedding ⊕ logits, each dimension z-scored over the training crops);
teachers weigh equally. With `--whiten K` the targets are instead each teacher's K leading principal components of
those z-scored outputs, each scaled to unit variance: the z-scored loss weighs a component by its variance, so
the first few dominate it, while a linear probe on musicnn_msd needs its first 32 to reach its 4Q score
(docs/distillation.md). The student also gets SpecAugment masks the teachers never saw (KD with strong
augmentation, as in CED/EfficientAT); with `--mixup SHARE`, that share of each batch is also mixed with other crops
of the batch (`mix_batch`). No labels are used here.

Resumable: `student.safetensors` (encoder + projections), `optimizer.safetensors` and `state.json` are
rewritten every `--checkpoint-every` steps and at the end; rerunning the command continues from them.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentio_ml.ast_encoder import PRESETS, AstEncoder, EncoderConfig, init_like_vit
from sentio_ml.console import ProgressBar, cancel_on_ctrl_c, fraction
from sentio_ml.distill.crops import shard_paths
from sentio_ml.distill.targets import fbank_path, target_path


@dataclass
class DistillSet:
    fbank: np.ndarray  # float16 [N, pooled frames, mel], un-normalised
    targets: dict[str, np.ndarray]  # teacher -> float32 [N, D]
    files: list[str]  # source file of each crop (for a by-file validation split)


def pool_further(fbank: np.ndarray, frames: int) -> np.ndarray:
    """Average-pool a cached fbank [N, T, mel] down to `frames` (a whole factor of T) along time."""
    factor = fbank.shape[1] // frames
    if factor <= 1:
        return fbank
    return fbank[:, :frames * factor].reshape(len(fbank), frames, factor, -1).mean(2, dtype=np.float32).astype(np.float16)


def load_set(crops: Path | list[Path], teachers: list[str], frames: int) -> DistillSet:
    """The shards (of one or several crop folders) whose targets are all there; fbank pooled to the encoder's
    `frames` (its pooled_frames)."""
    fbanks, targets, files = [], {t: [] for t in teachers}, []
    for shard in (shard for folder in ([crops] if isinstance(crops, Path) else crops) for shard in shard_paths(folder)):
        if not fbank_path(shard).is_file() or not all(target_path(shard, t).is_file() for t in teachers):
            print(f"skipping {shard.name}: targets not computed yet", flush=True)
            continue
        fbanks.append(pool_further(np.load(fbank_path(shard)), frames))
        for t in teachers:
            targets[t].append(np.load(target_path(shard, t)))
        files += [c["file"] for c in json.loads(shard.with_suffix(".json").read_text())["crops"]]
    if not fbanks:
        folders = ", ".join(str(folder) for folder in ([crops] if isinstance(crops, Path) else crops))
        raise SystemExit(f"There are no crops with targets from {', '.join(teachers)} in {folders}: render them with "
                         "`sentio-ml distill crops`, then compute them with `sentio-ml distill targets --teachers ...`.")
    return DistillSet(np.concatenate(fbanks), {t: np.concatenate(v) for t, v in targets.items()}, files)


class Student(nn.Module):
    """The AST encoder and one linear projection per teacher onto its standardised outputs."""

    def __init__(self, config: EncoderConfig, target_dims: dict[str, int]) -> None:
        super().__init__()
        self.encoder = AstEncoder(config, backend="transformers")
        init_like_vit(self.encoder)
        self.projections = nn.ModuleDict({t: nn.Linear(config.embedding_dim, d) for t, d in target_dims.items()})

    def forward(self, pooled_fbank: torch.Tensor) -> dict[str, torch.Tensor]:
        embedding = self.encoder(pooled_fbank, pooled=True)
        return {t: head(embedding) for t, head in self.projections.items()}


def spec_augment(x: torch.Tensor, generator: torch.Generator, masks: int = 2, time_width: int = 24,
                 freq_width: int = 20) -> torch.Tensor:
    """Zero (= the normalised mean) random time and frequency stripes of each example, in place."""
    batch, frames, bins = x.shape
    for axis, size, width in ((1, frames, time_width), (2, bins, freq_width)):
        for _ in range(masks):
            widths = torch.randint(0, width + 1, (batch,), generator=generator)
            starts = (torch.rand(batch, generator=generator) * (size - widths)).long()
            index = torch.arange(size)[None, :]
            hit = (index >= starts[:, None]) & (index < (starts + widths)[:, None])
            x.masked_fill_(hit[:, :, None] if axis == 1 else hit[:, None, :], 0.0)
    return x


def mix_batch(x: torch.Tensor, y: dict[str, torch.Tensor], share: float, fbank_stats: dict,
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mix a `share` of the batch's examples with another example of the batch, at a random weight λ: the fbank's
    mel powers mixed (as mixing the audio would, up to phase), the z-scored targets interpolated (an approximation
    of the teacher on the mix; the crops' own mixes carry the teachers' real outputs). More views of the same audio,
    for a student that fits its training crops closely but held-out ones worse; it did not help (the round-6 ablation
    in docs/distillation.md), as interpolated targets are not what a teacher says of a mix."""
    batch = len(x)
    partner = torch.randperm(batch, generator=generator)
    weight = torch.rand(batch, generator=generator).clamp_min(1e-3)
    weight = torch.where(torch.rand(batch, generator=generator) < share, weight, torch.ones(batch))
    scale, offset = 2 * fbank_stats["std"], fbank_stats["mean"]
    raw = x * scale + offset  # the pooled log-mel fbank
    w = weight[:, None, None]
    mixed = torch.logaddexp(raw + torch.log(w), raw[partner] + torch.log1p(-w.clamp_max(1 - 1e-6)))
    mixed = torch.where(w >= 1, raw, mixed)
    return (mixed - offset) / scale, {t: weight[:, None] * v + (1 - weight[:, None]) * v[partner] for t, v in y.items()}


def lr_at(step: int, total: int, base: float, warmup: int, floor: float = 0.02) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def save_checkpoint(out: Path, model: Student, optimizer: torch.optim.Optimizer, state: dict) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "student.safetensors.tmp"))
    flat = {f"{index}.{name}": value for index, per in optimizer.state_dict()["state"].items()
            for name, value in per.items() if torch.is_tensor(value)}
    save_file({k: v.reshape(-1) if v.dim() == 0 else v for k, v in flat.items()}, str(out / "optimizer.safetensors.tmp"))
    (out / "state.json.tmp").write_text(json.dumps(state, indent=1))
    for name in ("student.safetensors", "optimizer.safetensors", "state.json"):
        (out / f"{name}.tmp").replace(out / name)


def load_checkpoint(out: Path, model: Student, optimizer: torch.optim.Optimizer) -> dict | None:
    from safetensors.torch import load_file

    if not (out / "state.json").is_file():
        return None
    model.load_state_dict(load_file(str(out / "student.safetensors")))
    flat = load_file(str(out / "optimizer.safetensors"))
    opt_state = optimizer.state_dict()
    for key, value in flat.items():
        index, name = key.split(".", 1)
        opt_state["state"].setdefault(int(index), {})[name] = value.reshape(()) if name == "step" else value
    optimizer.load_state_dict(opt_state)
    return json.loads((out / "state.json").read_text())


def standardiser(data: DistillSet, rows: np.ndarray, whiten: int = 0) -> dict[str, dict]:
    """The fbank's and each teacher's normalisation over the training crops; with `whiten`, also each teacher's
    "basis" [D, whiten]: its leading principal axes of the z-scored outputs over their standard deviations."""
    fb = data.fbank[rows[:4000]].astype(np.float32)
    stats = {"fbank": {"mean": float(fb.mean()), "std": float(fb.std())}}
    for t, values in data.targets.items():
        mean, std = values[rows].mean(0), values[rows].std(0) + 1e-3
        stats[t] = {"mean": mean.tolist(), "std": std.tolist()}
        if whiten:
            variances, axes = np.linalg.eigh(np.cov((values[rows] - mean) / std, rowvar=False))
            keep = variances.argsort()[::-1][:whiten]
            stats[t]["basis"] = (axes[:, keep] / np.sqrt(np.maximum(variances[keep], 1e-6))).tolist()
    return stats


def target_width(stats: dict, teacher: str) -> int:
    """How many values the student predicts for a teacher: its outputs, or its whitened components."""
    return len(stats[teacher]["basis"][0]) if "basis" in stats[teacher] else len(stats[teacher]["mean"])


def batch_tensors(data: DistillSet, rows: np.ndarray, stats: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    x = (torch.from_numpy(data.fbank[rows].astype(np.float32)) - stats["fbank"]["mean"]) / (2 * stats["fbank"]["std"])
    y = {t: (torch.from_numpy(v[rows]) - torch.tensor(stats[t]["mean"])) / torch.tensor(stats[t]["std"])
         for t, v in data.targets.items()}
    for t in y:
        if "basis" in stats[t]:
            y[t] = y[t] @ torch.tensor(stats[t]["basis"])
    return x, y


def loss_of(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    parts = {t: nn.functional.mse_loss(outputs[t], targets[t]) for t in outputs}
    return sum(parts.values()) / len(parts), {t: v.item() for t, v in parts.items()}


def evaluate(model: Student, data: DistillSet, rows: np.ndarray, stats: dict) -> dict[str, float]:
    if len(rows) == 0:
        return {}
    model.eval()
    totals: dict[str, float] = {}
    with torch.inference_mode():
        for first in range(0, len(rows), 128):
            x, y = batch_tensors(data, rows[first:first + 128], stats)
            _, parts = loss_of(model(x), y)
            for t, v in parts.items():
                totals[t] = totals.get(t, 0.0) + v * len(x)
    model.train()
    return {t: v / len(rows) for t, v in totals.items()}


def split_rows(files: list[str], validation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    unique = sorted(set(files))
    rng = np.random.default_rng(seed)
    held = set(rng.choice(unique, int(len(unique) * validation), replace=False)) if len(unique) > 1 else set()
    is_val = np.array([f in held for f in files])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def record_stage(state: dict, args: argparse.Namespace) -> None:
    """Keep the schedule's stages (crop folders, total steps, learning rate; the encoder preset, SpecAugment's stripes
    and the whitened components when not the defaults) for the model card's rebuild commands; a run that only continues the last
    stage changes nothing."""
    stage = {"crops": [folder.name for folder in args.crops], "steps": args.steps, "lr": args.lr}
    if getattr(args, "preset", "student") != "student":
        stage["preset"] = args.preset
    if getattr(args, "masks", 2) != 2:
        stage["masks"] = args.masks
    if getattr(args, "mixup", 0.0):
        stage["mixup"] = args.mixup
    whitened = {len(s["basis"][0]) for s in state.get("stats", {}).values() if "basis" in s}  # fixed at the start
    if whitened:
        stage["whiten"] = max(whitened)
    stages = state.setdefault("stages", [])
    if not stages or stages[-1] != stage:
        stages.append(stage)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    config = PRESETS[args.preset]
    data = load_set(args.crops, args.teachers, config.pooled_frames)
    train_rows, val_rows = split_rows(data.files, 0.05, args.seed)
    state_file = args.out / "state.json"  # a resumed run keeps its normalisation: the projections' widths depend on it
    stats = json.loads(state_file.read_text())["stats"] if state_file.is_file() else standardiser(data, train_rows, args.whiten)
    model = Student(config, {t: target_width(stats, t) for t in data.targets})
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    state = load_checkpoint(args.out, model, optimizer) or {
        "step": 0, "encoder": config.to_dict(), "teachers": args.teachers, "stats": stats,
        "total_steps": args.steps, "crops": len(train_rows), "validation_crops": len(val_rows), "history": []}
    state["total_steps"] = total = args.steps  # a resumed run may lengthen the schedule (and add crops)
    state["crops"], state["validation_crops"] = len(train_rows), len(val_rows)
    record_stage(state, args)
    stats = state["stats"]
    generator = torch.Generator().manual_seed(args.seed + state["step"])
    rng = np.random.default_rng(args.seed + state["step"])
    deadline = time.time() + 60 * args.minutes
    print(f"{len(train_rows)} training crops, {len(val_rows)} validation; step {state['step']} of {total}", flush=True)
    model.train()
    with cancel_on_ctrl_c("Stopping after this step and saving a checkpoint; rerun the command to continue "
                          "(Ctrl-C again to quit at once, losing the steps since the last checkpoint).") as cancel, \
            ProgressBar("student", unit="step") as bar:
        while state["step"] < total and time.time() < deadline and not cancel.is_set():
            loss = train_step(model, optimizer, data, train_rows, stats, state, args, rng, generator)
            bar(state["step"], total, postfix={"loss": f"{loss:.3f}"})
            if state["step"] % args.checkpoint_every == 0 or state["step"] == total:
                state["history"].append({"step": state["step"], "train": round(loss, 4),
                                         "validation": evaluate(model, data, val_rows, stats), "time": time.time()})
                print(json.dumps(state["history"][-1]), flush=True)
                save_checkpoint(args.out, model, optimizer, state)
    save_checkpoint(args.out, model, optimizer, state)


def train_step(model: Student, optimizer: torch.optim.Optimizer, data: DistillSet, train_rows: np.ndarray, stats: dict,
               state: dict, args: argparse.Namespace, rng: np.random.Generator, generator: torch.Generator) -> float:
    """One optimiser step on a random batch; returns its loss (and logs every 20th step)."""
    total = state["total_steps"]
    x, y = batch_tensors(data, rng.choice(train_rows, min(args.batch_size, len(train_rows)), replace=False), stats)
    for group in optimizer.param_groups:
        group["lr"] = lr_at(state["step"], total, args.lr, warmup=max(1, total // 20))
    if getattr(args, "mixup", 0.0):
        x, y = mix_batch(x, y, args.mixup, stats["fbank"], generator)
    loss, parts = loss_of(model(spec_augment(x, generator, masks=args.masks) if args.masks else x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    state["step"] += 1
    if state["step"] % 20 == 0:
        losses = {t: round(v, 4) for t, v in parts.items()}
        print(json.dumps({"step": state["step"], "loss": round(loss.item(), 4), **losses}), flush=True)
    return loss.item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, nargs="+", required=True, help="crop folders (sentio-ml distill crops)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--teachers", nargs="+", required=True)
    parser.add_argument("--preset", default="student", choices=sorted(PRESETS),
                        help="encoder size: student (shipped: 4 x 192 on 64 patches), student-fine-time (128 patches), "
                             "student-large (6 x 256); see sentio_ml.ast_encoder.PRESETS")
    parser.add_argument("--steps", type=int, default=3000, help="total optimiser steps (the schedule's length)")
    parser.add_argument("--minutes", type=float, default=1e9, help="stop (resumable) after this many minutes")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--masks", type=int, default=2, metavar="N",
                        help="SpecAugment stripes per axis on the student's input, which the teachers never see "
                             "(default: %(default)s; 0 trains on the clean fbank)")
    parser.add_argument("--mixup", type=fraction, default=0.0, metavar="SHARE",
                        help="mix this share of each batch's crops with another crop of the batch, targets interpolated "
                             "(default: 0, none; the crops' own mixes are always there. 0.5 lowered the student on both seeds "
                             "tried: docs/distillation.md)")
    parser.add_argument("--whiten", type=int, default=0, metavar="K",
                        help="learn each teacher's K leading principal components, each at unit variance, instead of "
                             "its z-scored outputs (default: 0, the z-scored outputs; fixed when the run starts)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
