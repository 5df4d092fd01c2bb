"""GAN training on tensors: real fbank excerpts of the *training* songs + their labels -> a GanRun.

Standalone by design: it knows nothing about datasets or folds; the callers (the `gan train` command,
the per-fold factory used by `sentio-ml cv`) decide which songs it may see.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import torch
from torch.optim.swa_utils import AveragedModel

from sentio_ml.gan.adversary import Adversary
from sentio_ml.gan.config import GanConfig
from sentio_ml.gan.errors import GanError
from sentio_ml.gan.labels import LabelSampler
from sentio_ml.gan.networks import Discriminator, Generator
from sentio_ml.gan.quality import pairwise_diversity

# Fixed conditioning points of the per-epoch sample grid: Russell quadrants Q1..Q4, then neutral.
GRID_POINTS = [(0.75, 0.75), (0.25, 0.75), (0.25, 0.25), (0.75, 0.25), (0.5, 0.5)]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class GanProgress:
    step: int
    total_steps: int
    epoch: int
    d_loss: float
    g_loss: float
    elapsed: float

    @property
    def eta(self) -> float:
        return self.elapsed / max(self.step, 1) * (self.total_steps - self.step)


@dataclass
class GanRun:
    """Everything a finished (or cancelled) run produced; the generator holds the EMA weights."""

    config: GanConfig
    generator: Generator
    label_sampler: LabelSampler
    history: dict[str, list[float]]  # per generator step: d_loss, g_loss, d_real, d_fake, d_label_mse
    epochs: list[dict] = field(default_factory=list)  # per epoch: losses, within-label diversity ratio
    grids: list[torch.Tensor] = field(default_factory=list)  # per epoch fixed-noise samples [L*K, T, M]
    grid_labels: torch.Tensor | None = None
    clips: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    def source(self, frames: int | None = None, feature_config=None):
        """This run as a SyntheticSource rendering `frames`-long excerpts (normalised by `feature_config`)."""
        from sentio_ml.gan.source import GanSyntheticSource

        return GanSyntheticSource(self.generator, self.label_sampler, frames=frames, feature_config=feature_config)


class GanDivergedError(GanError):
    """Losses became NaN/inf; `.run` keeps what was trained and logged up to that point."""

    def __init__(self, message: str, run: GanRun) -> None:
        super().__init__(message)
        self.run = run


class ExcerptPool:
    """Real fbanks per clip ([N, T, M] tensor or a list of [T_i, M]) cropped to `frames` at random."""

    def __init__(self, features: torch.Tensor | Sequence[torch.Tensor], frames: int, mel_bins: int) -> None:
        clips = list(features) if not isinstance(features, torch.Tensor) else list(features.unbind(0))
        if len(clips) < 2:
            raise GanError("The GAN needs at least 2 training clips.")
        self.frames = frames
        self.clips: list[torch.Tensor] = []
        for i, clip in enumerate(clips):
            clip = torch.as_tensor(clip, dtype=torch.float32)
            if clip.ndim != 2 or clip.shape[1] != mel_bins:
                raise GanError(
                    f"Training clip {i} has fbank shape {tuple(clip.shape)}; the GAN expects [frames, {mel_bins}]."
                )
            if clip.shape[0] < frames:  # short clip: repeat it to the crop length
                clip = clip.repeat((frames + clip.shape[0] - 1) // clip.shape[0], 1)[:frames]
            self.clips.append(clip)
        stacked = torch.cat(self.clips, dim=0)
        if not torch.isfinite(stacked).all():
            raise GanError("The GAN's training features contain NaN or infinite values.")
        self.mean = stacked.mean(dim=0)
        self.std = stacked.std(dim=0).clamp_min(1e-3)

    def __len__(self) -> int:
        return len(self.clips)

    def crop(self, indices: Sequence[int], generator: torch.Generator) -> torch.Tensor:
        out = []
        for i in indices:
            clip = self.clips[int(i)]
            start = int(torch.randint(clip.shape[0] - self.frames + 1, (1,), generator=generator))
            out.append(clip[start : start + self.frames])
        return torch.stack(out)


def grid_conditions(generator: Generator, sampler: LabelSampler) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Fixed ((noise, local noise), labels) for the per-epoch grid: `grid_labels` rows x `grid_noise` columns."""
    config = generator.config
    gen = torch.Generator().manual_seed(config.seed + 7919)
    points = list(GRID_POINTS[: config.grid_labels])
    if config.grid_labels > len(points):
        points += sampler.sample(config.grid_labels - len(points), gen).tolist()
    labels = torch.tensor(points, dtype=torch.float32).repeat_interleave(config.grid_noise, dim=0)
    noise, local = generator.sample_noise(config.grid_noise, config.frames, gen)
    return (noise.repeat(config.grid_labels, 1), local.repeat(config.grid_labels, 1, 1)), labels


def mode_seeking_loss(fake: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor], half: int,
                      generator: Generator) -> torch.Tensor:
    """MSGAN's term: 1 / (|G(z1, y) - G(z2, y)| / |z1 - z2|), on pairs that share a label; it grows as
    different noise gives the same output, i.e. as the generator collapses."""
    z = (fake - generator.feature_mean) / generator.feature_std
    image_gap = (z[:half] - z[half : 2 * half]).abs().mean()
    noise_gap = torch.cat([(n[:half] - n[half : 2 * half]).abs().flatten(1) for n in noise], dim=1).mean()
    return 1.0 / (image_gap / noise_gap + 1e-5)


def within_label_diversity(samples: torch.Tensor, rows: int, generator: Generator) -> float:
    """Mean pairwise distance among samples that share a label (standardised units)."""
    z = (samples - generator.feature_mean) / generator.feature_std
    return float(torch.stack([pairwise_diversity(group) for group in z.chunk(rows)]).mean())


def _total_steps(config: GanConfig, steps_per_epoch: int) -> int:
    """`epochs` worth of steps (else `max_steps`), capped at `max_steps` when that is set."""
    total = config.epochs * steps_per_epoch if config.epochs > 0 else config.max_steps
    return min(total, config.max_steps) if config.max_steps > 0 else total


def _adversarial_step(generator: Generator, adversary: Adversary, g_opt: torch.optim.Optimizer, sampler: LabelSampler,
                      real: torch.Tensor, real_labels: torch.Tensor, rng: torch.Generator) -> dict[str, float]:
    """`discriminator_steps` discriminator updates, then one generator update (with the mode-seeking term
    when configured); the step's losses and scores."""
    config, batch = generator.config, len(real)
    generator.train()
    for _ in range(config.discriminator_steps):
        fake_labels = sampler.sample(batch, rng)
        with torch.no_grad():
            fake = generator(*generator.sample_noise(batch, config.frames, rng), fake_labels, config.frames)
        d_stats = adversary.step(real, real_labels, fake, fake_labels)
    fake_labels = sampler.sample(batch, rng)
    noise = generator.sample_noise(batch, config.frames, rng)
    if config.mode_seeking > 0:  # pairs: the second half repeats the first half's labels
        fake_labels = torch.cat([fake_labels[: batch // 2]] * 2 + [fake_labels[2 * (batch // 2):]])
    fake = generator(*noise, fake_labels, config.frames)
    g_loss = adversary.generator_loss(fake, fake_labels)
    if config.mode_seeking > 0:
        g_loss = g_loss + config.mode_seeking * mode_seeking_loss(fake, noise, batch // 2, generator)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return {"d_loss": d_stats.loss, "g_loss": float(g_loss.detach()),
            "d_real": d_stats.real_score, "d_fake": d_stats.fake_score, "d_label_mse": d_stats.label_loss}


def train_gan(
    features: torch.Tensor | Sequence[torch.Tensor],
    labels: torch.Tensor,
    config: GanConfig,
    *,
    progress: Callable[[GanProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> GanRun:
    """Train the conditional GAN on real excerpts of the training songs and their labels [N, 2] in [0, 1]."""
    labels = torch.as_tensor(labels, dtype=torch.float32)
    pool = ExcerptPool(features, config.frames, config.mel_bins)
    if labels.shape != (len(pool), 2):
        raise GanError(f"Expected {len(pool)} labels of shape [N, 2], got {tuple(labels.shape)}.")
    sampler = LabelSampler(labels)
    batch = min(config.batch_size, len(pool))
    steps_per_epoch = max(1, len(pool) // batch)
    total = _total_steps(config, steps_per_epoch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = Generator(config, pool.mean, pool.std)
        adversary = Adversary(Discriminator(config, pool.mean, pool.std), config)
    ema = AveragedModel(generator, avg_fn=_ema_with_warmup(config.ema_decay), use_buffers=True)
    g_opt = torch.optim.Adam(generator.parameters(), lr=config.generator_lr, betas=tuple(config.betas))
    rng = torch.Generator().manual_seed(config.seed)
    grid_noise, grid_labels = grid_conditions(generator, sampler)
    reference_diversity = pairwise_diversity((pool.crop(range(min(len(pool), 64)), rng) - pool.mean) / pool.std)

    run = GanRun(config=config, generator=ema.module, label_sampler=sampler,
                 history={"d_loss": [], "g_loss": [], "d_real": [], "d_fake": [], "d_label_mse": []},
                 grid_labels=grid_labels, clips=len(pool))
    started = time.monotonic()
    order = torch.randperm(len(pool), generator=rng)
    cursor = 0
    for step in range(1, total + 1):
        if cursor + batch > len(pool):
            order, cursor = torch.randperm(len(pool), generator=rng), 0
        index = order[cursor : cursor + batch]
        cursor += batch
        values = _adversarial_step(generator, adversary, g_opt, sampler, pool.crop(index, rng), labels[index], rng)
        ema.update_parameters(generator)
        for key, value in values.items():
            run.history[key].append(value)
        run.seconds = time.monotonic() - started
        if not all(map(_finite, values.values())):
            raise GanDivergedError(
                f"GAN training diverged at step {step} (a loss became NaN or infinite); "
                "try a lower learning rate or the hinge loss.", run)
        epoch = (step - 1) // steps_per_epoch + 1
        if progress is not None:
            progress(GanProgress(step, total, epoch, values["d_loss"], values["g_loss"], run.seconds))
        cancelled = cancel is not None and cancel.is_set()
        if step % steps_per_epoch == 0 or step == total or cancelled:
            _close_epoch(run, epoch, steps_per_epoch, grid_noise, reference_diversity)
        if cancelled:
            run.cancelled = True
            break
    run.generator.eval()
    return run


def _close_epoch(run: GanRun, epoch: int, steps_per_epoch: int, grid_noise: tuple[torch.Tensor, torch.Tensor],
                 reference_diversity: torch.Tensor) -> None:
    run.generator.eval()
    with torch.no_grad():
        grid = run.generator(*grid_noise, run.grid_labels, run.config.frames)
    run.grids.append(grid)
    recent = slice(-steps_per_epoch, None)
    diversity = within_label_diversity(grid, run.config.grid_labels, run.generator)
    run.epochs.append({
        "epoch": epoch,
        "step": len(run.history["g_loss"]),
        "d_loss": _mean(run.history["d_loss"][recent]),
        "g_loss": _mean(run.history["g_loss"][recent]),
        "within_label_diversity_ratio": diversity / max(float(reference_diversity), 1e-8),
    })


def _ema_with_warmup(decay: float):
    """EMA whose decay ramps up as min(decay, (1 + n) / (10 + n)): early on the average follows the
    generator closely instead of blending the very different generators of the first steps (which
    blurs samples towards the mean in short CPU runs)."""

    def average(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        rate = min(decay, (1.0 + n) / (10.0 + n))
        return rate * averaged + (1.0 - rate) * current

    return average


def _mean(values: list[float]) -> float:
    return sum(values) / max(len(values), 1)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
