"""Excerpt batches cropped from cached whole-clip fbanks, and the training-time augmentations."""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import torch

from sentio_ml.datasets import Clip
from sentio_ml.features import FeatureConfig
from sentio_ml.training.cache import FeatureCache, excerpt_start_frames


class SyntheticSource(Protocol):
    """Extra training examples (e.g. from the conditional GAN). `sample` returns feats [n, T, M] in the
    model's normalised fbank input format (T = the training crop length; other lengths are cropped or
    zero-padded) and labels [n, 2] on the unit scale. Used for training batches only, never for
    validation or test."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...


class ClipCrops:
    """The fbanks and labels of a list of clips, normalised with a fitted FeatureConfig."""

    def __init__(self, clips: Sequence[Clip], cache: FeatureCache, feature_config: FeatureConfig) -> None:
        self.clips = list(clips)
        self.cache = cache
        self.arrays = [cache.load(c) for c in self.clips]
        self.labels = np.array([[c.valence, c.arousal] for c in self.clips], dtype=np.float32)
        self.cfg = feature_config

    def __len__(self) -> int:
        return len(self.clips)

    def _window(self, array: np.ndarray, start: int, frames: int) -> np.ndarray:
        window = array[start : start + frames]
        if len(window) < frames:  # clip shorter than one excerpt: zero-pad like the AST extractor
            window = np.concatenate([window, np.zeros((frames - len(window), array.shape[1]), array.dtype)])
        return window

    def _normalise(self, stack: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(stack.astype(np.float32)) - self.cfg.mean) / (2.0 * self.cfg.std)

    def random_batch(self, indices: Sequence[int], frames: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One random crop per index: feats [B, frames, mel] (normalised), labels [B, 2]."""
        windows = []
        for i in indices:
            array = self.arrays[i]
            start = int(rng.integers(0, max(1, len(array) - frames + 1)))
            windows.append(self._window(array, start, frames))
        return self._normalise(np.stack(windows)), torch.from_numpy(self.labels[list(indices)])

    def eval_crops(self, index: int, frames: int, count: int) -> torch.Tensor:
        """`count` evenly spaced crops of one clip: [count, frames, mel] (normalised)."""
        array = self.arrays[index]
        starts = excerpt_start_frames(len(self.arrays[index]), frames, count, self.cfg.sample_rate)
        return self._normalise(np.stack([self._window(array, s, frames) for s in starts]))

    def eval_audio(self, index: int, frames: int, count: int) -> torch.Tensor:
        """Audio descriptors of the waveform under the `eval_crops` windows: [count, AUDIO_DESCRIPTOR_COUNT]."""
        starts = excerpt_start_frames(len(self.arrays[index]), frames, count, self.cfg.sample_rate)
        return torch.from_numpy(self.cache.audio_descriptors(self.clips[index], starts, frames))

    def eval_musicnn(self, index: int, frames: int, count: int, patches: int = 3) -> torch.Tensor:
        """musicnn embeddings (over `patches` 3-s patches) of the waveform under the `eval_crops` windows:
        [count, musicnn.EMBEDDING_DIM]."""
        starts = excerpt_start_frames(len(self.arrays[index]), frames, count, self.cfg.sample_rate)
        return torch.from_numpy(self.cache.musicnn_embeddings(self.clips[index], starts, frames, patches))


    def eval_views(self, index: int, frames: int, count: int, views: Sequence[str]) -> dict[str, torch.Tensor]:
        """The declared views (`sentio_ml.composition.VIEWS`) of the `eval_crops` windows, each [count, ...]: the fbank,
        views derived from it, and cached views of the waveform (`FeatureCache.view_features`)."""
        from sentio_ml.composition import VIEWS, views_in_order

        inputs = {"fbank": self.eval_crops(index, frames, count)}
        starts = excerpt_start_frames(len(self.arrays[index]), frames, count, self.cfg.sample_rate)
        for name in views_in_order(list(views)):
            if name not in inputs:
                view = VIEWS[name]
                inputs[name] = (view.compute(None, self.cfg, inputs) if view.needs else
                                torch.from_numpy(self.cache.view_features(self.clips[index], starts, frames, name)))
        return inputs


def spec_augment(
    feats: torch.Tensor,
    generator: torch.Generator,
    time_masks: int,
    time_width: int,
    freq_masks: int,
    freq_width: int,
    gain_jitter: float = 0.0,
) -> torch.Tensor:
    """SpecAugment (Park et al. 2019) on normalised fbank [B, T, M]: masked bands/frames set to 0
    (the normalised mean), plus a random per-excerpt level shift."""
    feats = feats.clone()
    batch, frames, bins = feats.shape

    def masks(count: int, width: int, size: int) -> torch.Tensor:
        keep = torch.ones(batch, size, dtype=torch.bool)
        pos = torch.arange(size)
        for _ in range(count):
            w = torch.randint(0, width + 1, (batch, 1), generator=generator)
            s = (torch.rand(batch, 1, generator=generator) * (size - w).clamp(min=1)).long()
            keep &= ~((pos >= s) & (pos < s + w))
        return keep

    if time_masks and time_width:
        feats = feats * masks(time_masks, min(time_width, frames), frames).unsqueeze(-1)
    if freq_masks and freq_width:
        feats = feats * masks(freq_masks, min(freq_width, bins), bins).unsqueeze(1)
    if gain_jitter:
        feats = feats + (torch.rand(batch, 1, 1, generator=generator) * 2 - 1) * gain_jitter
    return feats


def fit_length(feats: torch.Tensor, frames: int) -> torch.Tensor:
    """Crop or zero-pad the time axis of [B, T, M] to `frames`."""
    if feats.shape[1] > frames:
        return feats[:, :frames]
    if feats.shape[1] < frames:
        return torch.nn.functional.pad(feats, (0, 0, 0, frames - feats.shape[1]))
    return feats
