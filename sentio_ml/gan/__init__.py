"""Conditional-GAN spectrogram augmentation (see docs/gan.md).

Public surface: `GanConfig`/`PRESETS`, `train_gan(features, labels, config) -> GanRun`,
`GanSyntheticSource` (the training loop's `SyntheticSource`), `save_gan_bundle`/`load_gan_bundle`,
`evaluate_quality`, `write_quality_report`.
"""
from sentio_ml.gan.config import PRESETS, GanConfig, resolve_config
from sentio_ml.gan.errors import GanError
from sentio_ml.gan.labels import LabelSampler
from sentio_ml.gan.quality import evaluate_quality
from sentio_ml.gan.source import GanSyntheticSource
from sentio_ml.gan.trainer import GanDivergedError, GanProgress, GanRun, train_gan

__all__ = [
    "PRESETS", "GanConfig", "resolve_config", "GanError", "LabelSampler", "evaluate_quality",
    "GanSyntheticSource", "GanDivergedError", "GanProgress", "GanRun", "train_gan",
]
