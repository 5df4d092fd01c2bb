"""Ablation: two other ways to fit the linear valence/arousal head, on the frozen student and on the teachers.

    python scripts/head_checks.py --student cache/distill/student --teachers mn04 musicnn_msd

1. Targets. The linear probe (`distill heads`' ridge: alpha by inner CV over artists, spread calibration) is fitted
   on the clips' Warriner means, as shipped; on their quadrant signs (each clip at the labels' mean plus or minus
   one standard deviation, on the side its quadrant gives); and on the average of the two. Either way the
   predictions are calibrated to the labels' mean and spread.
2. Early fusion. One ridge on the student's embedding ⊕ every teacher's features (each column standardised, each
   block scaled to unit total variance, the student's block by c, so c sets its share), against the late blend the
   default ships: each part's out-of-fold predictions averaged, the AST at 0.55.
3. Components. The probe on each teacher's features with only their k leading principal components kept (the
   z-scored features projected onto them and back; axes from all clips' features, no labels): how much of what a
   probe reads sits in the components a student fits best (`scripts/student_fit.py`).

Prints, per model, the macro-F1 (mean ± std over the 5 fixed 4Q folds), the valence and arousal CCC and, for early
fusion, the student block's share of the held-out variance. A research check, not part of training. The teachers'
features (the Predictor's 3 excerpts per clip, as `distill probes` computes them) are cached in --cache.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

RIDGE_ALPHAS = tuple(10.0 ** np.arange(-4, 1.01, 0.5))  # for blocks scaled to unit total variance
FUSION_SCALES = (1.0, 1.5, 2.0, 3.0)
LEADING_COMPONENTS = (8, 32, 128)


def sign_targets(labels: np.ndarray, quadrants: np.ndarray) -> np.ndarray:
    """[N, 2]: the labels' mean ± their std, + where the quadrant has positive valence (Q1, Q4) or arousal (Q1, Q2)."""
    positive = np.stack([np.isin(quadrants, [1, 4]), np.isin(quadrants, [1, 2])], 1)
    return labels.mean(0) + np.where(positive, 1.0, -1.0) * labels.std(0)


def target_fit_predict(features: np.ndarray, dataset, mix: float):
    """A CV model: the linear probe fitted on (1 − mix)·labels + mix·sign targets, calibrated to the labels."""
    from sentio_ml.composition import LinearHead
    from sentio_ml.distill.finetune import fit_head
    from sentio_ml.evaluation.crossval import FoldOutput

    index = {c.path: i for i, c in enumerate(dataset.clips)}

    def fit_predict(train, test, fold):
        rows, groups = [index[c.path] for c in train], [c.split_key for c in train]
        labels = dataset.labels(train)
        targets = (1 - mix) * labels + mix * sign_targets(labels, np.array([c.quadrant for c in train]))
        alpha, offset, scale = fit_head(features[rows], targets, groups, calibrate_to=labels)
        head = LinearHead(features.shape[1]).fit(features[rows], targets, alpha)
        raw = head(torch.as_tensor(features[[index[c.path] for c in test]], dtype=torch.float32)).numpy()
        return FoldOutput(np.clip(offset + scale * raw, 0, 1))

    return fit_predict


def leading_components(features: np.ndarray, count: int) -> np.ndarray:
    """The z-scored features with all but their `count` leading principal components removed (same columns)."""
    standardised = (features - features.mean(0)) / (features.std(0) + 1e-6)
    variances, axes = np.linalg.eigh(np.cov(standardised, rowvar=False))
    kept = axes[:, variances.argsort()[::-1][:count]]
    return standardised @ kept @ kept.T


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) of ridge regression on columns used as they are (no re-standardising, unlike LinearHead)."""
    weight = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ (y - y.mean(0)))
    return weight, y.mean(0) - x.mean(0) @ weight


def fusion_fit_predict(blocks: list[np.ndarray], dataset, student_scale: float):
    """A CV model: one ridge on the blocks side by side (the first is the student's), alpha by inner CV over artists,
    spread-calibrated like the probe; each fold reports the student block's and the others' variance shares."""
    from sklearn.model_selection import GroupKFold

    from sentio_ml.composition import variance_shares
    from sentio_ml.distill.finetune import INNER_FOLDS
    from sentio_ml.evaluation.crossval import FoldOutput
    from sentio_ml.evaluation.spread import affine_calibration

    index = {c.path: i for i, c in enumerate(dataset.clips)}
    student_columns = blocks[0].shape[1]

    def fit_predict(train, test, fold):
        rows, groups = [index[c.path] for c in train], [c.split_key for c in train]
        stats = [(b[rows].mean(0), b[rows].std(0) + 1e-6) for b in blocks]

        def design(which: list[int]) -> np.ndarray:
            return np.concatenate([(b[which] - mean) / std / np.sqrt(b.shape[1]) * (student_scale if i == 0 else 1.0)
                                   for i, (b, (mean, std)) in enumerate(zip(blocks, stats))], 1)

        x, y = design(rows), dataset.labels(train)

        def inner(alpha: float) -> np.ndarray:
            out = np.zeros_like(y)
            for fit_rows, held in GroupKFold(INNER_FOLDS).split(x, y, groups):
                weight, bias = ridge(x[fit_rows], y[fit_rows], alpha)
                out[held] = x[held] @ weight + bias
            return out

        held_out = {a: inner(a) for a in RIDGE_ALPHAS}
        alpha = min(RIDGE_ALPHAS, key=lambda a: float(((held_out[a] - y) ** 2).mean()))
        offset, scale = affine_calibration(y, held_out[alpha])
        weight, bias = ridge(x, y, alpha)
        xt = design([index[c.path] for c in test])
        parts = {"student": xt[:, :student_columns] @ weight[:student_columns],
                 "teachers": xt[:, student_columns:] @ weight[student_columns:]}
        return FoldOutput(np.clip(offset + scale * (xt @ weight + bias), 0, 1),
                          shares=variance_shares({k: v * scale for k, v in parts.items()}))

    return fit_predict


def teacher_features(name: str, waves: np.ndarray, cache: Path) -> np.ndarray:
    from sentio_ml.distill.probes import teacher_features as compute

    path = cache / f"fourq-{name}-features.npy"
    if not path.is_file():
        np.save(path, compute(name, waves))
    return np.load(path)


def row(result, **extra) -> str:
    summary = result.summary()
    f1 = summary["quadrant.macro_f1"]
    return json.dumps({"model": result.name, "macro_f1": f"{f1[0]:.3f} ± {f1[1]:.3f}",
                       "ccc": [round(summary["valence.ccc"][0], 3), round(summary["arousal.ccc"][0], 3)], **extra},
                      ensure_ascii=False)


def main() -> None:
    from sentio_ml.distill.blend import blend
    from sentio_ml.distill.finetune import cv, probe_fit_predict, student_on_fourq
    from sentio_ml.distill.tune import embed_fbank
    from sentio_ml.teachers import TEACHER_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True, help="a `sentio-ml distill student` output folder")
    parser.add_argument("--teachers", nargs="+", default=["mn04", "musicnn_msd"], choices=TEACHER_NAMES)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"))
    parser.add_argument("--cache", type=Path, default=Path("cache/distill"),
                        help="where the 4Q excerpts (as `distill heads` caches them) and the teachers' features are kept")
    args = parser.parse_args()
    torch.set_num_threads(2)
    part, _, dataset, waves, fbank = student_on_fourq(args.student, args.data, args.cache / "fourq-excerpts.npy")
    features = {"student": embed_fbank(part, fbank)}
    features.update({name: teacher_features(name, waves, args.cache) for name in args.teachers})

    for name, values in features.items():
        for mix, target in ((0.0, "Warriner means"), (0.5, "means and signs averaged"), (1.0, "quadrant signs")):
            print(row(cv(dataset, target_fit_predict(values, dataset, mix), f"{name}, head on the {target}")), flush=True)

    probes = {name: cv(dataset, probe_fit_predict(values, dataset), f"{name} alone") for name, values in features.items()}
    rest = (1 - 0.55) / len(args.teachers)
    late = blend({name: (result, 0.55 if name == "student" else rest) for name, result in probes.items()})
    print(row(late, shares=late.mean_shares()), flush=True)
    for name in args.teachers:
        for count in LEADING_COMPONENTS:
            kept = leading_components(features[name], count)
            print(row(cv(dataset, probe_fit_predict(kept, dataset), f"{name}, its {count} leading components")), flush=True)

    blocks = list(features.values())
    for scale in FUSION_SCALES:
        joint = cv(dataset, fusion_fit_predict(blocks, dataset, scale), f"early fusion, student block x{scale:g}")
        print(row(joint, shares=joint.mean_shares()), flush=True)


if __name__ == "__main__":
    main()
