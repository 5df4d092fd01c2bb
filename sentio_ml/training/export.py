"""Turn a training result into a model bundle with its recipe, CV metrics and a model card."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sentio_ml.audio_descriptors import AUDIO_DESCRIPTOR_COUNT, N_MFCC
from sentio_ml.bundle import Bundle, save_bundle
from sentio_ml.composition import Composition
from sentio_ml.datasets import Dataset
from sentio_ml.descriptors import descriptor_count
from sentio_ml.evaluation.crossval import cv_result_from_dict
from sentio_ml.model import RHYTHM_LAGS
from sentio_ml.musicnn import EMBEDDING_DIM as TAGGER_EMBEDDING_DIM
from sentio_ml.musicnn import LICENSE as MUSICNN_LICENSE
from sentio_ml.musicnn import MSD_TAGS
from sentio_ml.training.loop import TrainResult

LIMITS = {
    "fourq": (
        "Labels are AllMusic editors' mood words for a song, mapped to valence/arousal through the Warriner "
        "word norms (the mean over a clip's words), not listener ratings of the audio; quadrant agreement of "
        "those continuous targets with the dataset's own quadrants is 96.3%. Training audio is 30-s AllMusic "
        "previews (22.05 kHz mono MP3), mostly Western popular genres; 720 clips, 525 artists. Expect wide "
        "errors on single tracks, on music far from that catalogue, and on non-music audio (which still "
        "gets a point on the map; the Predictor's music check flags it 'not music', sentio_ml.music_detector)."
    ),
}


def cv_section(cv_report: dict[str, Any] | None) -> tuple[list[str], dict[str, Any]]:
    if not cv_report:
        return ["## Cross-validation", "", "No cross-validation was run for this bundle."], {}
    folds = len(cv_report["models"][0]["folds"])
    lines = [f"## Cross-validation ({folds} fixed artist-disjoint folds, mean ± std over folds)", "",
             f"Command: `{cv_report['command']}`", "", "| metric | " + " | ".join(m["name"] for m in cv_report["models"]) + " |",
             "|---|" + "---|" * len(cv_report["models"])]
    keys = ("quadrant.macro_f1", "quadrant.accuracy", "valence.ccc", "valence.pearson_r", "valence.rmse",
            "arousal.ccc", "arousal.pearson_r", "arousal.rmse")
    for key in keys:
        cells = []
        for model in cv_report["models"]:
            s = model["summary"].get(key)
            cells.append(f"{s['mean']:.3f} ± {s['std']:.3f}" if s else "–")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    metrics = {"cv_command": cv_report["command"], "cv": {m["name"]: m["summary"] for m in cv_report["models"]},
               "cv_pooled_ci95": {m["name"]: m.get("pooled_ci95", {}) for m in cv_report["models"]}}
    shares = {m["name"]: cv_result_from_dict(m).mean_shares() for m in cv_report["models"]}
    shares = {name: value for name, value in shares.items() if value}
    if shares:
        metrics["shares"] = shares
        lines += ["", "Each part's share of the output's variance on the held-out folds (valence, arousal; "
                  "Cov(contribution, output) / Var(output), mean over folds):", ""]
        lines += [f"- {name}: " + "; ".join(f"`{part}` {v:.2f}, {a:.2f}" for part, (v, a) in value.items())
                  for name, value in shares.items()]
    return lines, metrics


def export_bundle(
    result: TrainResult,
    dataset: Dataset,
    out_dir: str | Path,
    command: str,
    cv_report: dict[str, Any] | None = None,
    name: str | None = None,
    version: str = "1.0.0",
    excerpts: int | None = None,
) -> Path:
    mc, fc, tc = result.model_config, result.feature_config, result.train_config
    excerpts = excerpts or max(3, tc.eval_crops)
    cv_lines, metrics = cv_section(cv_report)
    metrics["training"] = {"history": result.history, "best_epoch": result.best_epoch, "stopped": result.stopped}
    training_data = {
        "dataset": dataset.name, "clips": len(dataset.clips), "label_scale": list(dataset.scale),
        "recipe": tc.to_dict(), "command": command,
    }
    bundle = Bundle.from_composition(
        Composition.from_hybrid(result.model), name=name or f"sentio-{dataset.name}-{mc.name}", version=version, features=fc,
        normalisation_source=f"log-mel mean/std of the {dataset.name} training clips", excerpts=excerpts,
        training_data=training_data, label_source_scale=dataset.scale, metrics=metrics,
    )
    card = [
        f"# {bundle.name} {version}",
        "",
        "Predicts valence (sad ↔ happy) and arousal (calm ↔ energetic) on [0, 1] (0.5 = neutral) for a music track: "
        f"the mean over {excerpts} evenly spread excerpts of {fc.excerpt_seconds:.2f} s.",
        "",
        "## Composition",
        "",
        "What the bundle computes, generated from it (`sentio_ml.composition`); the sections below say how each "
        "part was made.",
        "",
        bundle.model.describe(),
        "",
        *_model_section(result),
        "",
        "## Data",
        f"- {dataset.name}: {len(dataset.clips)} clips, labels on {dataset.scale[0]:g}–{dataset.scale[1]:g} mapped to [0, 1].",
        f"- {LIMITS.get(dataset.name, 'See the dataset documentation for how the labels were made.')}",
        "",
        *_recipe_section(result, command),
        "",
        *cv_lines,
        "",
        *_limits_section(result),
    ]
    bundle.card = "\n".join(card) + "\n"
    return save_bundle(bundle, out_dir)


def _model_section(result: TrainResult) -> list[str]:
    """The card's "Model" section: the network, the kernel and quadrant heads when present, the input."""
    mc, fc = result.model_config, result.feature_config
    weights = sum(p.numel() for p in result.model.parameters())
    slowest, fastest = (6000 / int(lag) for lag in (RHYTHM_LAGS.max(), RHYTHM_LAGS.min()))  # lags in 10-ms frames
    rhythm = f", onset-envelope autocorrelation {slowest:g}–{fastest:g} BPM and loudness percentiles" if mc.stats_rhythm else ""
    return [
        "## Model",
        f"- AST-family hybrid, {weights / 1e6:.2f} M parameters, trained from scratch: a {mc.num_layers}-layer, "
        f"{mc.hidden_size}-wide Audio Spectrogram Transformer (transformers' ASTModel) on the log-mel fbank "
        f"average-pooled {mc.pool_time}x in time / {mc.pool_freq}x in frequency ({mc.num_patches} patches of "
        f"{mc.patch_size}x{mc.patch_size}), concatenated with a statistics branch (per-band mean/std of the fbank "
        f"and its delta{rhythm}) "
        "and an MLP head with a sigmoid.",
        *([_kernel_line(result)] if mc.kernel_rows else []),
        *([_quadrant_line(result)] if mc.quadrant_rows else []),
        f"- Input: {fc.num_mel_bins}-bin Kaldi log-mel fbank (AST's), {fc.sample_rate} Hz mono, normalised with the "
        f"training clips' statistics (mean {fc.mean:.3f}, std {fc.std:.3f}).",
    ]


def _kernel_line(result: TrainResult) -> str:
    mc, tc = result.model_config, result.train_config
    valence_scale, arousal_scale = result.model.kernel.out_scale.tolist()
    return (
        f"- Kernel head: an RBF support-vector regressor (scikit-learn, C {tc.kernel_c:g}, epsilon {tc.kernel_epsilon:g}) on "
        f"{mc.kernel_rows} rows of {descriptor_count(mc.num_mel_bins)} descriptors computed from the fbank "
        f"({tc.eval_crops} excerpts per training clip: "
        "MFCC mean/std and delta std, spectral centroid/bandwidth/roll-off/flatness, band contrast, loudness and "
        "dynamics, tempo and pulse clarity), stored as tensors; output = "
        f"{1 - mc.kernel_blend:.1f} x network + {mc.kernel_blend:.1f} x kernel (weight chosen on the validation artists), "
        f"then each dimension expanded around the training mean (valence x{valence_scale:.1f}, arousal x{arousal_scale:.1f}; "
        "factors that maximise validation CCC, undoing the shrinkage of averaging two regressors)."
    )


def _quadrant_line(result: TrainResult) -> str:
    mc, fc, tc = result.model_config, result.feature_config, result.train_config
    quadrant = result.model.quadrant
    spread_valence, spread_arousal = (quadrant.centroids[0] - 0.5).abs().tolist()
    views = [f"one set on the {descriptor_count(mc.num_mel_bins)} fbank descriptors"]
    if mc.audio_descriptors:
        views.append(
            f"one on {AUDIO_DESCRIPTOR_COUNT} librosa descriptors of each excerpt's waveform at {fc.sample_rate / 1000:g} kHz "
            "(tempo and pulse, loudness and dynamics, spectral shape and contrast, zero-crossing rate, "
            f"{N_MFCC} MFCC mean/std and delta std, harmonic/percussive ratio, chroma, key clarity and mode, tonnetz)"
        )
    if mc.musicnn:
        patches = (f"averaged over the excerpt's central {mc.musicnn_patches} 3-s patches" if mc.musicnn_patches > 1
                   else "of the excerpt's central 3 s")
        views.append(
            "one on the embedding of each excerpt by musicnn (Pons & Serra 2019; licence below), a "
            f"music tagger pretrained on the Million Song Dataset's {len(MSD_TAGS)} most frequent Last.fm tags, kept frozen: "
            f"its {TAGGER_EMBEDDING_DIM - len(MSD_TAGS)}-unit penultimate layer and {len(MSD_TAGS)} tag logits (genres, "
            f"eras, instruments and moods such as happy, sad, Mellow, party), {patches}"
        )
    return (
        "- Quadrant head: one-vs-rest RBF support-vector classifiers of the four quadrants (scikit-learn SVC, C "
        f"{tc.quadrant_c:g}) on {mc.quadrant_rows} rows ({tc.eval_crops} excerpts per training clip), " + "; ".join(views)
        + "; their mean decision values become quadrant probabilities (softmax, temperature "
        f"{float(quadrant.temperature):g} fitted on the validation artists), and the head's point is the "
        "probability-weighted mean of four quadrant centroids placed symmetrically around 0.5 (at 0.5 ± "
        f"{spread_valence:.3f} valence, ± {spread_arousal:.3f} arousal: the training labels' mean distance from 0.5, "
        "widened by the factor that minimises the validation squared error), so "
        "it lies on the side of each axis its probabilities favour; output = "
        f"{1 - mc.quadrant_weight:.2f} x the above + {mc.quadrant_weight:.2f} x the quadrant head's point."
    )


def _recipe_section(result: TrainResult, command: str) -> list[str]:
    from sentio_ml.gan.ablation import gan_card_line

    fc, tc = result.feature_config, result.train_config
    return [
        "## Recipe",
        f"- Retrain from scratch: `{command}`",
        f"- AdamW (lr {tc.lr:g}, weight decay {tc.weight_decay:g}), {tc.warmup_fraction:.0%} linear warm-up then cosine, "
        f"batch {tc.batch_size}, up to {tc.epochs} epochs with early stopping (patience {tc.patience}) on "
        f"{tc.validation_fraction:.0%} of the artists held out; one random {fc.excerpt_seconds:.2f}-s crop per clip per "
        f"epoch from a cached whole-clip fbank; SpecAugment ({tc.spec_time_masks}x{tc.spec_time_width} frames, "
        f"{tc.spec_freq_masks}x{tc.spec_freq_width} bands), level jitter ±{tc.gain_jitter:g}; MSE on [0, 1]; "
        f"{tc.eval_crops} crops averaged at evaluation; seed {tc.seed}.",
        f"- This run: best epoch {result.best_epoch} of {len(result.history)} ({result.stopped}).",
        f"- {gan_card_line(tc.synthetic_ratio)}",
    ]


def _limits_section(result: TrainResult) -> list[str]:
    """The card's "Limits" section, and the musicnn weights' licence when the model carries them."""
    mc = result.model_config
    network_share = (1 - mc.kernel_blend if mc.kernel_rows else 1.0) * (1 - mc.quadrant_weight if mc.quadrant_rows else 1.0)
    lines = [
        "## Limits",
        "- Quadrant = sign of each prediction around 0.5; scores are against the dataset's own quadrant labels.",
    ]
    if mc.quadrant_rows:
        lines.append("- The quadrant head pulls each track towards its most likely quadrant's centre: points spread less "
                     "within a quadrant than between quadrants, so read the map by regions more than by fine distances.")
    if network_share < 0.5:
        lines.append(
            f"- The transformer network supplies {network_share:.0%} of the output (the rest comes from the descriptor "
            f"{'and tagger ' if mc.musicnn else ''}heads): trained from scratch on a few hundred clips it is the weakest "
            "part; a pretrained backbone (`--backbone`) is the way to give it more weight where one can be downloaded.")
    lines += [
        f"- {'Apart from the frozen musicnn tagger, trained' if mc.musicnn else 'Trained'} from scratch on a CPU on a "
        "few hundred clips, from audio alone: it captures tempo, loudness, brightness, texture and style far better "
        "than harmony or lyrics, so valence is weaker than arousal.",
        "- Not for decisions about people; a mood estimate of a recording, nothing more.",
    ]
    if mc.musicnn:
        licence = MUSICNN_LICENSE.read_text().strip().splitlines()
        lines += [
            "- musicnn learned from the Million Song Dataset's audio and Last.fm tags (crowd tags, not this dataset's "
            "labels); some training songs here may be among its million, which could flatter the CV figures slightly.",
            "", "## Third-party weights", "",
            "The musicnn weights (converted from the `musicnn` 0.1.0 package by `scripts/convert_musicnn.py`) are "
            "distributed under this licence:", "", *("> " + line if line else ">" for line in licence),
        ]
    return lines


def load_cv_report(path: str | Path) -> dict[str, Any]:
    from sentio_ml.errors import SentioMLError

    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SentioMLError(f"Cannot read the CV report {path}; give the report.json written by `sentio-ml cv`.") from exc
