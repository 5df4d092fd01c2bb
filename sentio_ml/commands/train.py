"""`sentio-ml train`: train a model bundle on a whole dataset with the shipped recipe (or your own)."""
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
    train_config_from_args,
)
from sentio_ml.console import ProgressBar
from sentio_ml.errors import SentioMLError

RECIPE_NAME = "AST hybrid"  # the recipe's entry in the CV report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model bundle (defaults: the recipe of the bundled default model)",
        description=(
            "Train a valence/arousal model on a dataset and write a bundle folder that `sentio-ml predict --model` "
            "and the app can use. Without recipe flags this is exactly the recipe of the shipped default model, "
            "so `sentio-ml train --dataset fourq --cv --out sentio_ml/resources/models/default` rebuilds it from "
            "scratch (5-fold CV for the model card, then the final model on all clips). Artists held out by "
            "--validation-fraction drive early stopping; every epoch is logged to <log-dir>/train_log.{jsonl,csv}; "
            "--checkpoint-dir + --resume continue an interrupted run. Multi-GPU: launch with "
            "`torchrun --nproc-per-node N -m sentio_ml.cli train ...` (torch DDP)."
        ),
        formatter_class=HelpFormatter,
    )
    add_dataset_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--name", help="bundle name (default: sentio-<dataset>-<preset>)")
    parser.add_argument("--version", default="1.0.0", help="bundle version")
    parser.add_argument("--cv", action="store_true",
                        help="first run the 5-fold CV of this recipe (and the reference) for the model card")
    parser.add_argument("--cv-report", type=Path, help="use an existing `sentio-ml cv` report.json for the model card")
    parser.add_argument("--log-dir", type=Path, help="per-epoch logs (default: <out>/logs)")
    parser.add_argument("--checkpoint-dir", type=Path, help="save a resumable checkpoint here after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    add_train_config_arguments(parser)
    add_synthetic_arguments(parser)
    parser.set_defaults(func=run)


def _setup_distributed() -> bool:
    """Join the torchrun process group when launched by torchrun (WORLD_SIZE > 1)."""
    import os

    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return True


def run(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from sentio_ml.datasets import split_train_validation
    from sentio_ml.training.cache import FeatureCache
    from sentio_ml.training.export import export_bundle, load_cv_report
    from sentio_ml.training.loop import train

    if args.resume and not args.checkpoint_dir:
        raise SentioMLError("--resume needs --checkpoint-dir (the folder of the interrupted run).")
    dataset = load_dataset_from_args(args)
    config = train_config_from_args(args)
    command = "sentio-ml " + shlex.join(sys.argv[1:])
    distributed = _setup_distributed()
    rank = dist.get_rank() if distributed else 0
    cache = FeatureCache(args.cache_dir)
    cancel = threading.Event()
    if rank == 0:
        prepare_cache(cache, dataset.clips, config, cancel)
    if distributed:
        dist.barrier()

    cv_report = load_cv_report(args.cv_report) if args.cv_report else None
    if args.cv and rank == 0:
        cv_report = _run_cv(args, dataset, cache, config, cancel)

    fit, val = split_train_validation(dataset.clips, config.validation_fraction, seed=config.seed)
    synthetic_factory = synthetic_factory_from_args(args)
    synthetic = synthetic_factory(fit, cache, -1, config.seed) if synthetic_factory else None
    bar = StepBar("train")
    result = train(
        fit, val, cache, config, synthetic=synthetic, progress=bar, cancel=cancel,
        log_dir=args.log_dir or args.out / "logs", checkpoint_dir=args.checkpoint_dir, resume=args.resume,
    )
    bar.close()
    if rank == 0:
        calibration = _calibrate_spread(result.model, cv_report)
        out = export_bundle(result, dataset, args.out, command, cv_report=cv_report, name=args.name, version=args.version)
        if calibration:
            from sentio_ml.evaluation.spread import record_calibration

            record_calibration(out, cv_report, calibration)
        print(f"Trained on {len(fit)} clips ({len(val)} held out for early stopping); best epoch {result.best_epoch} "
              f"of {len(result.history)} ({result.stopped}). Bundle: {out}")
    if distributed:
        dist.destroy_process_group()
    return 0


def _run_cv(args, dataset, cache, config, cancel) -> dict:
    import json

    from sentio_ml.evaluation import spread
    from sentio_ml.evaluation.crossval import reference_fit_predict, run_cv
    from sentio_ml.evaluation.reference import reference_features
    from sentio_ml.evaluation.report import format_table, write_report
    from sentio_ml.training.recipe import model_fit_predict

    if dataset.folds is None:
        dataset = dataset.with_folds(5, seed=0)
    out = args.out / "cv"
    bar = StepBar("cv")
    def on_fold(result) -> None:
        bar.close()
        print(f"  fold {result.fold}: macro-F1 {result.metrics['quadrant']['macro_f1']:.3f} ({result.seconds:.0f} s)", flush=True)

    model = run_cv(dataset, model_fit_predict(cache, config, synthetic_factory_from_args(args), log_root=out / "logs",
                                              progress=bar, cancel=cancel), RECIPE_NAME, on_fold=on_fold)
    bar.close()
    with ProgressBar("reference features", unit="clip") as bar:
        features = reference_features([c.path for c in dataset.clips], cache.cache_dir.parent / "reference",
                                      progress=bar)
    reference = run_cv(dataset, reference_fit_predict({str(c.path): f for c, f in zip(dataset.clips, features)}), "librosa + SVR")
    calibrated = spread.nested(model)
    write_report([model, calibrated, reference], out, "sentio-ml " + shlex.join(sys.argv[1:]))
    print(format_table([model, calibrated, reference]))
    return json.loads((out / "report.json").read_text())


def _calibrate_spread(model, cv_report: dict | None) -> dict | None:
    """Stretch the trained model's outputs by the factors its recipe's out-of-fold predictions call for; returns
    what the model card says about it (None without a CV report)."""
    import torch

    from sentio_ml.evaluation import spread
    from sentio_ml.evaluation.crossval import cv_result_from_dict

    recipe = [m for m in (cv_report or {}).get("models", []) if m["name"] == RECIPE_NAME]
    if not recipe:
        return None
    result = cv_result_from_dict(recipe[0])
    model.spread.copy_(torch.as_tensor(spread.pooled_factors(result), dtype=torch.float32))
    return spread.calibration(result)[1]
