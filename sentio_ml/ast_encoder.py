"""The Audio Spectrogram Transformer that carries Sentio's prediction, as an embedding network.

Training builds it on transformers' `ASTModel` (`backend="transformers"`, the reference implementation; an
`ASTModel` loaded from AudioSet weights by hub id or folder can be passed as `backbone`, as the legacy
`sentio_ml.model.build_model(backbone=...)` behind `sentio-ml train --backbone` does). Inference builds
`LeanAST`, a forward-only copy with the same parameter names, because importing transformers' modelling
code costs 2.5–4 s of start-up on this CPU — more than the whole prediction of a song.
`tests/ml/test_ast_encoder.py` checks that both give the same outputs for the same weights, so a bundle
trained with one runs with the other.

Input: normalised Kaldi log-mel fbank [B, frames, mel] (`sentio_ml.features`), average-pooled by
`pool_time` in time before the patches (the shipped student: 8, 80-ms frames, 64 patches — what makes the
CPU training and a 20,000-tracks-per-hour CPU inference possible). Output: the mean of the patch tokens
concatenated with AST's pooled CLS/distillation output, [B, 2·hidden].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sentio_ml.config_io import unknown_fields

LAYER_NORM_EPS = 1e-12  # ASTConfig's default


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of the AST encoder; saved in every bundle."""

    hidden_size: int = 256
    num_layers: int = 6
    num_heads: int = 4
    intermediate_size: int = 1024
    patch_size: int = 16
    frequency_stride: int = 16
    time_stride: int = 16
    frames: int = 1024  # input frames (10 ms) per excerpt, before pooling
    num_mel_bins: int = 128
    pool_time: int = 4
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EncoderConfig":
        unknown = unknown_fields(cls, data)
        if unknown:
            raise ValueError(f"unknown encoder settings: {', '.join(unknown)}")
        return cls(**data)

    @property
    def embedding_dim(self) -> int:
        return 2 * self.hidden_size

    @property
    def pooled_frames(self) -> int:
        return self.frames // self.pool_time

    def grid(self) -> tuple[int, int]:
        """Patches along frequency and time."""
        freq = (self.num_mel_bins - self.patch_size) // self.frequency_stride + 1
        time = (self.pooled_frames - self.patch_size) // self.time_stride + 1
        return freq, time

    def ast_config(self):
        from transformers import ASTConfig

        return ASTConfig(
            hidden_size=self.hidden_size, num_hidden_layers=self.num_layers, num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size, hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=0.0, patch_size=self.patch_size, frequency_stride=self.frequency_stride,
            time_stride=self.time_stride, max_length=self.pooled_frames, num_mel_bins=self.num_mel_bins,
        )

    def with_ast_config(self, ast_config) -> "EncoderConfig":
        """This config with the architecture of a (pretrained) `ASTConfig`, unpooled."""
        return replace(
            self, hidden_size=ast_config.hidden_size, num_layers=ast_config.num_hidden_layers,
            num_heads=ast_config.num_attention_heads, intermediate_size=ast_config.intermediate_size,
            patch_size=ast_config.patch_size, frequency_stride=ast_config.frequency_stride,
            time_stride=ast_config.time_stride, frames=ast_config.max_length,
            num_mel_bins=ast_config.num_mel_bins, pool_time=1,
        )


PRESETS: dict[str, EncoderConfig] = {
    # The shipped student: 4 x 192 on 8 x 8 = 64 patches of the 8x time-pooled fbank (80-ms frames, 10.24 s);
    # sized so the distillation fits a shared 2-core CPU in about an hour (6 x 256 on 128 patches cost 5x more
    # per step: 12 s for 64 crops while the machine was shared).
    "student": EncoderConfig(hidden_size=192, num_layers=4, num_heads=3, intermediate_size=768, pool_time=8),
    # Two larger students for the ablation (docs/distillation.md; neither scored better on the CPU's budget): the
    # same 4 x 192 on 8 x 16 = 128 patches of the 4x pooled fbank (40-ms frames), and 6 x 256 (5.4 M parameters
    # against 2.3 M) on the shipped 64 patches.
    "student-fine-time": EncoderConfig(hidden_size=192, num_layers=4, num_heads=3, intermediate_size=768, pool_time=4),
    "student-large": EncoderConfig(hidden_size=256, num_layers=6, num_heads=4, intermediate_size=1024, pool_time=8),
    # AST-base (the AudioSet checkpoints' architecture): 12 x 768, overlapping 10-10 patches, 1212 of them.
    "base": EncoderConfig(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                          frequency_stride=10, time_stride=10, pool_time=1),
    # For tests: one 32-wide layer.
    "tiny": EncoderConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, dropout=0.0),
}


class _LeanLayer(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = nn.Module()
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(self.attention, name, nn.Linear(config.hidden_size, config.hidden_size))
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.mlp.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.heads = config.num_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        h = self.layernorm_before(x)
        att = self.attention
        q, k, v = (proj(h).view(batch, tokens, self.heads, -1).transpose(1, 2)
                   for proj in (att.q_proj, att.k_proj, att.v_proj))
        context = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, width)
        x = x + att.o_proj(context)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.layernorm_after(x))))


class LeanAST(nn.Module):
    """Forward-only `ASTModel` (same parameter names, same outputs) without transformers' import cost."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        freq, time = config.grid()
        self.embeddings = nn.Module()
        self.embeddings.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.embeddings.distillation_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.embeddings.position_embeddings = nn.Parameter(torch.zeros(1, freq * time + 2, config.hidden_size))
        self.embeddings.patch_embeddings = nn.Module()
        self.embeddings.patch_embeddings.projection = nn.Conv2d(
            1, config.hidden_size, config.patch_size, stride=(config.frequency_stride, config.time_stride))
        self.layers = nn.ModuleList(_LeanLayer(config) for _ in range(config.num_layers))
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, input_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.embeddings
        patches = emb.patch_embeddings.projection(input_values.unsqueeze(1).transpose(2, 3)).flatten(2).transpose(1, 2)
        batch = patches.shape[0]
        x = torch.cat([emb.cls_token.expand(batch, -1, -1), emb.distillation_token.expand(batch, -1, -1), patches], 1)
        x = x + emb.position_embeddings
        for layer in self.layers:
            x = layer(x)
        x = self.layernorm(x)
        return x, (x[:, 0] + x[:, 1]) / 2


class AstEncoder(nn.Module):
    """fbank [B, frames, mel] → embedding [B, 2·hidden] (mean patch token ⊕ pooled CLS/distillation)."""

    def __init__(self, config: EncoderConfig, backend: str = "lean", backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        if backbone is not None:
            self.backbone = backbone
        elif backend == "transformers":
            from transformers import ASTModel

            self.backbone = ASTModel(config.ast_config())
        elif backend == "lean":
            self.backbone = LeanAST(config)
        else:
            raise ValueError(f"unknown AST backend '{backend}' (lean or transformers)")

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    def forward(self, fbank: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """`pooled`: the input is already average-pooled in time (the distillation cache)."""
        frames = self.config.pooled_frames if pooled else self.config.frames
        if fbank.shape[1] != frames:
            fbank = F.pad(fbank[:, :frames], (0, 0, 0, max(0, frames - fbank.shape[1])))
        if self.config.pool_time > 1 and not pooled:
            fbank = F.avg_pool1d(fbank.transpose(1, 2), self.config.pool_time).transpose(1, 2)
        tokens, pooled = tokens_and_pooler(self.backbone(input_values=fbank))
        return torch.cat([tokens[:, 2:].mean(dim=1), pooled], dim=-1)


def tokens_and_pooler(out) -> tuple[torch.Tensor, torch.Tensor]:
    """(last hidden state [B, 2 + patches, H], pooler output [B, H]) of either backbone: transformers' ASTModel
    returns them as attributes, LeanAST as a tuple."""
    return (out.last_hidden_state, out.pooler_output) if hasattr(out, "pooler_output") else out


def init_like_vit(encoder: AstEncoder) -> None:
    """Truncated-normal position/CLS tokens (ViT's init; zeros would make every token start alike)."""
    emb = encoder.backbone.embeddings
    for param in (emb.cls_token, emb.distillation_token, emb.position_embeddings):
        nn.init.trunc_normal_(param, std=0.02)

