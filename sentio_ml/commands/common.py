"""Arguments and helpers shared by the train / cv / evaluate commands."""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sentio_ml.console import ProgressBar
from sentio_ml.datasets import DATASETS
from sentio_ml.devices import DEVICE_HELP, device_argument
from sentio_ml.errors import SentioMLError
from sentio_ml.training.config import TrainConfig, load_train_config

if TYPE_CHECKING:  # pragma: no cover
    from sentio_ml.datasets import Dataset

DEFAULT_DATA = {"fourq": Path("../shared/data/fourq"), "deam": Path("../shared/data/deam")}


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=DATASETS, default="fourq", help="dataset adapter (default: fourq)")
    group.add_argument("--data", type=Path, help="dataset folder (default for fourq/deam: ../shared/data/<name>)")
    group.add_argument("--labels", type=Path, help="generic: CSV with path, valence, arousal[, group, artist, fold]")
    group.add_argument("--warriner", type=Path, help="fourq: Ratings_Warriner_et_al.csv (default: next to the 4Q folder)")
    group.add_argument("--deam-subset", choices=("clips", "full", "all"), default="clips",
                       help="deam: 45-s clips (1744), full songs (58) or both (default: clips)")
    group.add_argument("--skip-missing-audio", action="store_true",
                       help="deam: leave out songs whose MEMD_audio/<id>.mp3 is absent instead of stopping")
    group.add_argument("--cache-dir", type=Path, help="feature cache folder (default: the user cache dir, sentio/features)")


def load_dataset_from_args(args: argparse.Namespace) -> "Dataset":
    from sentio_ml.datasets import load_dataset

    root = args.data or DEFAULT_DATA.get(args.dataset)
    if root is None:
        raise SentioMLError(f"Give the {args.dataset} dataset folder with --data.")
    options: dict[str, Any] = {}
    if args.dataset == "fourq" and args.warriner:
        options["warriner"] = args.warriner
    if args.dataset == "deam":
        options["subset"] = args.deam_subset
        options["missing_audio"] = "skip" if args.skip_missing_audio else "error"
    if args.dataset == "generic":
        options["labels"] = args.labels
    return load_dataset(args.dataset, root, **options)


# Flags that override TrainConfig fields (None = keep the config file's / default value).
_FLAGS: dict[str, tuple[Callable[[str], Any], str]] = {
    "preset": (str, "model preset: hybrid (shipped), small, tiny (tests), base (pretrained AST size)"),
    "backbone": (str, "pretrained AST backbone: hub id or local folder (needs it downloaded)"),
    "epochs": (int, "training epochs"),
    "batch_size": (int, "excerpts per batch"),
    "lr": (float, "peak learning rate (AdamW)"),
    "weight_decay": (float, "AdamW weight decay"),
    "warmup_fraction": (float, "share of steps with linear warm-up before the cosine decay"),
    "grad_clip": (float, "gradient norm clip (0: off)"),
    "crops_per_clip": (int, "random excerpts per training clip per epoch"),
    "eval_crops": (int, "excerpts averaged per clip at validation/test time"),
    "validation_fraction": (float, "share of training artists held out for early stopping (0: none)"),
    "patience": (int, "early-stopping patience in epochs (0: off)"),
    "mixup_alpha": (float, "mixup Beta(alpha, alpha) (0: off)"),
    "synthetic_ratio": (float, "synthetic samples per real sample in training batches (needs a synthetic source)"),
    "quadrant_c": (float, "C of the quadrant head's SVCs"),
    "quadrant_weight": (float, "share of the output from the quadrant head (the rest: network + kernel head)"),
    "musicnn_patches": (int, "3-s patches per excerpt the musicnn tagger listens to (1–3; its cost grows with them)"),
    "seed": (int, "random seed"),
    "device": (device_argument, DEVICE_HELP),
    "threads": (int, "CPU threads for torch"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where there is one to show: not for unset options or off switches."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action)


def add_train_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("recipe (defaults = the shipped model's recipe; flags override --config)")
    group.add_argument("--config", type=Path, help="TrainConfig as .toml or .json (keys = the flag names with _)")
    recipe = TrainConfig()
    for name, (kind, text) in _FLAGS.items():
        default = getattr(recipe, name)
        shown = f" (recipe: {default})" if default is not None else ""
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, help=f"{text}{shown}")
    group.add_argument("--frames", type=int, help="excerpt length in 10-ms frames (sets the model's input length)")
    group.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    group.add_argument("--no-quadrant-head", action="store_true",
                       help="no quadrant head: output = network + kernel head (regression only)")
    group.add_argument("--no-audio-descriptors", action="store_true",
                       help="no librosa descriptors view in the quadrant head (faster training and prediction)")
    group.add_argument("--no-musicnn", action="store_true",
                       help="no view of the pretrained musicnn tagger in the quadrant head (faster prediction, "
                            "about 0.04 lower macro-F1 on 4Q)")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = load_train_config(args.config) if args.config else TrainConfig()
    config = config.updated(**{name: getattr(args, name) for name in _FLAGS})
    if args.frames:
        config = dataclasses.replace(config, model_overrides={**config.model_overrides, "frames": args.frames})
    if args.no_amp:
        config = dataclasses.replace(config, amp=False)
    if getattr(args, "no_quadrant_head", False):
        config = dataclasses.replace(config, quadrant_head=False)
    if getattr(args, "no_audio_descriptors", False):
        config = dataclasses.replace(config, audio_descriptors=False)
    if getattr(args, "no_musicnn", False):
        config = dataclasses.replace(config, musicnn=False)
    return config


def add_synthetic_arguments(parser: argparse.ArgumentParser) -> None:
    """Extension point for synthetic-data sources: the GAN's --gan flags (sentio_ml.gan.cli)."""
    from sentio_ml.gan.cli import add_gan_arguments

    add_gan_arguments(parser)


def synthetic_factory_from_args(args: argparse.Namespace):
    """The per-fold SyntheticSource factory the flags ask for, or None (no synthetic data)."""
    from sentio_ml.gan.cli import synthetic_factory_from_args as gan_factory

    return gan_factory(args, train_config_from_args(args))


class StepBar:
    """Adapts training progress callbacks to one bar (steps with ETA; the epoch's metrics on the bar),
    a new bar per fold when called as `bar(fold, progress)`."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar = ProgressBar(desc, unit="step")

    def __call__(self, fold_or_progress, progress=None) -> None:
        p = progress if progress is not None else fold_or_progress
        desc = f"{self.desc} fold {fold_or_progress}" if progress is not None else self.desc
        postfix = {"epoch": p.epoch, "loss": f"{p.loss:.4f}"}
        if p.epoch_end and "val_loss" in p.epoch_end:
            postfix["val_loss"] = f"{p.epoch_end['val_loss']:.4f}"
            postfix["val_f1"] = f"{p.epoch_end['val_macro_f1']:.3f}"
        self.bar(p.step, p.total_steps, desc=desc, postfix=postfix)

    def close(self) -> None:
        self.bar.close()


def prepare_cache(cache, clips, config: TrainConfig, cancel=None) -> None:
    """Decode every clip once into the feature cache (with a progress bar), plus the audio descriptors and musicnn
    embeddings of its evaluation excerpts when the recipe's quadrant head uses them; one sentence if any clip fails."""
    from sentio_ml.training.loop import model_config_for

    audio = config.quadrant_head and config.audio_descriptors
    musicnn = config.musicnn_patches if config.quadrant_head and config.musicnn else 0
    label = " + ".join(["fbank"] + ["audio descriptors"] * audio + ["musicnn"] * musicnn)
    windows = (model_config_for(config).frames, config.eval_crops) if audio or musicnn else None
    with ProgressBar(f"{label} cache", unit="clip") as bar:
        failures = cache.ensure(clips, progress=bar, cancel=cancel, audio_windows=windows, audio=audio, musicnn=musicnn)
    if failures:
        raise SentioMLError(f"{len(failures)} clip(s) could not be decoded; first: {failures[0]}")


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")
