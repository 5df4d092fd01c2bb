"""Would an ensemble help? Fixed-weight averages of a CV report's out-of-fold predictions, scored per fold.

    python -m sentio_ml.distill.blend runs/heads/report.json \\
        --blend "moods=0.5" "musicnn_msd=0.25" "mn04=0.25"

Each `NAME=WEIGHT` picks the report's model whose name contains NAME. The weights are fixed in advance (not fitted
on the folds), so the score is a fair held-out estimate of that blend; it answers whether shipping the AST with
teacher parts (at the AST's required share) would beat the AST alone or the default.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sentio_ml.evaluation.crossval import CVResult, cv_result_from_dict
from sentio_ml.evaluation.metrics import evaluate_predictions


def pick(results: list[CVResult], fragment: str) -> CVResult:
    matches = [r for r in results if fragment in r.name]
    if len(matches) != 1:
        raise SystemExit(f"'{fragment}' matches {len(matches)} models of the report: {[r.name for r in results]}")
    return matches[0]


def blend(parts: dict[str, tuple[CVResult, float]]) -> CVResult:
    """The weighted mean of the parts' out-of-fold predictions (same folds, same clip order), re-scored."""
    results = [r for r, _ in parts.values()]
    weights = np.array([w for _, w in parts.values()]) / sum(w for _, w in parts.values())
    first = results[0]
    folds = []
    for index, fold in enumerate(first.folds):
        if any(r.folds[index].clip_ids != fold.clip_ids for r in results):
            raise SystemExit("the models' folds hold different clips; blend only results of one report run")
        y_pred = sum(w * r.folds[index].y_pred for r, w in zip(results, weights))
        folds.append(type(fold)(fold.fold, fold.clip_ids, fold.y_true, y_pred, fold.q_true,
                                evaluate_predictions(fold.y_true, y_pred, fold.q_true, first.scale), [], 0.0))
    name = " + ".join(f"{w:.2f}·{name}" for name, w in zip(parts, weights))
    return CVResult(name=name, scale=first.scale, folds=folds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report.json of `sentio-ml distill heads`")
    parser.add_argument("--blend", nargs="+", required=True, metavar="NAME=WEIGHT")
    args = parser.parse_args(argv)
    results = [cv_result_from_dict(m) for m in json.loads(args.report.read_text())["models"]]
    parts = {}
    for item in args.blend:
        fragment, _, weight = item.rpartition("=")
        parts[fragment] = (pick(results, fragment), float(weight))
    mixed = blend(parts)
    f1 = mixed.summary()["quadrant.macro_f1"]
    print(json.dumps({"blend": mixed.name, "macro_f1": [round(f1[0], 3), round(f1[1], 3)]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
