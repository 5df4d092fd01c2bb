"""The GAN ablation: compare `sentio-ml cv` runs (same folds and seeds) with and without synthetic data.

Every metric gets mean ± std over folds per run and, against the baseline run, the paired per-fold
difference (mean ± std, each fold's value, folds improved, and a paired t-test p-value — with 5 folds
the test has little power, so the per-fold column matters as much as p).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from sentio_ml.gan.errors import GanError

LOWER_IS_BETTER = ("rmse", "mae")

# What the 4Q ablation measured, in one sentence for model cards (tables and commands: docs/gan.md).
ABLATION_SUMMARY = (
    "GAN augmentation is not in this recipe: in the 5-fold 4Q ablation (docs/gan.md, run on the recipe before the "
    "quadrant head) synthetic ratio 0.25 changed macro-F1 by +0.008 +- 0.010 and CCC by +0.009 / +0.001 (within fold "
    "noise); ratio 0.5 by -0.005 F1."
)


def gan_card_line(synthetic_ratio: float) -> str:
    """The model card's sentence about GAN augmentation for a recipe with this synthetic ratio."""
    if synthetic_ratio and synthetic_ratio > 0:
        return (f"Synthetic GAN excerpts: {synthetic_ratio:g} per real excerpt in training batches only (never "
                "validation/test); see docs/gan.md for what the 4Q ablation measured.")
    return ABLATION_SUMMARY


@dataclass
class CVRun:
    label: str
    command: str
    folds: dict[int, dict[str, float]]  # fold -> flat metrics ("valence.ccc": ...)


def _flat(metrics: dict) -> dict[str, float]:
    flat = {}
    for group, values in metrics.items():
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    flat[f"{group}.{name}"] = float(value)
    return flat


def load_cv_run(path: str | Path, label: str | None = None, model: str | None = None) -> CVRun:
    """A `sentio-ml cv` report.json (or its folder); `model` picks one of its models (default: the first)."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        models = payload["models"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GanError(f"{path} is not a readable `sentio-ml cv` report.json.") from exc
    chosen = next((m for m in models if model is None or m.get("name") == model), None)
    if chosen is None:
        raise GanError(f"{path} has no model named {model!r}.")
    folds = {int(f["fold"]): _flat(f["metrics"]) for f in chosen["folds"]}
    return CVRun(label or path.parent.name, payload.get("command", ""), folds)


def _higher_is_better(metric: str) -> bool:
    return not metric.split(".")[-1].startswith(LOWER_IS_BETTER)  # rmse, rmse_unit, mae, mae_unit


def compare_runs(baseline: CVRun, arms: Sequence[CVRun]) -> list[dict]:
    """One row per (arm, metric) with means, stds and the paired per-fold differences arm - baseline."""
    rows = []
    for arm in arms:
        shared = sorted(set(baseline.folds) & set(arm.folds))
        if not shared:
            raise GanError(f"The runs {baseline.label!r} and {arm.label!r} share no folds.")
        metrics = [m for m in baseline.folds[shared[0]] if m in arm.folds[shared[0]]]
        for metric in metrics:
            base = np.array([baseline.folds[f][metric] for f in shared])
            other = np.array([arm.folds[f][metric] for f in shared])
            diff = other - base
            better = diff > 0 if _higher_is_better(metric) else diff < 0
            p = float(stats.ttest_rel(other, base).pvalue) if len(shared) > 1 and np.any(diff != diff[0]) else float("nan")
            rows.append({
                "arm": arm.label, "metric": metric, "folds": shared,
                "baseline_mean": float(base.mean()), "baseline_std": float(base.std()),
                "arm_mean": float(other.mean()), "arm_std": float(other.std()),
                "diff_mean": float(diff.mean()), "diff_std": float(diff.std()),
                "diff_per_fold": [float(d) for d in diff], "folds_improved": int(better.sum()), "p_value": p,
            })
    return rows


def format_comparison(baseline: CVRun, rows: list[dict], metrics: Sequence[str] | None = None) -> str:
    """Markdown: one table per arm (metric, baseline, arm, paired difference, per fold, improved, p)."""
    lines = []
    for arm in dict.fromkeys(r["arm"] for r in rows):
        lines += [f"**{arm}** vs **{baseline.label}** (difference = {arm} − {baseline.label}; "
                  "RMSE/MAE: lower is better)", "",
                  f"| metric | {baseline.label} | {arm} | paired diff | per fold | folds better | p (paired t) |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            if r["arm"] != arm or (metrics and r["metric"] not in metrics):
                continue
            per_fold = " ".join(f"{d:+.3f}" for d in r["diff_per_fold"])
            lines.append(
                f"| {r['metric']} | {r['baseline_mean']:.3f} ± {r['baseline_std']:.3f} | {r['arm_mean']:.3f} ± "
                f"{r['arm_std']:.3f} | {r['diff_mean']:+.3f} ± {r['diff_std']:.3f} | {per_fold} | "
                f"{r['folds_improved']}/{len(r['folds'])} | {r['p_value']:.2f} |")
        lines.append("")
    return "\n".join(lines)
