"""CV report: Markdown + JSON + PNG plots (matplotlib, Agg backend, no display needed).

One report can hold several models side by side (the shipped AST-family model and the librosa
reference); every number carries the command that produced it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from sentio_ml.evaluation.crossval import CVResult
from sentio_ml.evaluation.metrics import QUADRANTS, quadrants_from_unit
from sentio_ml.scale import from_unit

HEADLINE = (
    "quadrant.macro_f1", "quadrant.accuracy",
    "valence.ccc", "valence.pearson_r", "valence.r2", "valence.rmse", "valence.mae",
    "arousal.ccc", "arousal.pearson_r", "arousal.r2", "arousal.rmse", "arousal.mae",
)


def format_table(results: Sequence[CVResult]) -> str:
    """Markdown table: one row per metric, one column per model, `mean ± std` over folds."""
    summaries = [r.summary() for r in results]
    lines = ["| metric | " + " | ".join(r.name for r in results) + " |", "|---|" + "---|" * len(results)]
    for key in HEADLINE:
        cells = [f"{s[key][0]:.3f} ± {s[key][1]:.3f}" if key in s else "–" for s in summaries]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plots(results: Sequence[CVResult], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def save(fig, name: str) -> str:
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        return name

    files = []
    for result in results:
        slug = result.name.replace(" ", "_").replace("/", "_")
        y_true = np.concatenate([f.y_true for f in result.folds])
        y_pred = np.concatenate([f.y_pred for f in result.folds])
        q_true = np.array([q for f in result.folds for q in f.q_true])
        t_s, p_s = from_unit(y_true, *result.scale), from_unit(y_pred, *result.scale)
        files.append(save(_scatter_plot(plt, result, t_s, p_s), f"{slug}_scatter.png"))
        files.append(save(_va_plane_plot(plt, result, p_s, q_true), f"{slug}_va_plane.png"))
        files.append(save(_confusion_plot(plt, result, q_true, y_pred), f"{slug}_confusion.png"))
        if any(f.history and "epoch" in f.history[0] for f in result.folds):
            files.append(save(_learning_curves_plot(plt, result), f"{slug}_learning_curves.png"))
    return files


def _scatter_plot(plt, result: CVResult, t_s: np.ndarray, p_s: np.ndarray):
    """True vs predicted valence and arousal (on the dataset's scale), one panel each."""
    low, high = result.scale
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for i, (ax, dim) in enumerate(zip(axes, ("valence", "arousal"))):
        ax.scatter(t_s[:, i], p_s[:, i], s=8, alpha=0.5)
        ax.plot([low, high], [low, high], "k--", lw=1)
        ax.set(xlabel=f"true {dim}", ylabel=f"predicted {dim}", title=f"{result.name}: {dim}",
               xlim=(low, high), ylim=(low, high))
    return fig


def _va_plane_plot(plt, result: CVResult, p_s: np.ndarray, q_true: np.ndarray):
    """Predicted points on the valence/arousal plane, coloured by their true quadrant."""
    low, high = result.scale
    fig, ax = plt.subplots(figsize=(5.6, 5.4))
    colors = {1: "tab:orange", 2: "tab:red", 3: "tab:blue", 4: "tab:green"}
    for q in QUADRANTS:
        sel = q_true == q
        ax.scatter(p_s[sel, 0], p_s[sel, 1], s=9, alpha=0.6, c=colors[q], label=f"true Q{q}")
    mid = (low + high) / 2
    ax.axhline(mid, color="k", lw=0.7)
    ax.axvline(mid, color="k", lw=0.7)
    ax.set(xlabel="predicted valence", ylabel="predicted arousal", title=f"{result.name}: predictions on the V/A plane",
           xlim=(low, high), ylim=(low, high))
    ax.legend(fontsize=8)
    return fig


def _confusion_plot(plt, result: CVResult, q_true: np.ndarray, y_pred: np.ndarray):
    """The quadrant confusion matrix over all folds, with counts."""
    confusion = np.zeros((4, 4), dtype=int)
    for t, p in zip(q_true, quadrants_from_unit(y_pred)):
        confusion[t - 1, p - 1] += 1
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.imshow(confusion, cmap="Blues")
    for r in range(4):
        for c in range(4):
            color = "white" if confusion[r, c] > confusion.max() / 2 else "black"
            ax.text(c, r, str(confusion[r, c]), ha="center", va="center", color=color)
    names = [f"Q{q}" for q in QUADRANTS]
    ax.set(xticks=range(4), yticks=range(4), xticklabels=names, yticklabels=names, xlabel="predicted", ylabel="true",
           title=f"{result.name}: quadrants (all folds)")
    return fig


def _learning_curves_plot(plt, result: CVResult):
    """Per-epoch train and validation losses of each fold's network."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, f in enumerate(result.folds):
        epochs = [h["epoch"] for h in f.history]
        color = f"C{i % 10}"
        for key, style, label in (("train_loss", "-", "train"), ("val_loss", "--", "validation")):
            if key in f.history[0]:
                ax.plot(epochs, [h[key] for h in f.history], style, lw=1, color=color, label=f"fold {f.fold} {label}")
    ax.set(xlabel="epoch", ylabel="loss (MSE, unit scale)", title=f"{result.name}: learning curves (network, per epoch)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def load_results(report_json: str | Path) -> list[CVResult]:
    """The CVResults stored in a report.json (to redraw or compare reports without rerunning)."""
    from sentio_ml.evaluation.crossval import cv_result_from_dict

    return [cv_result_from_dict(model) for model in json.loads(Path(report_json).read_text())["models"]]


def write_report(results: Sequence[CVResult], out_dir: str | Path, command: str, notes: str = "") -> Path:
    """Write report.md, report.json and the plots into `out_dir`; returns the Markdown path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(results, out_dir)
    payload = {"command": command, "notes": notes, "models": [r.to_dict() for r in results]}
    (out_dir / "report.json").write_text(json.dumps(payload, indent=1))

    lines = [
        "# Cross-validation report",
        "",
        f"Command: `{command}`",
        "",
        f"Folds: {', '.join(str(f.fold) for f in results[0].folds)} (mean ± std over folds; RMSE/MAE on the dataset's "
        f"{results[0].scale[0]:g}–{results[0].scale[1]:g} scale; quadrant of a prediction = sign around the centre, "
        "scored against the dataset's own quadrant labels).",
        "",
        format_table(results),
        "",
        "## Pooled out-of-fold predictions, 95% bootstrap CIs",
        "",
    ]
    for result in results:
        lines.append(f"**{result.name}**: " + "; ".join(
            f"{k} {p:.3f} [{lo:.3f}, {hi:.3f}]" for k, (p, lo, hi) in result.pooled_ci().items()
        ))
        lines.append("")
    lines.append("## Per fold")
    lines.append("")
    for result in results:
        lines.append(f"**{result.name}**: " + ", ".join(
            f"fold {f.fold}: F1 {f.metrics['quadrant']['macro_f1']:.3f} ({f.seconds:.0f} s)" for f in result.folds
        ))
        lines.append("")
    shared = [r for r in results if r.mean_shares()]
    if shared:
        lines += ["## Each part's share of the output", "",
                  "Cov(part's contribution, output) / Var(output) of the track-level predictions on each test fold, mean "
                  "over folds (valence, arousal); the parts are those of the model as it ships (sentio_ml.composition).", ""]
        lines += [f"**{r.name}**: " + "; ".join(f"{name} {v:.3f}, {a:.3f}" for name, (v, a) in r.mean_shares().items())
                  for r in shared]
        lines.append("")
    if notes:
        lines += ["## Notes", "", notes, ""]
    lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots]
    md = out_dir / "report.md"
    md.write_text("\n".join(lines) + "\n")
    return md
