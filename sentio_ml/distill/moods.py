"""Task-level distillation: the AST learns the teachers' valence/arousal on every crop, not only the labels.

The labelled clips are few (576 per training split); the crops are many (every 4Q clip in several augmented
renderings, mixes of two clips, and the unlabelled corpus). For one training split:

1. each teacher's linear probe is fitted on the training clips (its outputs averaged over a clip's clean
   crops, ridge penalty by inner artist-grouped CV, spread calibrated) and predicts every crop from that
   crop's own teacher outputs — on augmented and mixed audio the teacher heard that very audio;
2. a crop's target is the teachers' mean prediction; for a crop of a labelled training clip it is the mean of
   that and the clip's label (`LABEL_WEIGHT`);
3. the AST (started from the distilled student) and a linear layer (started from ridge) are trained on those
   targets under SpecAugment, on the training clips' crops and the unlabelled ones — never on a test clip's
   crop or on the artists held out for calibration;
4. the spread calibration comes from the held-out artists' excerpts, as in `sentio_ml.distill.tune`.

Labels enter only from the training split, at step 1 and 2. This is how CED and EfficientAT turn a teacher
ensemble into one student: the student sees far more (pseudo-)labelled audio than the labelled set holds.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentio_ml.composition import AstPart, LinearHead
from sentio_ml.datasets import Clip, Dataset
from sentio_ml.distill.student import load_set, lr_at, spec_augment
from sentio_ml.distill.tune import as_linear, calibration_split, embed_fbank
from sentio_ml.evaluation.crossval import FoldOutput
from sentio_ml.evaluation.spread import affine_calibration

LABEL_WEIGHT = 0.5
RIDGE_ALPHA = 100.0  # the starting linear layer only; the whole layer is trained afterwards


@dataclass
class CropSet:
    """Every distillation crop: its student input, its teachers' outputs and the labelled clip it comes from."""

    fbank: np.ndarray  # float16 [N, pooled frames, mel], un-normalised
    teachers: dict[str, np.ndarray]  # teacher -> float32 [N, embedding ⊕ logits]
    clip: np.ndarray  # int [N]: index into dataset.clips, -1 for unlabelled audio

    def __len__(self) -> int:
        return len(self.clip)


def load_crops(crop_dirs: list[Path], teachers: list[str], frames: int, dataset: Dataset) -> CropSet:
    crops = load_set(crop_dirs, teachers, frames)
    index = {str(c.path.resolve()): i for i, c in enumerate(dataset.clips)}
    return CropSet(crops.fbank, crops.targets, np.array([index.get(f, -1) for f in crops.files]))


def teacher_moods(clip_features: dict[str, np.ndarray], crops: CropSet, rows: np.ndarray, labels: np.ndarray,
                  groups: list[str]) -> np.ndarray:
    """[crops, 2]: the mean of every teacher's calibrated probe, fitted on clips `rows`, applied to each crop."""
    from sentio_ml.distill.finetune import fit_head

    predictions = []
    for teacher, features in clip_features.items():
        alpha, offset, scale = fit_head(features[rows], labels, groups)
        head = LinearHead(features.shape[1]).fit(features[rows], labels, alpha)
        with torch.inference_mode():
            raw = head(torch.as_tensor(crops.teachers[teacher])).numpy()
        predictions.append(offset + scale * raw)
    return np.clip(np.mean(predictions, 0), 0.0, 1.0)


def crop_targets(moods: np.ndarray, crops: CropSet, clips: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, targets): unlabelled crops and crops of `clips` (whose labels are `labels`), with their targets."""
    label_of = dict(zip(clips.tolist(), labels))
    labelled = np.isin(crops.clip, clips)
    rows = np.flatnonzero(labelled | (crops.clip < 0))
    targets = moods[rows].copy()
    for i, row in enumerate(rows):
        if labelled[row]:
            targets[i] = LABEL_WEIGHT * label_of[int(crops.clip[row])] + (1 - LABEL_WEIGHT) * targets[i]
    return rows, targets.astype(np.float32)


def crop_inputs(crops: CropSet, rows: np.ndarray, stats: dict) -> torch.Tensor:
    return (torch.from_numpy(crops.fbank[rows].astype(np.float32)) - stats["mean"]) / (2 * stats["std"])


def distil_moods(part: AstPart, crops: CropSet, rows: np.ndarray, targets: np.ndarray, stats: dict, epochs: int,
                 lr: float = 2e-4, batch: int = 32, seed: int = 0) -> AstPart:
    """A copy of `part` trained on (crop, target) pairs; its head is the trained linear layer."""
    torch.manual_seed(seed)
    tuned = copy.deepcopy(part).train()
    with torch.inference_mode():
        start = np.concatenate([part.encoder(crop_inputs(crops, rows[i:i + 128], stats), pooled=True).numpy()
                                for i in range(0, len(rows), 128)])
    linear = as_linear(LinearHead(start.shape[1]).fit(start, targets, RIDGE_ALPHA))
    optimizer = torch.optim.AdamW([*tuned.encoder.parameters(), *linear.parameters()], lr=lr, weight_decay=0.05)
    generator = torch.Generator().manual_seed(seed)
    y = torch.from_numpy(targets)
    total, step = epochs * -(-len(rows) // batch), 0
    for _ in range(epochs):
        order = torch.randperm(len(rows), generator=generator)
        for first in range(0, len(rows), batch):
            picked = order[first:first + batch]
            inputs = spec_augment(crop_inputs(crops, rows[picked.numpy()], stats), generator, time_width=20, freq_width=20)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, lr, warmup=max(1, total // 20))
            loss = nn.functional.mse_loss(linear(tuned.encoder(inputs, pooled=True)), y[picked])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
            optimizer.step()
            step += 1
    with torch.no_grad():  # the trained layer as the part's head (identity standardisation)
        tuned.head.mean.zero_()
        tuned.head.std.fill_(1.0)
        tuned.head.weight.copy_(linear.weight.T)
        tuned.head.bias.copy_(linear.bias)
    return tuned.eval()


def fit_moods(part: AstPart, crops: CropSet, clip_features: dict[str, np.ndarray], excerpt_fbank: torch.Tensor,
              rows: np.ndarray, labels: np.ndarray, groups: list[str], stats: dict, epochs: int,
              seed: int = 0) -> tuple[AstPart, np.ndarray, np.ndarray]:
    """(tuned part, offset, scale) from the labelled clips `rows`: distilled on most artists, calibrated on the rest."""
    tune_rows, calibration_rows = calibration_split(groups, seed)
    moods = teacher_moods(clip_features, crops, rows[tune_rows], labels[tune_rows], [groups[i] for i in tune_rows])
    crop_rows, targets = crop_targets(moods, crops, rows[tune_rows], labels[tune_rows])
    tuned = distil_moods(part, crops, crop_rows, targets, stats, epochs, seed=seed)
    with torch.inference_mode():
        held = tuned.head(torch.as_tensor(embed_fbank(tuned, excerpt_fbank[rows[calibration_rows]]))).numpy()
    offset, scale = affine_calibration(labels[calibration_rows], held)
    return tuned, offset, scale


def moods_fit_predict(part: AstPart, crops: CropSet, clip_features: dict[str, np.ndarray], excerpt_fbank: torch.Tensor,
                      dataset: Dataset, stats: dict, epochs: int, log: Path | None = None):
    """A CV model (`run_cv`) of the task-distilled AST."""
    index = {c.path: i for i, c in enumerate(dataset.clips)}

    def fit_predict(train: list[Clip], test: list[Clip], fold: int) -> FoldOutput:
        rows = np.array([index[c.path] for c in train])
        tuned, offset, scale = fit_moods(part, crops, clip_features, excerpt_fbank, rows, dataset.labels(train),
                                         [c.split_key for c in train], stats, epochs, seed=fold)
        with torch.inference_mode():
            raw = tuned.head(torch.as_tensor(embed_fbank(tuned, excerpt_fbank[[index[c.path] for c in test]]))).numpy()
        if log:
            with open(log, "a") as handle:
                handle.write(json.dumps({"fold": fold, "scale": scale.round(3).tolist()}) + "\n")
        return FoldOutput(np.clip(offset + scale * raw, 0, 1), [{"scale": scale.tolist(), "epochs": epochs}])

    return fit_predict
