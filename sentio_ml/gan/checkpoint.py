"""GAN bundles: a directory like the model bundles, with nothing executable in it.

    config.json             format + version, GanConfig, the label KDE bandwidth, the FeatureConfig whose
                            normalisation synthetic samples get (if known), render length, training data
    generator.safetensors   the EMA generator weights (with its per-bin statistics) and the KDE support
                            (the training labels), safetensors only
    history.json            per-step losses and per-epoch summaries
    metrics.json            the quality report's figures (may be {})
    MODEL_CARD.md           a short card: what it was trained on, what it is for
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from sentio_ml.bundle import write_model_folder
from sentio_ml.errors import BundleError
from sentio_ml.gan.config import GanConfig
from sentio_ml.gan.errors import GanError
from sentio_ml.gan.labels import LabelSampler
from sentio_ml.gan.networks import Generator
from sentio_ml.gan.source import GanSyntheticSource
from sentio_ml.gan.trainer import GanRun

FORMAT = "sentio-gan-bundle"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "generator.safetensors"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
SUPPORT_KEY = "label_sampler.support"


@dataclass
class GanBundle:
    generator: Generator
    label_sampler: LabelSampler
    config: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    card: str = ""
    path: Path | None = None

    @property
    def gan_config(self) -> GanConfig:
        return self.generator.config

    @property
    def feature_config(self):
        """The regressor FeatureConfig whose normalisation synthetic samples get (None: raw log-mel)."""
        data = self.config.get("features")
        if not data:
            return None
        from sentio_ml.features import FeatureConfig

        return FeatureConfig.from_dict(data)

    def source(self, frames: int | None = None, feature_config=None) -> GanSyntheticSource:
        """A SyntheticSource rendering `frames` (default: the length recorded at training) frames."""
        return GanSyntheticSource(
            self.generator, self.label_sampler,
            frames=frames or self.config.get("render_frames"),
            feature_config=feature_config if feature_config is not None else self.feature_config,
        )


def bundle_from_run(run: GanRun, *, render_frames: int | None = None, feature_config=None,
                    training_data: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None
                    ) -> GanBundle:
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gan": run.config.to_dict(),
        "label_sampler": run.label_sampler.to_dict(),
        "render_frames": int(render_frames or run.config.frames),
        "features": feature_config.to_dict() if feature_config is not None else None,
        "training_data": {"clips": run.clips, **(training_data or {})},
        "training": {"steps": len(run.history.get("g_loss", [])), "seconds": round(run.seconds, 1),
                     "cancelled": run.cancelled},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    history = {"steps": run.history, "epochs": run.epochs}
    bundle = GanBundle(run.generator, run.label_sampler, config, history, dict(metrics or {}))
    bundle.card = default_card(bundle)
    return bundle


def default_card(bundle: GanBundle) -> str:
    cfg, data = bundle.config, bundle.config.get("training_data", {})
    described = ", ".join(f"{k}: {v}" for k, v in data.items())
    return (
        "# Sentio conditional GAN (spectrogram augmentation)\n\n"
        "Generates log-mel fbank excerpts conditioned on (valence, arousal) in [0, 1], for *training-time "
        "augmentation only*: synthetic samples must never be used for validation or testing.\n\n"
        f"- Trained on: {described}\n"
        f"- Generator steps: {cfg['training']['steps']} ({cfg['training']['seconds']} s)"
        f"{' - cancelled early' if cfg['training']['cancelled'] else ''}\n"
        f"- Objective: {cfg['gan']['loss']} loss, spectral norm, projection discriminator, EMA generator\n"
        "- Labels are drawn from a Gaussian KDE of the training labels.\n"
        "- See `metrics.json` / `report.md` for Fréchet distance, label fidelity and mode-collapse checks.\n"
    )


def save_gan_bundle(bundle: GanBundle, directory: str | os.PathLike) -> Path:
    directory = Path(directory)
    try:
        tensors = {f"generator.{k}": v for k, v in bundle.generator.state_dict().items()}
        tensors[SUPPORT_KEY] = bundle.label_sampler.support
        write_model_folder(directory, WEIGHTS_FILE, tensors,
                           {CONFIG_FILE: bundle.config, HISTORY_FILE: bundle.history, METRICS_FILE: bundle.metrics},
                           bundle.card or default_card(bundle))
    except OSError as exc:
        raise GanError(f"Cannot write the GAN bundle to {directory}: {exc.strerror or exc}.") from exc
    bundle.path = directory
    return directory


def _read_json(path: Path, required: bool) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise BundleError(f"The GAN bundle {path.parent} has no {path.name}.")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"The GAN bundle file {path} is unreadable or not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BundleError(f"The GAN bundle file {path} does not hold a JSON object.")
    return data


def load_gan_bundle(directory: str | os.PathLike) -> GanBundle:
    """Load a GAN bundle; every problem is one BundleError sentence."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise BundleError(f"The GAN bundle folder {directory} does not exist.")
    config = _read_json(directory / CONFIG_FILE, required=True)
    if config.get("format") != FORMAT:
        raise BundleError(f"{directory} is not a Sentio GAN bundle (config.json has no format {FORMAT!r}).")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise BundleError(f"The GAN bundle {directory} needs a newer Sentio (format {config['format_version']}).")
    try:
        gan_config = GanConfig.from_dict(config["gan"])
        tensors = load_file(str(directory / WEIGHTS_FILE))
    except (KeyError, TypeError, GanError) as exc:
        raise BundleError(f"The GAN bundle {directory} has an invalid config.json ({exc}).") from exc
    except (OSError, SafetensorError) as exc:
        raise BundleError(f"The GAN bundle {directory} has a missing or corrupt {WEIGHTS_FILE}.") from exc
    if SUPPORT_KEY not in tensors:
        raise BundleError(f"The GAN bundle {directory} lacks its training-label distribution.")
    generator = Generator(gan_config)
    state = {k.removeprefix("generator."): v for k, v in tensors.items() if k.startswith("generator.")}
    try:
        generator.load_state_dict(state)
    except RuntimeError as exc:
        raise BundleError(f"The GAN bundle {directory} has weights that do not match its config.json.") from exc
    covariance = config.get("label_sampler", {}).get("covariance")
    sampler = LabelSampler(tensors[SUPPORT_KEY], covariance=torch.tensor(covariance).numpy() if covariance else None)
    card_path = directory / CARD_FILE
    return GanBundle(
        generator=generator.eval(), label_sampler=sampler, config=config,
        history=_read_json(directory / HISTORY_FILE, required=False),
        metrics=_read_json(directory / METRICS_FILE, required=False),
        card=card_path.read_text(encoding="utf-8") if card_path.is_file() else "", path=directory,
    )
