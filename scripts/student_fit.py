"""Diagnostic: where a distilled student's validation error lies among each teacher's principal components.

    python scripts/student_fit.py --student cache/distill/student --crops cache/distill/crops

The student's loss (without `--whiten`) is the mean squared error on each teacher's z-scored outputs, so every
principal component of those targets weighs by its variance. This prints, for bands of components (by variance,
largest first), their share of the targets' variance and the student's error on its held-out crops (the by-file
validation split `distill student` made with the same seed) as a share of that band's variance: 0 is a perfect fit,
1 no better than the mean. A `--whiten K` student's components are mapped back to the z-scored outputs first (the
components past K then score about 1). Beside `scripts/head_checks.py`'s rows for each teacher's leading components,
it says whether the student misses the components a linear probe reads.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

BANDS = ((0, 8), (8, 32), (32, 128), (128, None))


def principal_axes(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(variances, axes as columns) of the targets' covariance, largest variance first."""
    variances, axes = np.linalg.eigh(np.cov(targets, rowvar=False))
    order = variances.argsort()[::-1]
    return variances[order], axes[:, order]


def band_errors(predicted: np.ndarray, actual: np.ndarray, variances: np.ndarray, axes: np.ndarray,
                bands=BANDS) -> list[dict]:
    """Per band of components: its share of the variance and the residual sum of squares over the band's."""
    p, a = predicted @ axes, actual @ axes
    rows = []
    for first, last in bands:
        last = len(variances) if last is None else min(last, len(variances))
        if first >= last:
            break
        residual = ((p[:, first:last] - a[:, first:last]) ** 2).sum()
        spread = ((a[:, first:last] - a[:, first:last].mean(0)) ** 2).sum()
        share = variances[first:last].sum() / variances.sum()
        rows.append({"components": f"{first + 1}-{last}", "variance_share": round(float(share), 3),
                     "relative_error": round(float(residual / max(spread, 1e-12)), 3)})
    return rows


def main() -> None:
    from safetensors.torch import load_file

    from sentio_ml.ast_encoder import EncoderConfig
    from sentio_ml.distill.finetune import read_student_state
    from sentio_ml.distill.student import Student, batch_tensors, load_set, split_rows, target_width

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True, help="a `sentio-ml distill student` output folder")
    parser.add_argument("--crops", type=Path, nargs="+", required=True, help="the crop folders it was trained on")
    parser.add_argument("--seed", type=int, default=0, help="the student's --seed (it drew the validation split)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    state = read_student_state(args.student)
    config = EncoderConfig.from_dict(state["encoder"])
    data = load_set(args.crops, state["teachers"], config.pooled_frames)
    train_rows, validation_rows = split_rows(data.files, 0.05, args.seed)
    stats = state["stats"]
    model = Student(config, {t: target_width(stats, t) for t in state["teachers"]})
    model.load_state_dict(load_file(str(args.student / "student.safetensors")))
    model.eval()
    predicted: dict[str, list[np.ndarray]] = {t: [] for t in state["teachers"]}
    with torch.inference_mode():
        for first in range(0, len(validation_rows), 64):
            x, _ = batch_tensors(data, validation_rows[first:first + 64], stats)
            for teacher, output in model(x).items():
                predicted[teacher].append(output.numpy())
    for teacher in state["teachers"]:
        mean, std = np.array(stats[teacher]["mean"]), np.array(stats[teacher]["std"])
        prediction = np.concatenate(predicted[teacher])
        if "basis" in stats[teacher]:  # a --whiten student predicts components: back to the z-scored outputs
            prediction = prediction @ np.linalg.pinv(np.array(stats[teacher]["basis"]))
        variances, axes = principal_axes((data.targets[teacher][train_rows] - mean) / std)
        actual = (data.targets[teacher][validation_rows] - mean) / std
        for band in band_errors(prediction, actual, variances, axes):
            print(json.dumps({"teacher": teacher, **band}), flush=True)


if __name__ == "__main__":
    main()
