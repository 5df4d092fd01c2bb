"""Quality report files for a GAN run: loss curves, per-epoch sample grids, samples next to real excerpts
with similar labels, and report.md / metrics.json with FD, label fidelity and the mode-collapse verdict."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from sentio_ml.gan.errors import GanError


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _show(ax, fbank: np.ndarray, title: str, vmin: float, vmax: float) -> None:
    ax.imshow(np.asarray(fbank).T, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
              interpolation="nearest")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def _limits(*arrays: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=np.float32).ravel() for a in arrays])
    return float(np.percentile(values, 1)), float(np.percentile(values, 99))


def save_spectrogram_grid(path: Path, feats: torch.Tensor, labels: torch.Tensor, columns: int,
                          title: str = "") -> Path:
    """Excerpts [N, T, M] as a grid image, each titled with its (valence, arousal)."""
    plt = _pyplot()
    feats, labels = feats.detach().cpu().numpy(), labels.detach().cpu().numpy()
    rows = int(np.ceil(len(feats) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 1.6 * rows), squeeze=False)
    vmin, vmax = _limits(feats)
    for i, ax in enumerate(axes.ravel()):
        if i < len(feats):
            _show(ax, feats[i], f"v={labels[i, 0]:.2f} a={labels[i, 1]:.2f}", vmin, vmax)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_loss_curves(path: Path, history: dict[str, list[float]], epochs: Sequence[dict]) -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    steps = np.arange(1, len(history.get("g_loss", [])) + 1)
    window = max(1, len(steps) // 50)

    def smooth(values: list[float]) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        return np.convolve(values, np.ones(window) / window, mode="same") if len(values) >= window else values

    for key in ("d_loss", "g_loss"):
        if history.get(key):
            axes[0].plot(steps, history[key], alpha=0.25)
            axes[0].plot(steps, smooth(history[key]), label=key)
    axes[0].set_title("losses per generator step")
    axes[0].set_xlabel("step")
    axes[0].legend(fontsize=8)
    for key in ("d_real", "d_fake"):
        if history.get(key):
            axes[1].plot(steps, smooth(history[key]), label=key)
    axes[1].set_title("mean discriminator score")
    axes[1].set_xlabel("step")
    axes[1].legend(fontsize=8)
    if epochs:
        axes[2].plot([e["epoch"] for e in epochs], [e["within_label_diversity_ratio"] for e in epochs], marker="o")
    axes[2].set_title("diversity across noise (fixed labels) / real")
    axes[2].set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_samples_vs_real(path: Path, source, real_feats: torch.Tensor, real_labels: torch.Tensor,
                         rows: int = 5, synthetic_per_row: int = 3, seed: int = 0) -> Path:
    """Each row: a real excerpt, then synthetic excerpts conditioned on that excerpt's label."""
    plt = _pyplot()
    gen = torch.Generator().manual_seed(seed)
    picks = torch.randperm(len(real_labels), generator=gen)[:rows]
    picks = picks[torch.argsort(real_labels[picks, 1] * 10 + real_labels[picks, 0], descending=True)]
    fig, axes = plt.subplots(len(picks), 1 + synthetic_per_row,
                             figsize=(2.2 * (1 + synthetic_per_row), 1.7 * len(picks)), squeeze=False)
    synthetic = [source.render(real_labels[i].expand(synthetic_per_row, 2), gen) for i in picks]
    vmin, vmax = _limits(real_feats[picks].numpy(), *[s.numpy() for s in synthetic])
    for row, (i, fakes) in enumerate(zip(picks.tolist(), synthetic)):
        v, a = real_labels[i].tolist()
        _show(axes[row, 0], real_feats[i].numpy(), f"REAL v={v:.2f} a={a:.2f}", vmin, vmax)
        for col in range(synthetic_per_row):
            _show(axes[row, col + 1], fakes[col].numpy(), f"synthetic #{col + 1}", vmin, vmax)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_markdown(metrics: dict[str, Any], title: str = "GAN quality report") -> str:
    collapse = metrics.get("collapse", {})
    lines = [f"# {title}", ""]
    if collapse.get("collapsed"):
        lines += ["**MODE COLLAPSE / TRAINING FAILURE DETECTED:** " + "; ".join(collapse["reasons"]) + ".", ""]
    else:
        lines += ["No mode collapse detected by the checks below.", ""]
    lines += ["| figure | value |", "|---|---|"]
    for key in ("samples", "diversity_ratio", "noise_diversity_ratio", "feature_mean_abs_error",
                "frechet_distance", "frechet_distance_half", "frechet_distance_real_halves"):
        if key in metrics:
            lines.append(f"| {key} | {_fmt(metrics[key])} |")
    for key in ("d_zero_longest_streak", "d_zero_fraction", "final_g_loss"):
        if key in collapse:
            lines.append(f"| {key} | {_fmt(collapse[key])} |")
    if "label_fidelity" in metrics:
        lines += ["", "Label fidelity: a regressor trained on real data predicts the synthetic excerpts; agreement with "
                  "the labels the generator was conditioned on (next to the same regressor on the real excerpts).", "",
                  "| | valence CCC | arousal CCC | valence MAE | arousal MAE |", "|---|---|---|---|---|"]
        for name, key in (("synthetic vs conditioning label", "label_fidelity"), ("real vs true label", "real_reference")):
            m = metrics[key]
            lines.append(f"| {name} | {m['valence_ccc']:.3f} | {m['arousal_ccc']:.3f} | "
                         f"{m['valence_mae']:.3f} | {m['arousal_mae']:.3f} |")
    lines += ["", "Figures: `loss_curves.png`, `samples_vs_real.png`, `grids/epoch_*.png`. "
              "`frechet_distance_half` vs `frechet_distance_real_halves` compares synthetic-vs-real with the "
              "real-vs-real noise floor at the same sample size.", ""]
    return "\n".join(lines)


def write_quality_report(out_dir: str | Path, metrics: dict[str, Any], *, source=None,
                         real_feats: torch.Tensor | None = None, real_labels: torch.Tensor | None = None,
                         history: dict | None = None, epochs: Sequence[dict] = (),
                         grids: Sequence[torch.Tensor] = (), grid_labels: torch.Tensor | None = None,
                         grid_columns: int = 4, title: str = "GAN quality report") -> Path:
    """Write report.md, metrics.json and the figures into out_dir; returns the report path."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if history:
            save_loss_curves(out / "loss_curves.png", history, epochs)
        if grids and grid_labels is not None:
            (out / "grids").mkdir(exist_ok=True)
            for epoch, grid in zip(epochs, grids):
                save_spectrogram_grid(out / "grids" / f"epoch_{epoch['epoch']:03d}.png", grid, grid_labels,
                                      grid_columns, title=f"epoch {epoch['epoch']} (fixed noise, EMA generator)")
        if source is not None and real_feats is not None and real_labels is not None:
            save_samples_vs_real(out / "samples_vs_real.png", source, real_feats, real_labels)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        report = out / "report.md"
        report.write_text(render_markdown(metrics, title), encoding="utf-8")
    except OSError as exc:
        raise GanError(f"Cannot write the GAN quality report to {out}: {exc.strerror or exc}.") from exc
    return report


def write_samples(out_dir: str | Path, feats: torch.Tensor, labels: torch.Tensor, images: bool = True,
                  columns: int = 4) -> list[Path]:
    """samples.npy [N, T, M] + labels.npy [N, 2] (no pickles), one PNG per sample and grid.png."""
    out = Path(out_dir)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "samples.npy", feats.detach().cpu().numpy().astype(np.float32), allow_pickle=False)
        np.save(out / "labels.npy", labels.detach().cpu().numpy().astype(np.float32), allow_pickle=False)
        written += [out / "samples.npy", out / "labels.npy"]
        if images:
            plt = _pyplot()
            vmin, vmax = _limits(feats.numpy())
            for i, (x, y) in enumerate(zip(feats, labels)):
                fig, ax = plt.subplots(figsize=(4, 2.4))
                _show(ax, x.numpy(), f"synthetic v={y[0]:.3f} a={y[1]:.3f}", vmin, vmax)
                fig.tight_layout()
                path = out / f"sample_{i:03d}.png"
                fig.savefig(path, dpi=90)
                plt.close(fig)
                written.append(path)
            written.append(save_spectrogram_grid(out / "grid.png", feats, labels, columns))
    except OSError as exc:
        raise GanError(f"Cannot write samples to {out}: {exc.strerror or exc}.") from exc
    return written
