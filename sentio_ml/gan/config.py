"""Typed hyper-parameters of the conditional GAN, with named presets.

One frozen dataclass holds every knob (no loose strings); it round-trips through JSON so a GAN
bundle carries the exact recipe that produced it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sentio_ml.config_io import config_from_dict, config_to_dict
from sentio_ml.gan.errors import GanError


@dataclass(frozen=True)
class GanConfig:
    """Architecture and optimisation settings for one GAN run.

    The generator is fully convolutional along time: it is *trained* on random crops of `frames` frames
    (cheap on a CPU) and can render excerpts of any length, e.g. the regressor's 1024-frame crop.
    `mel_bins` must equal the fbank height. `blocks` x2 upsampling stages start from one latent step per
    2**blocks frames; the output is cropped to the exact length.
    """

    frames: int = 128
    mel_bins: int = 128
    noise_dim: int = 32  # global noise (per excerpt) and local noise (per base time step) channels
    label_dim: int = 2
    generator_channels: int = 256
    discriminator_channels: int = 256
    blocks: int = 3
    batch_size: int = 32
    epochs: int = 12
    max_steps: int = 0  # 0 = no cap; otherwise stop after this many generator steps
    generator_lr: float = 5e-4
    discriminator_lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.9)  # short CPU runs: a little momentum, higher rates than BigGAN's
    ema_decay: float = 0.99
    output_init_scale: float = 0.1  # generator output layer starts this much smaller than default init
    output_bound: float = 4.0  # generator output limited to +-this many per-bin standard deviations (tanh)
    label_loss: float = 1.0  # weight of the auxiliary label regression (D learns it on real, G must match it)
    loss: str = "hinge"  # "hinge" (SN-GAN/BigGAN) or "wasserstein" (needs the spectral norm as Lipschitz guard)
    r1_gamma: float = 0.0  # optional zero-centred gradient penalty on real data (0 = off)
    mode_seeking: float = 0.2  # weight of the mode-seeking term (Mao et al. 2019, MSGAN) against collapse; 0 = off
    discriminator_steps: int = 1
    grid_labels: int = 5  # rows of the fixed-noise grid (label points)
    grid_noise: int = 4  # columns of the fixed-noise grid (noise vectors per label)
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.frames < 8 or self.mel_bins < 8:
            problems.append(f"excerpt {self.frames}x{self.mel_bins} is smaller than 8x8")
        if self.blocks < 1 or 2**self.blocks > self.frames:
            problems.append(f"blocks={self.blocks} does not fit a crop of {self.frames} frames")
        if self.batch_size < 2:
            problems.append("batch_size must be at least 2")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            problems.append("ema_decay must be in [0, 1)")
        if self.epochs < 1 and self.max_steps < 1:
            problems.append("epochs or max_steps must be positive")
        if problems:
            raise GanError("Invalid GAN configuration: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GanConfig":
        return config_from_dict(cls, data, "GAN settings")

    def with_updates(self, **changes: Any) -> "GanConfig":
        """A copy with some fields changed (None values are ignored, handy for CLI overrides)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


LOSSES = ("hinge", "wasserstein")

# Presets: `tiny` is for tests (seconds), `small` is the CV-ablation size (~1-2 min per fold on 2 CPU cores
# for ~576 clips), `base` is for a machine with time or a GPU.
PRESETS: dict[str, GanConfig] = {
    "tiny": GanConfig(
        frames=32, mel_bins=16, noise_dim=8, generator_channels=16, discriminator_channels=16, blocks=2,
        batch_size=8, epochs=1, max_steps=3, grid_labels=2, grid_noise=2,
    ),
    "small": GanConfig(frames=64, batch_size=16, epochs=8),
    "base": GanConfig(frames=256, noise_dim=64, generator_channels=512, discriminator_channels=512, blocks=4,
                      epochs=60),
}


def resolve_config(name_or_path: str, **overrides: Any) -> GanConfig:
    """A preset name or a JSON file with GanConfig fields, then CLI overrides (None ignored)."""
    import json
    from pathlib import Path

    if name_or_path in PRESETS:
        config = PRESETS[name_or_path]
    else:
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise GanError(
                f"GAN configuration {name_or_path!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON file."
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GanError(f"Cannot read GAN configuration {path}: {exc}.") from exc
        if isinstance(data, dict) and "gan" in data:  # a GAN bundle's config.json
            data = data["gan"]
        if not isinstance(data, dict):
            raise GanError(f"GAN configuration {path} must be a JSON object.")
        config = GanConfig.from_dict(data)
    return config.with_updates(**overrides)
