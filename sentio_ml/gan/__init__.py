"""Conditional-GAN spectrogram augmentation (see docs/gan.md).

Public surface: `GanConfig`/`PRESETS`, `train_gan(features, labels, config) -> GanRun`,
`GanSyntheticSource` (the training loop's `SyntheticSource`), `save_gan_bundle`/`load_gan_bundle`,
`evaluate_quality`, `write_quality_report`.
"""
import importlib
from typing import Any

# Imported on first use (PEP 562), so `sentio-ml --help` and the `--gan` flags do not load torch.
_EXPORTS = {
    "PRESETS": "config", "GanConfig": "config", "resolve_config": "config", "GanError": "errors",
    "LabelSampler": "labels", "evaluate_quality": "quality", "GanSyntheticSource": "source",
    "GanDivergedError": "trainer", "GanProgress": "trainer", "GanRun": "trainer", "train_gan": "trainer",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
