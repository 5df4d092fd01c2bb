"""The hybrid as `sentio-ml train` trains it: an Audio Spectrogram Transformer (transformers' `ASTModel`) with a
small head, and the kernel and quadrant heads fitted after it (`sentio_ml.training.kernel`, `.quadrant`).
What ships is the same model declared as a composition (`sentio_ml.composition.Composition.from_hybrid`).

Input: normalised log-mel fbank [B, frames, mel] (`sentio_ml.features`). The embedding is the
mean of the patch tokens concatenated with AST's pooled CLS/distillation output and, optionally, a
cheap "statistics branch" (per-mel-band mean and std over time of the fbank and of its time delta,
through LayerNorm + Linear) that helps a lot when training from scratch on a few hundred clips.
The head (LayerNorm → Linear → GELU → Linear → sigmoid) gives valence and arousal in [0, 1].
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentio_ml.ast_encoder import EncoderConfig, tokens_and_pooler
from sentio_ml.audio_descriptors import AUDIO_DESCRIPTOR_COUNT
from sentio_ml.config_io import SettingsDict
from sentio_ml.descriptors import KernelHead, descriptor_count, fbank_descriptors
from sentio_ml.errors import BackboneUnavailableError, SentioMLError
from sentio_ml.features import FeatureConfig, pad_or_trim
from sentio_ml.musicnn import EMBEDDING_DIM as TAGGER_EMBEDDING_DIM
from sentio_ml.musicnn import Musicnn, load_musicnn
from sentio_ml.quadrant_head import QuadrantHead

# The AudioSet-finetuned AST (10-10 strides) whose architecture the `base` preset mirrors.
DEFAULT_BACKBONE = "MIT/ast-finetuned-audioset-10-10-0.4593"


# ModelConfig field -> transformers' ASTConfig field, for the backbone settings both describe the same way
_AST_FIELDS = (
    ("hidden_size", "hidden_size"), ("num_layers", "num_hidden_layers"), ("num_heads", "num_attention_heads"),
    ("intermediate_size", "intermediate_size"), ("patch_size", "patch_size"),
    ("frequency_stride", "frequency_stride"), ("time_stride", "time_stride"),
)


@dataclass(frozen=True)
class ModelConfig(SettingsDict):
    """Architecture of a `MoodRegressor` (backbone + head); saved in every bundle's config.json."""

    name: str = "small"
    # AST backbone
    hidden_size: int = 192
    num_layers: int = 4
    num_heads: int = 3
    intermediate_size: int = 768
    patch_size: int = 16
    frequency_stride: int = 16
    time_stride: int = 16
    frames: int = 1024
    num_mel_bins: int = 128
    dropout: float = 0.1
    attention_dropout: float = 0.1
    # head
    head_hidden: int = 256
    head_dropout: float = 0.2
    # statistics branch (per-band mean/std of fbank and its delta → LayerNorm → Linear)
    stats_branch: bool = True
    stats_dim: int = 64
    # rhythm + dynamics statistics (onset-envelope autocorrelation over 40–240 BPM, loudness percentiles)
    stats_rhythm: bool = False
    # average-pool the fbank by these factors before the AST (the statistics branch sees it unpooled):
    # 4 in time = 40-ms frames, 16x fewer attention pairs, so the backbone trains on a CPU
    pool_time: int = 1
    pool_freq: int = 1
    # hybrid: an RBF kernel (SVR) head on fbank descriptors (sentio_ml.descriptors), fitted after the
    # network; kernel_rows = its stored training rows (0: none), output = (1 − blend)·net + blend·kernel
    kernel_rows: int = 0
    kernel_blend: float = 0.0
    # quadrant head (sentio_ml.quadrant_head): one-vs-rest RBF SVMs on each excerpt's fbank descriptors and,
    # with audio_descriptors, librosa descriptors of its waveform, fitted after the network (quadrant_rows
    # training rows, quadrant_views column subsets; 0: none); output = (1 − quadrant_weight)·(the above)
    # + quadrant_weight·(the quadrant centroids weighted by the head's probabilities)
    audio_descriptors: bool = False
    # with musicnn, a third view: the embedding of each excerpt by the pretrained MSD_musicnn tagger
    # (sentio_ml.musicnn; its frozen weights are part of the model), averaged over its central musicnn_patches
    # 3-s patches (a 10.26-s excerpt holds 3)
    musicnn: bool = False
    musicnn_patches: int = 1
    quadrant_rows: int = 0
    quadrant_views: int = 0
    quadrant_weight: float = 0.0

    @staticmethod
    def unknown_settings_error(unknown: list[str]) -> Exception:
        return ValueError(f"unknown model settings: {', '.join(unknown)}")

    def ast_config(self):
        from transformers import ASTConfig

        return ASTConfig(
            **{ast_name: getattr(self, name) for name, ast_name in _AST_FIELDS},
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.attention_dropout,
            max_length=self.frames // self.pool_time,
            num_mel_bins=self.num_mel_bins // self.pool_freq,
        )

    def lean_encoder_config(self) -> EncoderConfig:
        """The backbone as `sentio_ml.ast_encoder.LeanAST` reads it (the same architecture and parameter names as
        `ast_config()`'s ASTModel, its input already pooled): prediction then never imports transformers."""
        return EncoderConfig(
            hidden_size=self.hidden_size, num_layers=self.num_layers, num_heads=self.num_heads,
            intermediate_size=self.intermediate_size, patch_size=self.patch_size,
            frequency_stride=self.frequency_stride, time_stride=self.time_stride, frames=self.frames // self.pool_time,
            num_mel_bins=self.num_mel_bins // self.pool_freq, pool_time=1, dropout=0.0,
        )

    def with_backbone_config(self, ast_config) -> "ModelConfig":
        """This config with the backbone fields taken from a (pretrained) `ASTConfig`."""
        return replace(
            self,
            **{name: getattr(ast_config, ast_name) for name, ast_name in _AST_FIELDS},
            frames=ast_config.max_length,
            num_mel_bins=ast_config.num_mel_bins,
            pool_time=1,
            pool_freq=1,
        )

    def feature_config(self, **overrides: Any) -> FeatureConfig:
        """The FeatureConfig whose frames/mel bins this architecture expects."""
        return FeatureConfig(frames=self.frames, num_mel_bins=self.num_mel_bins, **overrides)

    @property
    def num_patches(self) -> int:
        f = (self.num_mel_bins // self.pool_freq - self.patch_size) // self.frequency_stride + 1
        t = (self.frames // self.pool_time - self.patch_size) // self.time_stride + 1
        return f * t


PRESETS: dict[str, ModelConfig] = {
    # The pretrained AudioSet AST (10-10): 768 hidden, 12 layers, overlapping patches, 10.24 s.
    "base": ModelConfig(
        name="base", hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
        frequency_stride=10, time_stride=10, frames=1024, head_hidden=256, stats_dim=64,
    ),
    # The shipped CPU-friendly default: non-overlapping 16x16 patches, 4 layers of 192, 10.24 s excerpts
    # (8 x 64 = 512 patches); see bench/predict_throughput.py for its cost.
    "small": ModelConfig(name="small"),
    # The shipped default's recipe (`sentio-ml train`), trainable on a CPU: 2 layers of 96 on the fbank pooled
    # 4x in time (128 patches per 10.24 s), the rhythm statistics, and the kernel head fitted after training.
    "hybrid": ModelConfig(
        name="hybrid", hidden_size=96, num_layers=2, num_heads=3, intermediate_size=192,
        attention_dropout=0.0, pool_time=4, stats_rhythm=True,
    ),
    # For tests: one 32-wide layer on 2.56 s excerpts.
    "tiny": ModelConfig(
        name="tiny", hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
        frames=256, head_hidden=32, stats_dim=16, dropout=0.0, attention_dropout=0.0, head_dropout=0.0,
    ),
}


def fbank_statistics(feats: torch.Tensor) -> torch.Tensor:
    """Per-mel-band mean and std over time of the fbank and of its first time difference: [B, 4·mel]."""
    delta = feats[:, 1:, :] - feats[:, :-1, :]
    return torch.cat(
        [feats.mean(dim=1), feats.std(dim=1, unbiased=False), delta.mean(dim=1), delta.std(dim=1, unbiased=False)],
        dim=-1,
    )


RHYTHM_LAGS = torch.linspace(25, 150, 48).round().long()  # onset-autocorrelation lags (10-ms frames): 240–40 BPM
RHYTHM_FEATURES = len(RHYTHM_LAGS) + 6


def rhythm_statistics(feats: torch.Tensor) -> torch.Tensor:
    """Rhythm and dynamics of fbank [B, T, mel]: the normalised autocorrelation of the onset envelope
    (mean positive spectral flux) at RHYTHM_LAGS, flux mean/std, and loudness std + 10/50/90th
    percentiles (loudness = log-sum-exp over bands): [B, RHYTHM_FEATURES]."""
    flux = (feats[:, 1:] - feats[:, :-1]).clamp(min=0).mean(dim=-1)
    centred = flux - flux.mean(dim=1, keepdim=True)
    n = centred.shape[1]
    power = torch.fft.rfft(centred, n=2 * n).abs().square()
    autocorr = torch.fft.irfft(power, n=2 * n)[:, :n]
    autocorr = autocorr / (autocorr[:, :1] + 1e-6)
    lags = RHYTHM_LAGS.clamp(max=n - 1).to(feats.device)
    loudness = torch.logsumexp(feats, dim=-1)
    quantiles = torch.quantile(loudness, torch.tensor([0.1, 0.5, 0.9], device=feats.device), dim=1).T
    spreads = [flux.mean(1, keepdim=True), flux.std(1, keepdim=True), loudness.std(1, keepdim=True)]
    return torch.cat([autocorr[:, lags], *spreads, quantiles], dim=-1)


class MoodRegressor(nn.Module):
    """AST backbone + pooled embedding (+ optional statistics branch) + MLP head → [B, 2] in [0, 1]; with the kernel
    and quadrant heads once `with_head` has attached them (training and version-1 bundles only)."""

    def __init__(self, config: ModelConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        if backbone is None:
            from transformers import ASTModel

            backbone = ASTModel(config.ast_config())
        self.config = config
        self.backbone = backbone
        width = 2 * config.hidden_size
        if config.stats_branch:
            stats_in = 4 * config.num_mel_bins + (RHYTHM_FEATURES if config.stats_rhythm else 0)
            self.stats = nn.Sequential(nn.LayerNorm(stats_in), nn.Linear(stats_in, config.stats_dim))
            width += config.stats_dim
        else:
            self.stats = None
        self.embedding_dim = width
        self.kernel = KernelHead(config.kernel_rows, descriptor_count(config.num_mel_bins)) if config.kernel_rows else None
        self.quadrant = (
            QuadrantHead(config.quadrant_rows, quadrant_descriptor_count(config), config.quadrant_views)
            if config.quadrant_rows else None
        )
        self.musicnn = Musicnn() if config.musicnn else None
        self.head = nn.Sequential(
            nn.LayerNorm(width),
            nn.Dropout(config.head_dropout),
            nn.Linear(width, config.head_hidden),
            nn.GELU(),
            nn.Dropout(config.head_dropout),
            nn.Linear(config.head_hidden, 2),
        )
        # the last step: stretch around the centre so held-out outputs have the labels' spread (fitted from the
        # cross-validation's out-of-fold predictions, sentio_ml.evaluation.spread); ones = no stretch
        self.register_buffer("spread", torch.ones(2))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        state_dict.setdefault(prefix + "spread", torch.ones(2))  # bundles written before the spread calibration
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def embed(self, feats: torch.Tensor) -> torch.Tensor:
        """Pooled embedding [B, D] of normalised fbank [B, T, mel] (T is padded/trimmed to config.frames)."""
        feats = pad_or_trim(feats, self.config.frames)
        pooled = feats
        if self.config.pool_time > 1 or self.config.pool_freq > 1:
            pooled = nn.functional.avg_pool2d(feats.unsqueeze(1), (self.config.pool_time, self.config.pool_freq)).squeeze(1)
        # [B, 2 + patches, H]: CLS, distillation, patches (layer-normed)
        tokens, pooler = tokens_and_pooler(self.backbone(input_values=pooled))
        parts = [tokens[:, 2:, :].mean(dim=1), pooler]
        if self.stats is not None:
            stats = fbank_statistics(feats)
            if self.config.stats_rhythm:
                stats = torch.cat([stats, rhythm_statistics(feats)], dim=-1)
            parts.append(self.stats(stats))
        return torch.cat(parts, dim=-1)

    @property
    def needs_audio(self) -> bool:
        """Whether forward() needs `audio`: librosa descriptors of each excerpt's waveform."""
        return self.quadrant is not None and self.config.audio_descriptors

    @property
    def needs_musicnn(self) -> bool:
        """Whether forward() needs `musicnn_input`: musicnn log-mel patches of each excerpt (`sentio_ml.musicnn`)."""
        return self.quadrant is not None and self.musicnn is not None

    def musicnn_embedding(self, musicnn_input: torch.Tensor) -> torch.Tensor:
        """musicnn embeddings [B, TAGGER_EMBEDDING_DIM] of log-mel patches [B, patches, 187, 96] (mean over the
        patches); precomputed embeddings [B, TAGGER_EMBEDDING_DIM] (the training cache's) pass through."""
        if musicnn_input.dim() == 2:
            return musicnn_input
        logits, penultimate = self.musicnn(musicnn_input.flatten(0, 1))
        both = torch.cat([penultimate, logits], dim=-1)
        return both.reshape(musicnn_input.shape[0], musicnn_input.shape[1], -1).mean(dim=1)

    def fbank_descriptors(self, feats: torch.Tensor) -> torch.Tensor:
        """Descriptors [B, D] of the un-normalised excerpts, shared by the kernel and quadrant heads (both are fitted
        on the same normalised crops, so either head's copy of the normalisation undoes it)."""
        stats = self.kernel if self.kernel is not None else self.quadrant
        return fbank_descriptors(pad_or_trim(feats, self.config.frames) * (2 * stats.fbank_std) + stats.fbank_mean)

    def quadrant_descriptors(self, feats: torch.Tensor, audio: torch.Tensor | None,
                             fbank: torch.Tensor | None = None, musicnn_input: torch.Tensor | None = None) -> torch.Tensor:
        """The quadrant head's input [B, D]: the fbank descriptors (computed unless given), plus `audio` and the
        musicnn embedding of `musicnn_input` where the model has those views."""
        parts = [self.fbank_descriptors(feats) if fbank is None else fbank]
        if self.config.audio_descriptors:
            if audio is None:
                raise SentioMLError("This model needs the audio descriptors of each excerpt (sentio_ml.audio_descriptors).")
            parts.append(audio.to(parts[0].dtype))
        if self.musicnn is not None:
            if musicnn_input is None:
                raise SentioMLError("This model needs the musicnn log-mel patches of each excerpt (sentio_ml.musicnn).")
            parts.append(self.musicnn_embedding(musicnn_input).to(parts[0].dtype))
        return torch.cat(parts, dim=-1)

    def forward(self, feats: torch.Tensor, audio: torch.Tensor | None = None,
                musicnn_input: torch.Tensor | None = None) -> torch.Tensor:
        """Valence and arousal [B, 2] in [0, 1]. `audio` [B, AUDIO_DESCRIPTOR_COUNT]: see `needs_audio`;
        `musicnn_input` [B, patches, 187, 96]: see `needs_musicnn` and `musicnn_embedding`."""
        out = torch.sigmoid(self.head(self.embed(feats)))
        if self.kernel is None and self.quadrant is None:
            return self.stretch(out)
        fbank = self.fbank_descriptors(feats)  # once for both heads (~7 ms per excerpt on the CPU)
        if self.kernel is not None:
            kernel = self.kernel.regress(fbank).clamp(0.0, 1.0)
            out = self.kernel.calibrate((1.0 - self.config.kernel_blend) * out + self.config.kernel_blend * kernel)
        if self.quadrant is not None:
            weight = self.config.quadrant_weight
            point = self.quadrant(self.quadrant_descriptors(feats, audio, fbank, musicnn_input))
            out = ((1.0 - weight) * out + weight * point).clamp(0.0, 1.0)
        return self.stretch(out)

    def stretch(self, out: torch.Tensor) -> torch.Tensor:
        """The spread calibration: 0.5 + spread · (out − 0.5), clamped; quadrants (sides of 0.5) never change."""
        return (0.5 + self.spread * (out - 0.5)).clamp(0.0, 1.0)

    def with_head(self, name: str, head: nn.Module, config: ModelConfig) -> "MoodRegressor":
        """A copy in eval mode with `config` and `head` as its `name` ("kernel" or "quadrant") head, sharing the
        backbone; every other weight is this model's."""
        model = MoodRegressor(config, backbone=self.backbone)
        state = {k: v for k, v in self.state_dict().items() if not k.startswith(f"{name}.")}
        state.update({f"{name}.{k}": v for k, v in head.state_dict().items()})
        if model.musicnn is not None and self.musicnn is None:  # gaining the musicnn view: its pretrained weights
            state.update({f"musicnn.{k}": v for k, v in load_musicnn().state_dict().items()})
        if model.musicnn is None:
            state = {k: v for k, v in state.items() if not k.startswith("musicnn.")}
        model.load_state_dict(state)
        return model.eval()


def quadrant_descriptor_count(config: ModelConfig) -> int:
    """Width of the quadrant head's input for `config`."""
    return (descriptor_count(config.num_mel_bins) + (AUDIO_DESCRIPTOR_COUNT if config.audio_descriptors else 0)
            + (TAGGER_EMBEDDING_DIM if config.musicnn else 0))


def _load_backbone(backbone: str | os.PathLike):
    from transformers import ASTModel

    local = Path(backbone).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise BackboneUnavailableError(
                f"The backbone folder '{local}' has no config.json; save one with ASTModel.save_pretrained()."
            )
        try:
            return ASTModel.from_pretrained(str(local))
        except (OSError, ValueError) as exc:
            raise BackboneUnavailableError(f"The backbone folder '{local}' could not be loaded: {exc}") from exc
    try:
        return ASTModel.from_pretrained(str(backbone))
    except (OSError, ValueError) as exc:  # hub errors subclass OSError (offline, unknown repo, no access)
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
        reason = "offline mode is on (HF_HUB_OFFLINE=1)" if offline else "the model hub is unreachable or has no such model"
        raise BackboneUnavailableError(
            f"Cannot load the pretrained backbone '{backbone}' because {reason}; "
            "download it once while online or pass a local folder with its config.json and weights."
        ) from exc


def build_model(spec: str | ModelConfig = "small", backbone: str | os.PathLike | None = None) -> MoodRegressor:
    """A MoodRegressor from a preset name or a ModelConfig.

    `backbone` (a hub id such as DEFAULT_BACKBONE, or a local folder saved with `save_pretrained`)
    loads pretrained AST weights; its architecture then replaces the config's backbone fields.
    """
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown model preset '{spec}' (choose from {', '.join(PRESETS)})")
        config = PRESETS[spec]
    else:
        config = spec
    if backbone is None:
        return MoodRegressor(config)
    pretrained = _load_backbone(backbone)
    return MoodRegressor(config.with_backbone_config(pretrained.config), backbone=pretrained)
