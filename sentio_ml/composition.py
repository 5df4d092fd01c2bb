"""What the shipped model is, in one place: input views, parts (network + fitted head), and how they combine.

    excerpt (16 kHz mono, 10.26 s, placed by sentio_ml.audio.excerpt_starts)
      │
      ├─ view "fbank": normalised Kaldi log-mel [1024 x 128]  (decoding threads, CPU)
      │     └─ part "ast": AstEncoder (transformer) → LinearHead → (valence, arousal)
      └─ view "wave": the excerpt itself                        (only when a teacher part is declared)
            └─ part "<teacher>": pretrained CNN embedding → LinearHead → (valence, arousal)

    output = clamp(offset + scale · Σ_part weight_part · part_output, 0, 1)      (per dimension)

`Composition.describe()` prints this for a loaded model; `shares()` says how much of the output's variance
each part supplies on given inputs (covariance share: Cov(part's contribution, output) / Var(output), which
sums to 1). Architecture (part kinds, encoder sizes, views) is the config; everything fitted — head
coefficients, standardisation, weights, calibration — is a tensor in model.safetensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from sentio_ml.ast_encoder import AstEncoder, EncoderConfig


@dataclass(frozen=True)
class View:
    """One input representation of an excerpt, computed from its decoded 16-kHz samples."""

    name: str
    description: str
    compute: Callable[[np.ndarray, Any], torch.Tensor]  # (waves [B, samples], FeatureConfig) -> tensor
    device: str  # where it is computed


def _fbank(waves: np.ndarray, features: Any) -> torch.Tensor:
    from sentio_ml.features import compute_fbank

    return compute_fbank(waves, features)


VIEWS: dict[str, View] = {
    "fbank": View("fbank", "normalised Kaldi log-mel fbank (sentio_ml.features.compute_fbank)", _fbank,
                  "decoding threads (CPU)"),
    "wave": View("wave", "the 16-kHz mono excerpt itself",
                 lambda waves, _: torch.from_numpy(np.ascontiguousarray(waves)), "decoding threads (CPU)"),
}


class LinearHead(nn.Module):
    """Standardise, then a linear map to (valence, arousal); fitted by ridge regression in closed form."""

    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(inputs))
        self.register_buffer("std", torch.ones(inputs))
        self.register_buffer("weight", torch.zeros(inputs, 2))
        self.register_buffer("bias", torch.full((2,), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std) @ self.weight + self.bias

    def fit(self, x: np.ndarray, y: np.ndarray, alpha: float) -> "LinearHead":
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        mean, std = x.mean(0), x.std(0) + 1e-6
        z = (x - mean) / std
        weight = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean(0)))
        for name, value in (("mean", mean), ("std", std), ("weight", weight), ("bias", y.mean(0))):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32))
        return self


class AstPart(nn.Module):
    """The transformer part: fbank → AstEncoder → LinearHead."""

    kind = "ast"
    view = "fbank"

    def __init__(self, encoder: EncoderConfig, backend: str = "lean") -> None:
        super().__init__()
        self.encoder = AstEncoder(encoder, backend=backend)
        self.head = LinearHead(encoder.embedding_dim)

    def embed(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.encoder(fbank)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(fbank))

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "view": self.view, "encoder": self.encoder.config.to_dict()}


class TeacherPart(nn.Module):
    """A pretrained 16-kHz tagger (sentio_ml.teachers) → its embedding ⊕ logits → LinearHead."""

    kind = "teacher"
    view = "wave"

    def __init__(self, teacher: str) -> None:
        super().__init__()
        from sentio_ml.teachers import build_teacher

        self.teacher_name = teacher
        self.teacher = build_teacher(teacher)
        self.head = LinearHead(self.teacher.embedding_dim + len(self.teacher.logit_names))

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.teacher(wave), dim=1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(wave))

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "view": self.view, "teacher": self.teacher_name}


def build_part(spec: dict[str, Any], backend: str = "lean") -> nn.Module:
    if spec["kind"] == "ast":
        return AstPart(EncoderConfig.from_dict(spec["encoder"]), backend=backend)
    if spec["kind"] == "teacher":
        return TeacherPart(spec["teacher"])
    raise ValueError(f"unknown part kind '{spec['kind']}'")


class Composition(nn.Module):
    """Parts combined per output dimension with fitted weights, then an affine spread calibration."""

    def __init__(self, parts: dict[str, nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(parts)
        self.register_buffer("weights", torch.full((len(parts), 2), 1.0 / len(parts)))
        self.register_buffer("offset", torch.zeros(2))
        self.register_buffer("scale", torch.ones(2))

    @classmethod
    def from_config(cls, config: dict[str, Any], backend: str = "lean") -> "Composition":
        return cls({name: build_part(spec, backend) for name, spec in config["parts"].items()})

    def config(self) -> dict[str, Any]:
        return {"parts": {name: part.config() for name, part in self.parts.items()}, "views": self.views}

    @property
    def views(self) -> list[str]:
        return sorted({part.view for part in self.parts.values()})

    def part_outputs(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Each part's raw (valence, arousal): [parts, B, 2]."""
        return torch.stack([part(inputs[part.view]) for part in self.parts.values()])

    def combine(self, outputs: torch.Tensor) -> torch.Tensor:
        return (self.offset + self.scale * (self.weights[:, None, :] * outputs).sum(0)).clamp(0.0, 1.0)

    def forward(self, fbank: torch.Tensor | None = None, wave: torch.Tensor | None = None) -> torch.Tensor:
        """Valence and arousal [B, 2] in [0, 1] from the views the parts need."""
        return self.combine(self.part_outputs(fbank=fbank, wave=wave))

    def shares(self, outputs: torch.Tensor) -> dict[str, list[float]]:
        """Each part's share of the output's variance (per dimension) for part outputs [parts, N, 2]."""
        contributions = (self.scale * self.weights[:, None, :] * outputs).double().numpy()
        total = contributions.sum(0)
        centred = total - total.mean(0)
        shares = {}
        for name, part in zip(self.parts, contributions):
            cov = ((part - part.mean(0)) * centred).mean(0)
            shares[name] = (cov / np.maximum(centred.var(0), 1e-12)).round(3).tolist()
        return shares

    def describe(self) -> str:
        """The composition as a table (the model card and docs/internals.md use it)."""
        lines = ["| part | view | network | weight (valence, arousal) |", "|---|---|---|---|"]
        for (name, part), weight in zip(self.parts.items(), self.weights.tolist()):
            network = (f"AST {part.encoder.config.num_layers}x{part.encoder.config.hidden_size}, "
                       f"{np.prod(part.encoder.config.grid())} patches" if part.kind == "ast" else f"teacher {part.teacher_name}")
            lines.append(f"| {name} | {part.view} | {network} | {weight[0]:.3f}, {weight[1]:.3f} |")
        lines.append(f"\noutput = clamp(offset + scale · Σ weight · part, 0, 1); offset = "
                     f"({self.offset[0]:.3f}, {self.offset[1]:.3f}), scale = ({self.scale[0]:.3f}, {self.scale[1]:.3f})")
        return "\n".join(lines)
