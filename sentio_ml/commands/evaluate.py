"""`sentio-ml evaluate`: score a trained bundle on a labelled dataset through the app's own predictor."""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any

from sentio_ml.commands.common import HelpFormatter, add_dataset_arguments, load_dataset_from_args, timestamp
from sentio_ml.devices import DEVICE_HELP, device_argument
from sentio_ml.errors import SentioMLError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model bundle on a labelled dataset (metrics, bootstrap CIs, plots)",
        description=(
            "Predict every clip of a labelled dataset with a bundle exactly as the app does (same excerpts, "
            "features and quantisation) and write the same report as `sentio-ml cv`: metrics per dataset fold (or "
            "one group when it has none), pooled metrics with 95% bootstrap CIs, scatter / V-A plane / confusion "
            "plots. Numbers on the data a bundle was trained on are in-sample and say little about new music."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model", type=Path, help="bundle folder (default: the bundled default model or $SENTIO_MODEL)")
    add_dataset_arguments(parser)
    parser.add_argument("--folds", nargs="+", type=int, help="only the clips of these dataset folds")
    parser.add_argument("--device", type=device_argument, default="auto", help=DEVICE_HELP)
    parser.add_argument("--out", type=Path, help="report folder (default: runs/evaluate-<dataset>-<time>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from sentio_ml.bundle import load_bundle
    from sentio_ml.evaluation.crossval import FoldOutput, run_cv
    from sentio_ml.evaluation.report import format_table, write_report
    from sentio_ml.predictor import Predictor

    bundle = load_bundle(args.model)
    dataset = load_dataset_from_args(args)
    if dataset.folds is None:
        dataset = dataclasses.replace(dataset, folds=[0] * len(dataset.clips))
    chosen = set(args.folds) if args.folds else set(dataset.folds)
    unknown = chosen - set(dataset.folds)
    if unknown:
        raise SentioMLError(f"The {dataset.name} dataset has no fold {min(unknown)} (folds: {sorted(set(dataset.folds))}).")
    trained_on = bundle.config.get("training_data", {}).get("dataset")
    if trained_on and trained_on == dataset.name:
        print(f"Note: {bundle.name} was trained on {trained_on}; these numbers are in-sample.", file=sys.stderr)

    clips = [c for c, f in zip(dataset.clips, dataset.folds) if f in chosen]
    predictor = Predictor(bundle, device=args.device)
    predictions: dict[str, Any] = {}
    failures: list[str] = []
    for result in tqdm(predictor.predict_iter([c.path for c in clips]), total=len(clips), desc="predict", unit="clip"):
        if result.error:
            failures.append(result.error)
        else:
            predictions[str(result.path)] = np.array([result.valence, result.arousal])
    if failures:
        print(f"{len(failures)} clip(s) could not be predicted and are left out; first: {failures[0]}", file=sys.stderr)
    if not predictions:
        raise SentioMLError("No clip could be predicted, so there is nothing to score.")

    kept = dataclasses.replace(
        dataset,
        clips=[c for c in dataset.clips if str(c.path) in predictions],
        folds=[f for c, f in zip(dataset.clips, dataset.folds) if str(c.path) in predictions],
    )

    def fit_predict(train, test, fold) -> FoldOutput:
        return FoldOutput(predictions=np.stack([predictions[str(c.path)] for c in test]))

    folds = sorted(f for f in chosen if f in set(kept.folds))
    result = run_cv(kept, fit_predict, f"{bundle.name} {bundle.version}", folds=folds)
    out = args.out or Path("runs") / f"evaluate-{args.dataset}-{timestamp()}"
    md = write_report([result], out, "sentio-ml " + shlex.join(sys.argv[1:]), notes=f"Model: {predictor.model_id}.")
    print(format_table([result]))
    print(f"\nReport: {md}")
    return 0
