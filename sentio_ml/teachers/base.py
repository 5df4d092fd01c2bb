"""The common face of every teacher network: raw mono waves in, (embedding, logits) out, all in torch.

A `Teacher` owns its whole input pipeline (mel front-end, patching, pooling), so a distillation loop can
feed it the same augmented audio the student sees, at the teacher's own `sample_rate`, on any device.
"""
from __future__ import annotations

import torch
from torch import nn

from sentio_ml.paths import pretrained_dir

PRETRAINED = pretrained_dir()  # sentio_ml/resources/pretrained, shipped as package data


class Teacher(nn.Module):
    """A pretrained tagger, frozen in eval mode: waves [B, samples] -> (embedding [B, D], logits [B, K])."""

    name: str
    sample_rate: int  # the input sample rate the network was trained at
    embedding_dim: int
    logit_names: tuple[str, ...]
    licence: str  # one line for model cards: licence and copyright of the weights and the code they come from

    def forward(self, waves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """waves [B, samples] float32 mono at `sample_rate` (>= 3 s) -> (embedding [B, embedding_dim],
        logits [B, len(logit_names)])."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> Teacher:
        """A teacher stays in eval mode, also when a module holding it is put in training mode: its batch
        norms must keep their pretrained statistics and its dropout stay off."""
        return super().train(False)


def check_waves(waves: torch.Tensor) -> torch.Tensor:
    if waves.dim() != 2:
        raise ValueError(f"a teacher takes mono waves as [batch, samples], not a tensor of shape {tuple(waves.shape)}")
    return waves


class PatchTeacher(Teacher):
    """A tagger trained on fixed-length spectrogram patches (musicnn, VGG: 187 frames = 3 s): the wave's
    log-mel spectrogram is cut into consecutive non-overlapping patches from its start (the musicnn package's
    own batching; a trailing part shorter than a patch is dropped, an input shorter than one patch is
    repeated to fill it, as in training), and embedding and logits are averaged over the patches."""

    def __init__(self, frontend: nn.Module, network: nn.Module, patch_frames: int, patches_per_pass: int = 16) -> None:
        super().__init__()
        self.frontend = frontend
        self.network = network  # log-mel patches [N, frames, bands] -> (logits [N, K], embedding [N, D])
        self.patch_frames = patch_frames
        # the first feature maps are large (~9 MB a patch for musicnn and VGG): bound the memory of big batches
        self.patches_per_pass = patches_per_pass

    def patches(self, waves: torch.Tensor) -> torch.Tensor:
        """waves [B, samples] -> log-mel patches [B, P, patch_frames, bands]."""
        mel = self.frontend(check_waves(waves))  # [B, T, bands]
        if mel.shape[1] < self.patch_frames:
            mel = mel.repeat(1, -(-self.patch_frames // mel.shape[1]), 1)
        count = mel.shape[1] // self.patch_frames
        return mel[:, : count * self.patch_frames].reshape(mel.shape[0], count, self.patch_frames, mel.shape[2])

    def forward(self, waves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        patches = self.patches(waves)
        outputs = [self.network(chunk) for chunk in patches.flatten(0, 1).split(self.patches_per_pass)]
        logits, embedding = (torch.cat(parts) for parts in zip(*outputs))
        batch, count = patches.shape[:2]
        return (embedding.reshape(batch, count, -1).mean(dim=1), logits.reshape(batch, count, -1).mean(dim=1))
