"""Would an ensemble help? Fixed-weight averages of a CV report's out-of-fold predictions, scored per fold.

    python -m sentio_ml.distill.blend runs/heads/report.json \\
        --blend "moods=0.5" "musicnn_msd=0.25" "mn04=0.25"
    python -m sentio_ml.distill.blend runs/heads/report.json sentio_ml/resources/models/default/cv/report.json \\
        --blend "moods=0.5" "hybrid, spread=0.5"          # the AST with the default model

Each `NAME=WEIGHT` picks the model, of all the reports given, whose name contains NAME. The weights are fixed in
advance (not fitted on the folds), so the score is a fair held-out estimate of that blend; it answers whether
shipping the AST with teacher parts or with the default (at the AST's required share, printed as each part's share
of the blend's variance) would beat the AST alone or the default.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sentio_ml.composition import variance_shares
from sentio_ml.evaluation.crossval import CVResult, cv_result_from_dict
from sentio_ml.evaluation.metrics import evaluate_predictions


def pick(results: list[CVResult], fragment: str) -> CVResult:
    matches = [r for r in results if fragment in r.name]
    if len(matches) != 1:
        raise SystemExit(f"'{fragment}' matches {len(matches)} models of the report: {[r.name for r in results]}")
    return matches[0]


def blend(parts: dict[str, tuple[CVResult, float]]) -> CVResult:
    """The weighted mean of the parts' out-of-fold predictions (the same folds; clips matched by id), re-scored,
    with each part's share of the blend's variance per fold."""
    results = [r for r, _ in parts.values()]
    weights = np.array([w for _, w in parts.values()]) / sum(w for _, w in parts.values())
    first = results[0]
    folds = []
    for index, fold in enumerate(first.folds):
        aligned = []
        for result in results:
            other = result.folds[index]
            rows = {clip: row for row, clip in enumerate(other.clip_ids)}
            if other.fold != fold.fold or set(rows) != set(fold.clip_ids):
                raise SystemExit("the models' folds hold different clips; blend only results on the same folds")
            aligned.append(other.y_pred[[rows[clip] for clip in fold.clip_ids]])
        contributions = {name: w * pred for name, w, pred in zip(parts, weights, aligned)}
        y_pred = sum(contributions.values())
        folds.append(type(fold)(fold.fold, fold.clip_ids, fold.y_true, y_pred, fold.q_true,
                                evaluate_predictions(fold.y_true, y_pred, fold.q_true, first.scale), [], 0.0,
                                shares=variance_shares(contributions)))
    name = " + ".join(f"{w:.2f}·{name}" for name, w in zip(parts, weights))
    return CVResult(name=name, scale=first.scale, folds=folds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path, nargs="+",
                        help="report.json files (`sentio-ml distill heads`, `sentio-ml cv`, a bundle's cv/report.json)")
    parser.add_argument("--blend", nargs="+", required=True, metavar="NAME=WEIGHT")
    args = parser.parse_args(argv)
    for report in args.reports:
        if not report.is_file():
            raise SystemExit(f"There is no CV report at {report}: give a report.json that `sentio-ml distill heads`, "
                             "`sentio-ml cv` or a bundle's cv/ folder holds.")
    results = [cv_result_from_dict(m) for report in args.reports for m in json.loads(report.read_text())["models"]]
    parts = {}
    for item in args.blend:
        fragment, _, weight = item.rpartition("=")
        parts[fragment] = (pick(results, fragment), float(weight))
    mixed = blend(parts)
    f1 = mixed.summary()["quadrant.macro_f1"]
    print(json.dumps({"blend": mixed.name, "macro_f1": [round(f1[0], 3), round(f1[1], 3)],
                      "shares": mixed.mean_shares()}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
