"""`sentio-ml gan train|sample|report`: the conditional GAN used for spectrogram augmentation."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentio_ml.commands.common import HelpFormatter
from sentio_ml.console import ProgressBar, cancel_on_ctrl_c
from sentio_ml.errors import SentioMLError, os_error_reason

EPILOG = """\
examples:
  sentio-ml gan train --dataset fourq --fold 0 --out runs/gan-fold0
        train on the training songs of 4Q's fold-0 split (every fold but 0), write the bundle + report
  sentio-ml gan sample runs/gan-fold0 --out runs/samples -n 8 --valence 0.8 --arousal 0.7
        8 happy/energetic excerpts as .npy and PNG
  sentio-ml gan report runs/gan-fold0 --regressor runs/model --fold 0
        Fréchet distance and label fidelity in a trained regressor's embedding space
  sentio-ml cv --dataset fourq --gan small --synthetic-ratio 0.25
        cross-validation with one GAN per fold (see `sentio-ml cv --help`)

Synthetic excerpts are for training batches only; see docs/gan.md for what the ablation measured.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from sentio_ml.gan.config import PRESETS

    parser = subparsers.add_parser(
        "gan", help="train, sample and assess the conditional GAN for spectrogram augmentation",
        description="A conditional GAN that draws log-mel excerpts for a target (valence, arousal), trained on "
                    "the training songs of a split only, used to augment the regressor's training batches.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="gan_command", metavar="ACTION")

    train = sub.add_parser("train", help="train a GAN on a dataset split and write a GAN bundle + quality report",
                           formatter_class=HelpFormatter)
    _add_data_arguments(train)
    train.add_argument("--out", type=Path, required=True, help="GAN bundle folder to write")
    train.add_argument("--config", default="small",
                       help=f"GAN recipe: a preset ({', '.join(PRESETS)}) or a GanConfig JSON file")
    for flag, kind, text in (("epochs", int, "passes over the training clips"),
                             ("max-steps", int, "stop after this many generator steps (0: no cap)"),
                             ("batch-size", int, "excerpts per batch"),
                             ("crop-frames", int, "frames per training crop (the generator renders any length)"),
                             ("seed", int, "random seed")):
        train.add_argument(f"--{flag}", type=kind, help=f"{text} (overrides --config)")
    train.add_argument("--preset", default="small",
                       help="regressor preset whose excerpt length and mel bins the samples get")
    train.add_argument("--frames", type=int, help="excerpt length to render (default: the preset's)")
    train.add_argument("--regressor", type=Path,
                       help="a model bundle trained on real data: adds Fréchet distance and label fidelity")
    train.add_argument("--threads", type=int, default=1,
                       help="torch CPU threads (1 is fastest on a busy machine)")
    train.set_defaults(func=run_train)

    sample = sub.add_parser("sample", help="write synthetic excerpts as .npy and spectrogram PNGs",
                            formatter_class=HelpFormatter)
    sample.add_argument("bundle", type=Path, help="GAN bundle folder")
    sample.add_argument("--out", type=Path, required=True, help="output folder")
    sample.add_argument("-n", "--count", type=int, default=16, help="how many excerpts")
    sample.add_argument("--valence", type=float, help="condition on this valence in [0, 1] (default: drawn "
                        "from the training label distribution)")
    sample.add_argument("--arousal", type=float, help="condition on this arousal in [0, 1]")
    sample.add_argument("--frames", type=int, help="excerpt length (default: the bundle's render length)")
    sample.add_argument("--raw", action="store_true", help="raw log-mel values instead of the model's normalised input")
    sample.add_argument("--no-images", action="store_true", help="only the .npy files")
    sample.add_argument("--seed", type=int, default=0, help="random seed")
    sample.set_defaults(func=run_sample)

    report = sub.add_parser("report", help="(re)assess a GAN bundle against real excerpts, optionally with a regressor",
                            formatter_class=HelpFormatter)
    report.add_argument("bundle", type=Path, help="GAN bundle folder")
    _add_data_arguments(report)
    report.add_argument("--regressor", type=Path, help="model bundle trained on real data (FD, label fidelity)")
    report.add_argument("--out", type=Path, help="report folder (default: BUNDLE/report)")
    report.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    report.set_defaults(func=run_report)
    _add_compare(sub)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _add_compare(sub) -> None:  # noqa: ANN001 - argparse's subparsers action
    compare = sub.add_parser(
        "compare", help="paired per-fold comparison of `sentio-ml cv` runs (the GAN ablation table)",
        formatter_class=HelpFormatter,
        description="Mean ± std of every metric per run and, against the first (baseline) run, the paired "
                    "per-fold differences, folds improved and a paired t-test. Runs must share folds and seeds.")
    compare.add_argument("reports", nargs="+", type=Path, help="cv report.json files or folders; the first is the baseline")
    compare.add_argument("--labels", nargs="+", help="names for the runs (default: their folder names)")
    compare.add_argument("--model", help="which model of each report (default: the first, i.e. the recipe)")
    compare.add_argument("--out", type=Path, help="also write the Markdown table + JSON rows here (.md)")
    compare.set_defaults(func=run_compare)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    from sentio_ml.commands.common import add_dataset_arguments

    add_dataset_arguments(parser)
    parser.add_argument("--fold", type=int,
                        help="use the training songs of this fold's split (all other folds); default: every clip")
    parser.add_argument("--validation-fraction", type=float, default=0.15,
                        help="leave out the artists `sentio-ml train`/`cv` hold out for early stopping (same split "
                             "for the same fraction and seed), so the GAN never sees a validation song; 0: keep all")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of that validation split (train's --seed)")


def _training_clips(args: argparse.Namespace):
    from sentio_ml.commands.common import load_dataset_from_args
    from sentio_ml.training.cache import FeatureCache

    dataset = load_dataset_from_args(args)
    if args.fold is not None:
        if dataset.folds is None:
            dataset = dataset.with_folds(5, seed=0)
        clips, _ = dataset.fold_split(args.fold)
        described = f"{dataset.name}, training songs of fold {args.fold}'s split"
    else:
        clips, described = list(dataset.clips), f"{dataset.name}, all clips"
    if args.validation_fraction > 0:
        from sentio_ml.datasets import split_train_validation

        clips, held_out = split_train_validation(clips, args.validation_fraction, seed=args.split_seed)
        described += f" minus {len(held_out)} validation clip(s) (fraction {args.validation_fraction}, seed {args.split_seed})"
    cache = FeatureCache(args.cache_dir)
    failures = cache.ensure(clips, progress=ProgressBar("fbank cache", "clip", leave=False, close_when_done=True))
    if failures:
        print(f"sentio-ml: skipping {len(failures)} undecodable clip(s); first: {failures[0]}", file=sys.stderr)
        bad = set(failures)
        clips = [c for c in clips if not any(str(c.path) in f for f in bad)]
    return clips, cache, described


def _load_regressor(path: Path | None):
    if path is None:
        return None, None
    from sentio_ml.bundle import load_bundle
    from sentio_ml.composition import fbank_network
    from sentio_ml.errors import SentioMLError

    bundle = load_bundle(path)
    try:
        return fbank_network(bundle.model), bundle.feature_config
    except ValueError as exc:
        raise SentioMLError(f"The model at '{path}' cannot score synthetic excerpts: {exc}.") from exc


def run_train(args: argparse.Namespace) -> int:
    import torch

    from sentio_ml.gan.config import resolve_config
    from sentio_ml.gan.pipeline import train_gan_bundle
    from sentio_ml.model import PRESETS as MODEL_PRESETS
    from sentio_ml.training.cache import fit_normalisation

    if args.preset not in MODEL_PRESETS:
        raise SentioMLError(f"Unknown model preset {args.preset!r}; choose one of {', '.join(MODEL_PRESETS)}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    config = resolve_config(args.config, epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
                            frames=args.crop_frames, seed=args.seed)
    model_config = MODEL_PRESETS[args.preset]
    frames = args.frames or model_config.frames
    regressor, regressor_features = _load_regressor(args.regressor)
    clips, cache, described = _training_clips(args)
    base = regressor_features or model_config.feature_config()
    # Samples get the regressor's normalisation; without one, the normalisation a training run on these
    # songs would fit (`sentio-ml train` refits it on its own training split when it uses the bundle).
    feature_config = regressor_features or fit_normalisation(cache, clips, base)
    config = config.with_updates(mel_bins=base.num_mel_bins)
    bar = ProgressBar("GAN", unit="step")

    def progress(p) -> None:
        bar(p.step, p.total_steps, postfix={"epoch": p.epoch, "d": f"{p.d_loss:.3f}", "g": f"{p.g_loss:.3f}"})

    print(f"GAN on {len(clips)} clips ({described}); recipe {config.to_dict()}", flush=True)
    with cancel_on_ctrl_c("sentio-ml: stopping after this step and saving (Ctrl-C again to abort)") as cancel:
        try:
            bundle, run = train_gan_bundle(
                clips, cache, config, render_frames=frames, feature_config=feature_config,
                training_data={"dataset": described}, regressor=regressor, out_dir=args.out,
                progress=progress, cancel=cancel)
        finally:
            bar.close()
    _print_summary(bundle.metrics, args.out)
    if run.cancelled:
        print(f"Cancelled after {len(run.history['g_loss'])} steps; the partial GAN was saved to {args.out}.")
    return 0


def _print_summary(metrics: dict, out: Path, report: Path | None = None) -> None:
    collapse = metrics.get("collapse", {})
    print(f"GAN bundle: {out}\nQuality report: {report or out / 'report' / 'report.md'}")
    print(f"  diversity vs real {metrics['diversity_ratio']:.2f}, across noise {metrics['noise_diversity_ratio']:.2f}")
    if "frechet_distance_half" in metrics:
        fid = metrics["label_fidelity"]
        print(f"  Fréchet distance {metrics['frechet_distance_half']:.2f} (real-vs-real floor "
              f"{metrics['frechet_distance_real_halves']:.2f}); label fidelity CCC valence {fid['valence_ccc']:.3f}, "
              f"arousal {fid['arousal_ccc']:.3f}")
    if collapse.get("collapsed"):
        print("  WARNING - mode collapse / training failure: " + "; ".join(collapse["reasons"]))
    else:
        print("  no mode collapse detected")


def run_sample(args: argparse.Namespace) -> int:
    import torch

    from sentio_ml.gan.checkpoint import load_gan_bundle
    from sentio_ml.gan.report import write_samples

    if args.count < 1:
        raise SentioMLError("--count must be at least 1.")
    if (args.valence is None) != (args.arousal is None):
        raise SentioMLError("Give both --valence and --arousal, or neither (labels are then drawn from the "
                            "training distribution).")
    for name in ("valence", "arousal"):
        value = getattr(args, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise SentioMLError(f"--{name} must be between 0 and 1 (Sentio's unit scale), not {value}.")
    if args.frames is not None and args.frames < 1:
        raise SentioMLError("--frames must be positive.")
    bundle = load_gan_bundle(args.bundle)
    source = bundle.source(frames=args.frames)
    gen = torch.Generator().manual_seed(args.seed)
    if args.valence is None:
        labels = bundle.label_sampler.sample(args.count, gen)
    else:
        labels = torch.tensor([[args.valence, args.arousal]]).expand(args.count, 2)
    feats = source.render(labels, gen, normalised=not args.raw)
    written = write_samples(args.out, feats, labels, images=not args.no_images)
    units = "raw log-mel" if args.raw or source.feature_config is None else "the model's normalised fbank input"
    print(f"Wrote {args.count} excerpt(s) of {source.frames} frames ({units}) to {args.out} "
          f"({len(written)} files: samples.npy, labels.npy{', PNGs' if not args.no_images else ''}).")
    return 0


def run_report(args: argparse.Namespace) -> int:
    import torch

    from sentio_ml.gan.checkpoint import load_gan_bundle
    from sentio_ml.gan.pipeline import centre_excerpts, clip_fbanks
    from sentio_ml.gan.quality import evaluate_quality
    from sentio_ml.gan.report import write_quality_report

    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = load_gan_bundle(args.bundle)
    regressor, regressor_features = _load_regressor(args.regressor)
    clips, cache, described = _training_clips(args)
    feature_config = regressor_features or bundle.feature_config
    source = bundle.source(feature_config=feature_config)
    fbanks, labels = clip_fbanks(clips, cache)
    real = centre_excerpts(fbanks, source.frames, feature_config)
    history = bundle.history.get("steps")
    metrics = evaluate_quality(source, real, labels, regressor=regressor, history=history,
                               loss=bundle.gan_config.loss, seed=bundle.gan_config.seed)
    out = args.out or Path(bundle.path) / "report"
    write_quality_report(out, metrics, source=source, real_feats=real, real_labels=labels, history=history,
                         epochs=bundle.history.get("epochs", []),
                         title=f"GAN quality report ({described})")
    _print_summary(metrics, Path(bundle.path), out / "report.md")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    import json

    from sentio_ml.gan.ablation import compare_runs, format_comparison, load_cv_run

    if len(args.reports) < 2:
        raise SentioMLError("Give at least two cv reports: the baseline first, then the runs to compare with it.")
    if args.labels and len(args.labels) != len(args.reports):
        raise SentioMLError(f"--labels needs one name per report ({len(args.reports)}), got {len(args.labels)}.")
    labels = args.labels or [None] * len(args.reports)
    runs = [load_cv_run(path, label, args.model) for path, label in zip(args.reports, labels)]
    rows = compare_runs(runs[0], runs[1:])
    table = format_comparison(runs[0], rows)
    print(table)
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            commands = "\n".join(f"- {r.label}: `{r.command}`" for r in runs)
            args.out.write_text(f"{table}\nRuns:\n{commands}\n", encoding="utf-8")
            args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
        except OSError as exc:
            raise SentioMLError(f"Cannot write {args.out}: {os_error_reason(exc)}.") from exc
    return 0
