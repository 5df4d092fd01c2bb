"""The GAN's hooks into `sentio-ml train` and `sentio-ml cv`: the `--gan` flags and the synthetic-source
factory they ask for (`sentio_ml.commands.common` delegates here).

`--gan` takes either a trained GAN bundle (made by `sentio-ml gan train`) or a GAN recipe (a preset name
or a GanConfig JSON). A recipe trains one GAN per fold on the songs the regressor trains on in that fold;
a bundle is used as is, after checking it never saw a song this run holds out for validation or test.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from sentio_ml.gan.config import PRESETS, resolve_config
from sentio_ml.gan.errors import GanError

DEFAULT_GAN_DIR = Path("runs") / "gan-folds"


def add_gan_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "GAN augmentation (training batches only; never validation or test)")
    group.add_argument(
        "--gan", metavar="BUNDLE|PRESET|CONFIG", default=argparse.SUPPRESS,
        help=f"synthetic training excerpts from a conditional GAN: a GAN bundle folder (from `sentio-ml gan "
             f"train`), or a recipe ({', '.join(PRESETS)} or a JSON file) to train one GAN per fold on that "
             f"fold's training songs only; mix them in with --synthetic-ratio R")
    group.add_argument("--gan-dir", type=Path, default=argparse.SUPPRESS,
                       help=f"where per-fold GAN bundles and quality reports go; a GAN already trained there on the "
                            f"same songs with the same recipe is reused (default: {DEFAULT_GAN_DIR}/<dataset>)")
    group.add_argument("--gan-epochs", type=int, default=argparse.SUPPRESS, help="override the GAN recipe's epochs")
    group.add_argument("--gan-max-steps", type=int, default=argparse.SUPPRESS,
                       help="override the GAN recipe's step cap")


def is_gan_bundle(path: str | Path) -> bool:
    from sentio_ml.gan.checkpoint import FORMAT

    config = Path(path).expanduser() / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


class BundleSourceFactory:
    """Per-fold factory around one pre-trained GAN bundle (for `sentio-ml train --gan BUNDLE`)."""

    def __init__(self, path: str | Path, frames: int, base_features) -> None:
        from sentio_ml.gan.checkpoint import load_gan_bundle

        self.bundle = load_gan_bundle(path)
        self.frames = frames
        self.base_features = base_features

    def __call__(self, train_clips: Sequence, feature_cache, fold: int, seed: int):
        from sentio_ml.training.cache import fit_normalisation

        seen = self.bundle.config.get("training_data", {}).get("clip_ids")
        if seen is not None:
            allowed = {c.clip_id or Path(c.path).stem for c in train_clips}
            leaked = sorted(set(seen) - allowed)
            if leaked:
                raise GanError(
                    f"The GAN bundle {self.bundle.path} was trained on {len(leaked)} song(s) this run does not "
                    f"train on (held out for validation or test, e.g. {leaked[0]}); train the GAN on the same "
                    f"training songs (`sentio-ml gan train --fold ...`) or let --gan train one per fold.")
        if self.bundle.gan_config.mel_bins != self.base_features.num_mel_bins:
            raise GanError(f"The GAN bundle makes {self.bundle.gan_config.mel_bins} mel bins but the model "
                           f"expects {self.base_features.num_mel_bins}.")
        feature_config = fit_normalisation(feature_cache, train_clips, self.base_features)
        return self.bundle.source(frames=self.frames, feature_config=feature_config)


def _fold_progress():
    from sentio_ml.console import ProgressBar

    bar = ProgressBar("GAN", unit="step", leave=False, close_when_done=True)

    def update(fold: int, progress) -> None:
        bar(progress.step, progress.total_steps, desc=f"GAN fold {fold}",
            postfix={"d": f"{progress.d_loss:.3f}", "g": f"{progress.g_loss:.3f}"})

    return update


class _ReportingFactory:
    """Wraps GanFoldFactory to print one line per fold (steps, time, collapse verdict)."""

    def __init__(self, factory) -> None:
        self.factory = factory

    def __call__(self, train_clips, feature_cache, fold, seed):
        source = self.factory(train_clips, feature_cache, fold, seed)
        s = self.factory.summaries[fold]
        verdict = "MODE COLLAPSE: " + "; ".join(s["collapse_reasons"]) if s["collapsed"] else "no collapse detected"
        how = "reused" if s["reused"] else f"trained {s['steps']} steps in {s['seconds']:.0f} s"
        print(f"  GAN fold {fold}: {how} ({s['bundle']}), diversity ratio {s['diversity_ratio']:.2f}, {verdict}",
              file=sys.stderr, flush=True)
        return source

    @property
    def summaries(self):
        return self.factory.summaries


def synthetic_factory_from_args(args: argparse.Namespace, train_config):
    """The SyntheticFactory that `--gan` asks for, or None. `train_config` gives the excerpt length."""
    spec = getattr(args, "gan", None)
    if not spec:
        return None
    if not train_config.synthetic_ratio or train_config.synthetic_ratio <= 0:
        raise GanError("--gan needs --synthetic-ratio R > 0 (synthetic samples per real sample, e.g. 0.25).")
    from sentio_ml.training.loop import model_config_for

    model_config = model_config_for(train_config)
    base_features = model_config.feature_config()
    if is_gan_bundle(spec):
        return BundleSourceFactory(spec, model_config.frames, base_features)
    config = resolve_config(spec, epochs=getattr(args, "gan_epochs", None),
                            max_steps=getattr(args, "gan_max_steps", None))
    config = config.with_updates(mel_bins=model_config.num_mel_bins)
    from sentio_ml.gan.pipeline import GanFoldFactory

    out = getattr(args, "gan_dir", None) or DEFAULT_GAN_DIR / str(getattr(args, "dataset", "data"))
    return _ReportingFactory(GanFoldFactory(config, frames=model_config.frames, base_features=base_features,
                                            out_dir=out, progress=_fold_progress()))
