"""EfficientAT's MobileNetV3 "mn04" (Schmid, Koutini & Widmer, ICASSP 2023), AudioSet-pretrained, in torch.

A compact port of upstream `models/mn/model.py`, `block_types.py` and `utils.py` (MIT licence, © 2022 Florian
Schmid; see sentio_ml/resources/pretrained/EFFICIENTAT-LICENSE.md) for the one configuration Sentio uses: width 0.4,
strides (2, 2, 2, 2), channel-wise squeeze-excitation (reduction 4), the "mlp" head and 527 AudioSet logits.
Module names follow upstream's so its state dict loads unchanged. torchvision's `ConvNormActivation` is the
`ConvBnAct` here (bias-free convolution, padding (k - 1) // 2, batch norm eps 1e-3, optional activation).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sentio_ml.teachers.base import Teacher, check_waves
from sentio_ml.teachers.frontends import EfficientATLogMel

WIDTH = 0.4
# (input, kernel, expanded, output channels, squeeze-excitation, hard-swish, stride) at width 1.0
BLOCKS = (
    (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2), (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2), (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1), (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1), (160, 5, 960, 160, True, True, 1),
)  # fmt: skip
LICENCE = "MIT; EfficientAT (c) 2022 Florian Schmid; weights via swch-audio-classification (c) 2025 Niki Hrovatin"


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of `divisor`, never more than 10 % below `value` (MobileNet's channel rounding)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBnAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 activation: type[nn.Module] | None = None) -> None:
        layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
        super().__init__(*layers, *([activation()] if activation else []))


class ChannelSqueezeExcitation(nn.Module):
    """Upstream's ConcurrentSEBlock with the single channel-wise SqueezeExcitation mn04 uses."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        squeeze = make_divisible(channels // reduction)
        layer = nn.Module()
        layer.fc1, layer.fc2 = nn.Linear(channels, squeeze), nn.Linear(squeeze, channels)
        self.conc_se_layers = nn.ModuleList([layer])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.conc_se_layers[0]
        scale = layer.fc2(F.relu(layer.fc1(x.mean(dim=(2, 3)))))
        return torch.sigmoid(scale)[:, :, None, None] * x


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, se: bool, hard_swish: bool,
                 stride: int) -> None:
        super().__init__()
        activation = nn.Hardswish if hard_swish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(ConvBnAct(cin, expanded, 1, activation=activation))
        layers.append(ConvBnAct(expanded, expanded, kernel, stride, groups=expanded, activation=activation))
        if se:
            layers.append(ChannelSqueezeExcitation(expanded))
        layers.append(ConvBnAct(expanded, cout, 1))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.residual else out


class MobileNetV3(nn.Module):
    """EfficientAT's MN: log mel [B, 1, 128, frames] -> (logits [B, 527], pooled features [B, 384])."""

    def __init__(self, width: float = WIDTH, n_classes: int = 527) -> None:
        super().__init__()
        scaled = [(make_divisible(cin * width), k, make_divisible(exp * width), make_divisible(cout * width), se, hs, s)
                  for cin, k, exp, cout, se, hs, s in BLOCKS]
        last_in = scaled[-1][3]
        self.features = nn.Sequential(
            ConvBnAct(1, scaled[0][0], 3, 2, activation=nn.Hardswish),
            *(InvertedResidual(*config) for config in scaled),
            ConvBnAct(last_in, 6 * last_in, 1, activation=nn.Hardswish),
        )
        hidden = make_divisible(1280 * width)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(6 * last_in, hidden),
                                        nn.Hardswish(), nn.Dropout(0.2), nn.Linear(hidden, n_classes))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.features(mel)
        return self.classifier(x), x.mean(dim=(2, 3))


class EfficientATTeacher(Teacher):
    """mn04 on whole waves (fully convolutional, global average pooling: any length; trained on 10-s clips).
    Its embedding is the last feature map averaged over time and frequency (384 values; upstream's
    `features` output, the input of the MLP head), its logits the 527 AudioSet logits before the sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.frontend = EfficientATLogMel()
        self.network = MobileNetV3()

    def forward(self, waves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, embedding = self.network(self.frontend(check_waves(waves)).unsqueeze(1))
        return embedding, logits


def mn04_teacher() -> EfficientATTeacher:
    from sentio_ml.teachers.audioset import AUDIOSET_CLASSES

    teacher = EfficientATTeacher()
    teacher.name, teacher.sample_rate, teacher.embedding_dim = "mn04", 32000, 384
    teacher.logit_names, teacher.licence = AUDIOSET_CLASSES, LICENCE
    return teacher
