"""The four 3-s patch taggers of Pons & Serra (2019), "musicnn: pre-trained convolutional neural networks
for music audio tagging": musicnn and the VGG-like baseline, each trained on MSD (Last.fm top-50 tags) and on
MagnaTagATune (top-50 tags). musicnn's network is `sentio_ml.musicnn.Musicnn`; `Vgg` here is a line-for-line
port of `musicnn.models.vgg` (ISC licence, © 2019 Music Technology Group, Universitat Pompeu Fabra; code by
Jordi Pons; Keras checkpoints by Elio Quinton, musicnn_keras, ISC, © 2020).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sentio_ml.musicnn import MSD_TAGS, PATCH_FRAMES, SAMPLE_RATE, TF_BATCH_NORM_EPSILON, Musicnn
from sentio_ml.teachers.base import PatchTeacher
from sentio_ml.teachers.frontends import MusicnnLogMel

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
    "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
    "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo",
    "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip  (musicnn.configuration.MTT_LABELS, in output order)
MUSICNN_LICENCE = "ISC; musicnn (c) 2019 Music Technology Group, Universitat Pompeu Fabra (Jordi Pons)"
KERAS_LICENCE = MUSICNN_LICENCE + "; Keras checkpoint (c) 2020 Elio Quinton (musicnn_keras)"
VGG_POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


class Vgg(nn.Module):
    """musicnn's VGG-like tagger: log-mel patches [B, 187, 96] -> (tag logits [B, 50], pool5 [B, 256]).

    Five 3x3 convolutions ("same" padding, ReLU, batch norm, max-pooling; the first pool is 4x1 with stride 2),
    128 filters each, after a batch norm of the input; pool5 ([2, 1] x 128) flattened in Keras's
    (time, frequency, channel) order feeds one dense layer."""

    def __init__(self, filters: int = 128, n_tags: int = 50) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=TF_BATCH_NORM_EPSILON)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5))
        self.bns = nn.ModuleList(nn.BatchNorm2d(filters, eps=TF_BATCH_NORM_EPSILON) for _ in range(5))
        self.output = nn.Linear(2 * filters, n_tags)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_bn(mel.unsqueeze(1))  # [B, 1, T, F]
        for conv, bn, (size, stride) in zip(self.convs, self.bns, VGG_POOLS):
            x = F.max_pool2d(bn(F.relu(conv(x))), size, stride)  # "valid" pooling: trailing rows dropped
        pool5 = x.permute(0, 2, 3, 1).flatten(1)  # [B, 2 * 1 * 128] as tf.layers.flatten orders it
        return self.output(pool5), pool5


def musicnn_teacher(name: str, tags: tuple[str, ...], licence: str) -> PatchTeacher:
    """A musicnn tagger; its embedding is the 200-unit penultimate layer after its batch norm (the input of
    the tag layer, musicnn's 'penultimate' feature), its logits the 50 tag logits before the sigmoid."""
    teacher = PatchTeacher(MusicnnLogMel(), Musicnn(), PATCH_FRAMES)
    _describe(teacher, name, 200, tags, licence)
    return teacher


def vgg_teacher(name: str, tags: tuple[str, ...], licence: str) -> PatchTeacher:
    """A VGG-like tagger; its embedding is flattened pool5 (256 values, the input of its tag layer)."""
    teacher = PatchTeacher(MusicnnLogMel(), Vgg(n_tags=len(tags)), PATCH_FRAMES)
    _describe(teacher, name, 256, tags, licence)
    return teacher


def _describe(teacher: PatchTeacher, name: str, embedding_dim: int, tags: tuple[str, ...], licence: str) -> None:
    teacher.name, teacher.sample_rate, teacher.embedding_dim = name, SAMPLE_RATE, embedding_dim
    teacher.logit_names, teacher.licence = tags, licence


__all__ = ["MSD_TAGS", "MTT_TAGS", "Vgg", "musicnn_teacher", "vgg_teacher"]
