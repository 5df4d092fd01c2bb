"""Spread calibration of a model whose outputs are squeezed toward the centre.

Regression heads shrink toward the mean; the version-1 hybrid's held-out predictions have 0.64 (valence) and
0.74 (arousal) of the labels' standard deviation, so almost nothing reaches valence ≥ 0.7 and the mood map is a
blob. The fix is one factor per dimension, a stretch around the centre:

    calibrated = clamp(0.5 + factor · (prediction − 0.5), 0, 1),   factor = std(labels) / std(predictions)

with both standard deviations taken over out-of-fold predictions, so the factor is what held-out songs need.
Stretching around 0.5 keeps every prediction on its side of the centre, so the quadrants (and macro-F1) do not
change; CCC rises, RMSE rises a little (the price of not shrinking). `nested` scores this honestly: each fold
is stretched by factors fitted on the other folds' predictions only.

    python -m sentio_ml.evaluation.spread --bundle sentio_ml/resources/models/default

fits the factors on a bundle's own CV report (`cv/report.json`), writes them into its weights, and adds the
nested score to its report, metrics and model card.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from sentio_ml.evaluation.crossval import CVResult
from sentio_ml.evaluation.metrics import evaluate_predictions

SUFFIX = ", spread-calibrated"


def spread_factors(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per dimension, std(labels) / std(predictions) over the given out-of-fold predictions."""
    return np.asarray(y_true).std(0) / np.maximum(np.asarray(y_pred).std(0), 1e-6)


def affine_calibration(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) per dimension that give the held-out predictions the labels' mean and standard deviation
    (the distilled heads' calibration: unlike `stretch`, it also moves the centre)."""
    scale = spread_factors(y_true, y_pred)
    return np.asarray(y_true).mean(0) - scale * np.asarray(y_pred).mean(0), scale


def stretch(y_pred: np.ndarray, factors: np.ndarray) -> np.ndarray:
    return np.clip(0.5 + factors * (np.asarray(y_pred) - 0.5), 0.0, 1.0)


def pooled_factors(result: CVResult) -> np.ndarray:
    """The factors from every fold's out-of-fold predictions (what a bundle trained on all folds gets)."""
    return spread_factors(np.concatenate([f.y_true for f in result.folds]), np.concatenate([f.y_pred for f in result.folds]))


def nested(result: CVResult) -> CVResult:
    """The same predictions, each fold stretched by factors fitted on the other folds (an honest held-out score)."""
    folds = []
    for fold in result.folds:
        others = [f for f in result.folds if f is not fold] or [fold]  # one fold alone: nothing else to fit on
        factors = spread_factors(np.concatenate([f.y_true for f in others]), np.concatenate([f.y_pred for f in others]))
        y_pred = stretch(fold.y_pred, factors)
        folds.append(dataclasses.replace(fold, y_pred=y_pred, history=[{"spread_factors": factors.round(4).tolist()}],
                                         metrics=evaluate_predictions(fold.y_true, y_pred, fold.q_true, result.scale)))
    return CVResult(name=result.name + SUFFIX, scale=result.scale, folds=folds)


def spread_ratio(result: CVResult) -> list[float]:
    """Std of the pooled held-out predictions over the labels' std, per dimension (the target is 0.85–1.15)."""
    y_true = np.concatenate([f.y_true for f in result.folds])
    return (np.concatenate([f.y_pred for f in result.folds]).std(0) / y_true.std(0)).round(3).tolist()


def calibration(result: CVResult) -> tuple[CVResult, dict]:
    """(the nested calibrated result, what metrics and the model card record: factors, spread before/after, name)."""
    calibrated = nested(result)
    return calibrated, {"factors": pooled_factors(result).round(4).tolist(), "spread_before": spread_ratio(result),
                        "spread_after": spread_ratio(calibrated), "name": calibrated.name}


def card_section(summary: dict) -> str:
    """The model card's paragraph on the calibration (after its cross-validation table)."""
    factors, before, after = summary["factors"], summary["spread_before"], summary["spread_after"]
    return (f"Spread calibration: outputs are stretched around 0.5 by ({factors[0]:.3f}, {factors[1]:.3f}) "
            f"(valence, arousal), so that held-out predictions have the labels' spread: {before[0]:.2f}, {before[1]:.2f} "
            f"of it before, {after[0]:.2f}, {after[1]:.2f} after ('{summary['name']}' above: each fold stretched by "
            "factors fitted on the other folds). Quadrants do not change; CCC rises; RMSE and MAE rise a little, the "
            "price of predictions that are no longer squeezed toward the centre (sentio_ml.evaluation.spread).")


def record_calibration(directory: Path, report: dict, summary: dict) -> None:
    """The calibration summary into the bundle's metrics.json and its card (`sentio-ml train --cv` calls this)."""
    metrics_path = directory / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics["spread_calibration"] = summary
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    update_card(directory, report, summary)


def update_card(directory: Path, report: dict, summary: dict) -> None:
    """Rewrite the card's cross-validation section from the updated report, with the calibration paragraph."""
    from sentio_ml.training.export import cv_section

    path = directory / "MODEL_CARD.md"
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    start = text.find("## Cross-validation")
    end = text.find("\n## ", start + 1)
    if start < 0 or end < 0:
        return
    section = "\n".join(cv_section(report)[0]) + "\n\n" + card_section(summary) + "\n"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")


def set_version(directory: Path, metadata: dict, version: str) -> None:
    """The new version in config.json, the card's title and (the caller saves it) the weights' metadata."""
    config_path, card_path = directory / "config.json", directory / "MODEL_CARD.md"
    config = json.loads(config_path.read_text())
    old, config["version"], metadata["version"] = config["version"], version, version
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    if card_path.is_file():
        card = card_path.read_text(encoding="utf-8")
        card_path.write_text(card.replace(f"# {config['name']} {old}", f"# {config['name']} {version}", 1), encoding="utf-8")


def calibrate_bundle(directory: Path, model_name: str, version: str | None = None) -> dict:
    """Fit the factors on `directory`'s CV report, write them into its weights, and record the nested score;
    `version` renames the bundle's version (its outputs change, so libraries see a new model)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sentio_ml.evaluation.crossval import cv_result_from_dict
    from sentio_ml.evaluation.report import write_report

    report = json.loads((directory / "cv" / "report.json").read_text())
    results = [cv_result_from_dict(m) for m in report["models"] if not m["name"].endswith(SUFFIX)]
    [model] = [r for r in results if r.name == model_name]
    calibrated, summary = calibration(model)
    factors = pooled_factors(model)  # full precision in the weights; the summary keeps 4 decimals
    weights = directory / "model.safetensors"
    with safe_open(str(weights), "pt") as handle:
        metadata = handle.metadata()
    state = load_file(str(weights))
    factors = torch.as_tensor(factors, dtype=torch.float32)
    if "spread" in state:  # version 1: MoodRegressor's stretch
        state["spread"] = factors
    else:  # a `sentio-ml train` composition, whose top level holds only this stretch (Composition.from_hybrid)
        state["scale"], state["offset"] = factors, 0.5 * (1.0 - factors)
    if version:
        set_version(directory, metadata, version)
    save_file(state, str(directory / "model.safetensors.tmp"), metadata=metadata)
    (directory / "model.safetensors.tmp").replace(directory / "model.safetensors")
    write_report([model, calibrated, *[r for r in results if r is not model]], directory / "cv", report["command"])
    metrics_path = directory / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics.setdefault("cv", {})[calibrated.name] = calibrated.to_dict()["summary"]
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    record_calibration(directory, json.loads((directory / "cv" / "report.json").read_text()), summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="a `sentio-ml train` bundle folder with cv/report.json")
    parser.add_argument("--model", default="AST hybrid", help="the report's entry for this bundle's recipe")
    parser.add_argument("--version", help="give the calibrated bundle this version (its outputs change)")
    args = parser.parse_args(argv)
    print(json.dumps(calibrate_bundle(args.bundle, args.model, args.version)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
