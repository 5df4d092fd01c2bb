"""`sentio-ml cv`: k-fold cross-validation of the recipe (and the librosa reference) on fixed folds."""
from __future__ import annotations

import argparse
import shlex
import sys
import threading
from pathlib import Path

from sentio_ml.commands.common import (
    HelpFormatter,
    StepBar,
    add_dataset_arguments,
    add_synthetic_arguments,
    add_train_config_arguments,
    load_dataset_from_args,
    prepare_cache,
    synthetic_factory_from_args,
    timestamp,
    train_config_from_args,
)
from sentio_ml.console import ProgressBar

MODELS = ("model", "reference")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cv",
        help="cross-validate the training recipe and the librosa reference on a dataset's folds",
        description=(
            "Run k-fold cross-validation on the dataset's fixed folds (4Q: the 5 artist-disjoint folds; other "
            "datasets: artist/song-disjoint folds made with --num-folds) and write a report (Markdown, JSON, PNG "
            "plots) with mean ± std per metric. 'model' is the AST-family recipe that ships (same defaults as "
            "`sentio-ml train`); 'reference' is hand-crafted librosa features + an RBF SVR. Features are cached, "
            "so later runs skip decoding."
        ),
        formatter_class=HelpFormatter,
    )
    add_dataset_arguments(parser)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="what to evaluate")
    parser.add_argument("--folds", nargs="+", type=int, help="only these folds (default: all)")
    parser.add_argument("--num-folds", type=int, default=5, help="folds to make when the dataset has none")
    parser.add_argument("--reference", choices=("svr", "forest"), default="svr", help="the reference's scikit-learn model")
    parser.add_argument("--out", type=Path, help="report folder (default: runs/cv-<dataset>-<time>)")
    parser.add_argument("--name", default="AST hybrid", help="the model's name in the report")
    add_train_config_arguments(parser)
    add_synthetic_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sentio_ml.evaluation.crossval import reference_fit_predict, run_cv
    from sentio_ml.evaluation.reference import reference_features
    from sentio_ml.evaluation.report import format_table, write_report
    from sentio_ml.training.cache import FeatureCache, default_cache_dir
    from sentio_ml.training.recipe import model_fit_predict

    dataset = load_dataset_from_args(args)
    if dataset.folds is None:
        dataset = dataset.with_folds(args.num_folds, seed=0)
    out = args.out or Path("runs") / f"cv-{args.dataset}-{timestamp()}"
    command = "sentio-ml " + shlex.join(sys.argv[1:]) if sys.argv[0].endswith(("sentio-ml", "cli.py")) else "sentio-ml cv ..."
    cancel = threading.Event()
    results = []

    def on_fold(result) -> None:
        q = result.metrics["quadrant"]
        valence, arousal = result.metrics["valence"]["ccc"], result.metrics["arousal"]["ccc"]
        print(f"  fold {result.fold}: macro-F1 {q['macro_f1']:.3f}, accuracy {q['accuracy']:.3f}, "
              f"CCC v {valence:.3f} a {arousal:.3f} ({result.seconds:.0f} s)", flush=True)

    if "model" in args.models:
        config = train_config_from_args(args)
        cache = FeatureCache(args.cache_dir)
        prepare_cache(cache, dataset.clips, config, cancel)
        bar = StepBar(args.name)
        fit_predict = model_fit_predict(cache, config, synthetic_factory_from_args(args), log_root=out / "logs",
                                        progress=bar, cancel=cancel)
        print(f"{args.name}: {config.to_dict()}", flush=True)
        results.append(run_cv(dataset, fit_predict, args.name, folds=args.folds, on_fold=lambda r: (bar.close(), on_fold(r))))
    if "reference" in args.models:
        cache_dir = (args.cache_dir or default_cache_dir()).parent / "reference"
        with ProgressBar("reference features", unit="clip") as bar:
            features = reference_features([c.path for c in dataset.clips], cache_dir, progress=bar)
        by_path = {str(c.path): f for c, f in zip(dataset.clips, features)}
        name = f"librosa + {args.reference.upper() if args.reference == 'svr' else 'random forest'}"
        print(f"{name}:", flush=True)
        results.append(run_cv(dataset, reference_fit_predict(by_path, args.reference), name, folds=args.folds, on_fold=on_fold))

    md = write_report(results, out, command)
    print()
    print(format_table(results))
    print(f"\nReport: {md}")
    return 0
