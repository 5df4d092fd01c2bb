"""What a Sentio model is, in one place: input views, parts (network + fitted head), and how they combine.

    excerpt (16 kHz mono, 10.26 s, placed by sentio_ml.audio.excerpt_starts)
      │  every view is computed once per excerpt, on the CPU, in the Predictor's decoding threads
      ├─ "fbank"              normalised Kaldi log-mel [1024 x 128]
      ├─ "fbank_descriptors"  MFCC, spectral shape, contrast, loudness, rhythm of the un-normalised fbank
      ├─ "audio_descriptors"  librosa descriptors of the waveform (tempo, key, chroma, HPSS, ...)
      ├─ "musicnn1".."3"      the pretrained musicnn's embedding of the central 1..3 3-s patches
      ├─ "wave"               the excerpt itself
      └─ "wave32k"            the excerpt resampled to 32 kHz (EfficientAT mn04's rate)
    parts (each reads the views it declares):
      "ast"      AstEncoder (distilled transformer) → LinearHead                 [fbank]
      "teacher"  a pretrained CNN's embedding ⊕ logits → LinearHead              [wave at its rate]
      "net"      the hybrid's small AST + statistics branch + MLP (sigmoid)      [fbank]
      "kernel"   RBF support-vector regression                                   [fbank_descriptors]
      "quadrant" RBF SVM quadrant classifiers → probability-weighted centroids   [descriptors, librosa, musicnn]
      a Composition is itself a part, so blends nest

    output = clamp(offset + scale · Σ_part weight_part · part_output, 0, 1)      (per dimension)

`Composition.describe()` prints a loaded model as a table (the model card and docs/internals.md use it);
`shares()` says how much of the output's variance each part supplies on given inputs (covariance share:
Cov(part's contribution, output) / Var(output), which sums to 1). Architecture (part kinds, sizes, views) is
the config; everything fitted (head coefficients, support vectors, standardisation, weights, calibration) is
a tensor in model.safetensors. The training feature cache computes its views with these same declarations.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from sentio_ml.ast_encoder import AstEncoder, EncoderConfig

ViewInputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class View:
    """One input representation of an excerpt, computed from its decoded 16-kHz samples (and earlier views)."""

    name: str
    description: str
    compute: Callable[[np.ndarray, Any, ViewInputs], torch.Tensor]  # (waves [B, samples], FeatureConfig, views so far)
    needs: tuple[str, ...] = ()  # views computed first and passed in
    cache_key: str = ""  # the training feature cache's name for it (changes when its meaning does)
    slow: bool = False  # the Predictor computes it beside the others, on its own thread
    prepare: Callable[[], Any] | None = None  # loads what it needs (weights) once, before the first excerpt


def _fbank(waves: np.ndarray, features: Any, _: ViewInputs) -> torch.Tensor:
    from sentio_ml.features import compute_fbank

    return compute_fbank(waves, features)


def _fbank_descriptors(_: np.ndarray, features: Any, views: ViewInputs) -> torch.Tensor:
    from sentio_ml.descriptors import fbank_descriptors

    return fbank_descriptors(views["fbank"] * (2 * features.std) + features.mean, features.sample_rate)


def _audio_descriptors(waves: np.ndarray, features: Any, _: ViewInputs) -> torch.Tensor:
    from sentio_ml.audio_descriptors import audio_descriptors

    return torch.from_numpy(audio_descriptors(waves, features.sample_rate))


_musicnn_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load_musicnn():
    from sentio_ml.musicnn import load_musicnn

    return load_musicnn()


def _musicnn_network():
    """The pretrained musicnn, loaded once (SentioMLError, one sentence, when its weights are missing)."""
    with _musicnn_lock:  # one load, even when two decoding threads ask first
        return _load_musicnn()


def _musicnn_view(patches: int) -> Callable[[np.ndarray, Any, ViewInputs], torch.Tensor]:
    def compute(waves: np.ndarray, features: Any, _: ViewInputs) -> torch.Tensor:
        from sentio_ml.musicnn import musicnn_embedding

        network = _musicnn_network()
        with torch.inference_mode():
            return torch.from_numpy(musicnn_embedding(network, waves, features.sample_rate, patches))
    return compute


def _wave_at(rate: int) -> Callable[[np.ndarray, Any, ViewInputs], torch.Tensor]:
    def compute(waves: np.ndarray, features: Any, _: ViewInputs) -> torch.Tensor:
        from sentio_ml.audio import resample_rows

        return torch.from_numpy(np.ascontiguousarray(resample_rows(waves, features.sample_rate, rate)))
    return compute


def wave_view(rate: int) -> str:
    """The name of the view that holds the excerpt at `rate` ("wave" at the Predictor's own 16 kHz)."""
    return "wave" if rate == 16000 else f"wave{rate // 1000}k"


VIEWS: dict[str, View] = {
    "fbank": View("fbank", "normalised Kaldi log-mel fbank (sentio_ml.features.compute_fbank)", _fbank),
    "fbank_descriptors": View("fbank_descriptors", "descriptors of the un-normalised fbank (sentio_ml.descriptors)",
                              _fbank_descriptors, needs=("fbank",)),
    "audio_descriptors": View("audio_descriptors", "librosa descriptors of the waveform (sentio_ml.audio_descriptors)",
                              _audio_descriptors, cache_key="audio2"),
    **{f"musicnn{p}": View(f"musicnn{p}", f"pretrained musicnn embedding ⊕ tag logits, mean of the central {p} 3-s "
                           "patch(es) (sentio_ml.musicnn)", _musicnn_view(p), cache_key=f"musicnn1p{p}", slow=True,
                           prepare=_musicnn_network)
       for p in (1, 2, 3)},
    "wave": View("wave", "the 16-kHz mono excerpt itself",
                 lambda waves, _f, _v: torch.from_numpy(np.ascontiguousarray(waves))),
    "wave32k": View("wave32k", "the excerpt resampled to 32 kHz with soxr (sentio_ml.audio.resample_rows)",
                    _wave_at(32000)),
}


def views_in_order(names: list[str] | tuple[str, ...]) -> list[str]:
    """`names` and the views they need, each after what it needs."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name not in ordered:
            for need in VIEWS[name].needs:
                visit(need)
            ordered.append(name)
    for name in names:
        visit(name)
    return ordered


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


class Part(nn.Module):
    """A network with a fitted head: reads the views it declares, gives (valence, arousal) [B, 2]."""

    kind = ""
    views: tuple[str, ...] = ()

    def run(self, inputs: ViewInputs) -> torch.Tensor:
        return self(*(inputs[view] for view in self.views))

    def spec(self) -> dict[str, Any]:
        """The part's architecture for config.json (single-view parts say "view", as bundles always have)."""
        where = {"view": self.views[0]} if len(self.views) == 1 else {"views": list(self.views)}
        return {"kind": self.kind, **where, **self.settings()}

    def settings(self) -> dict[str, Any]:
        return {}

    def network(self) -> str:
        return self.kind


class AstPart(Part):
    """The distilled transformer: fbank → AstEncoder → LinearHead."""

    kind, views = "ast", ("fbank",)

    def __init__(self, encoder: EncoderConfig, backend: str = "lean") -> None:
        super().__init__()
        self.encoder = AstEncoder(encoder, backend=backend)
        self.head = LinearHead(encoder.embedding_dim)

    def embed(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.encoder(fbank)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(fbank))

    def settings(self) -> dict[str, Any]:
        return {"encoder": self.encoder.config.to_dict()}

    def network(self) -> str:
        config = self.encoder.config
        return f"AST {config.num_layers}x{config.hidden_size}, {np.prod(config.grid())} patches"


class TeacherPart(Part):
    """A pretrained tagger (sentio_ml.teachers) on the excerpt at its own rate → its embedding ⊕ logits →
    LinearHead (a linear probe: `sentio-ml distill probes --export`)."""

    kind = "teacher"

    def __init__(self, teacher: str) -> None:
        super().__init__()
        from sentio_ml.teachers import build_teacher

        self.teacher_name = teacher
        self.teacher = build_teacher(teacher)
        self.views = (wave_view(self.teacher.sample_rate),)
        if self.views[0] not in VIEWS:
            raise ValueError(f"no view gives teacher '{teacher}' its {self.teacher.sample_rate}-Hz input")
        self.head = LinearHead(self.teacher.embedding_dim + len(self.teacher.logit_names))

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.teacher(wave), dim=1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(wave))

    def settings(self) -> dict[str, Any]:
        return {"teacher": self.teacher_name}

    def network(self) -> str:
        teacher = self.teacher
        return (f"pretrained {self.teacher_name}, frozen: {teacher.embedding_dim}-value embedding ⊕ "
                f"{len(teacher.logit_names)} logits → linear head")


class NetPart(Part):
    """The hybrid's network, trained on the labels by `sentio-ml train`: a small AST on the time-pooled fbank
    ⊕ a statistics branch → MLP → sigmoid (sentio_ml.model.MoodRegressor without its heads)."""

    kind, views = "net", ("fbank",)

    def __init__(self, model: dict[str, Any], backend: str = "lean") -> None:
        super().__init__()
        from sentio_ml.ast_encoder import LeanAST
        from sentio_ml.model import ModelConfig, MoodRegressor

        config = ModelConfig.from_dict(model)
        # lean: transformers' ASTModel is only for training (its import alone costs ~1.5 s of every cold start)
        backbone = LeanAST(config.lean_encoder_config()) if backend == "lean" else None
        self.net = MoodRegressor(config, backbone=backbone)  # its `spread` stays one: the composition calibrates

    def embed(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.net.embed(fbank)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net.head(self.embed(fbank)))

    def settings(self) -> dict[str, Any]:
        return {"model": self.net.config.to_dict()}

    def network(self) -> str:
        config = self.net.config
        return (f"AST {config.num_layers}x{config.hidden_size} on fbank pooled {config.pool_time}x in time, "
                f"{config.num_patches} patches, + statistics branch, MLP")


class KernelPart(Part):
    """RBF support-vector regression of valence and arousal on the fbank descriptors (clamped to [0, 1])."""

    kind, views = "kernel", ("fbank_descriptors",)

    def __init__(self, rows: int, dim: int) -> None:
        super().__init__()
        from sentio_ml.descriptors import KernelHead

        self.head = KernelHead(rows, dim)

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        return self.head.regress(descriptors).clamp(0.0, 1.0)

    def settings(self) -> dict[str, Any]:
        rows, dim = self.head.rows.shape
        return {"rows": rows, "dim": dim}

    def network(self) -> str:
        return f"RBF SVR, {self.head.rows.shape[0]} rows x {self.head.rows.shape[1]} descriptors"


class QuadrantPart(Part):
    """One-vs-rest RBF SVMs of the four quadrants on its views side by side (one classifier set per column
    subset) → class probabilities → the probability-weighted mean of four quadrant centroids."""

    kind = "quadrant"

    def __init__(self, views: list[str], rows: int, dim: int, subsets: int) -> None:
        super().__init__()
        from sentio_ml.quadrant_head import QuadrantHead

        self.views = tuple(views)
        self.head = QuadrantHead(rows, dim, subsets)

    def forward(self, *views: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([v.to(torch.float32) for v in views], dim=-1))

    def settings(self) -> dict[str, Any]:
        rows, dim = self.head.rows.shape
        return {"rows": rows, "dim": dim, "subsets": self.head.columns.shape[0]}

    def network(self) -> str:
        rows, dim = self.head.rows.shape
        return f"RBF SVM quadrant classifiers ({self.head.columns.shape[0]} column sets), {rows} rows x {dim}"


def build_part(spec: dict[str, Any], backend: str = "lean") -> nn.Module:
    kind = spec["kind"]
    if kind == "ast":
        return AstPart(EncoderConfig.from_dict(spec["encoder"]), backend=backend)
    if kind == "teacher":
        return TeacherPart(spec["teacher"])
    if kind == "net":
        return NetPart(spec["model"], backend)
    if kind == "kernel":
        return KernelPart(spec["rows"], spec["dim"])
    if kind == "quadrant":
        return QuadrantPart(spec.get("views") or [spec["view"]], spec["rows"], spec["dim"], spec["subsets"])
    if kind == "composition":
        return Composition.from_config(spec, backend)
    raise ValueError(f"unknown part kind '{kind}'")


class Composition(Part):
    """Parts combined per output dimension with fitted weights, then an affine calibration and a clamp."""

    kind = "composition"

    def __init__(self, parts: dict[str, nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(parts)
        self.register_buffer("weights", torch.full((len(parts), 2), 1.0 / len(parts)))
        self.register_buffer("offset", torch.zeros(2))
        self.register_buffer("scale", torch.ones(2))

    @classmethod
    def from_config(cls, config: dict[str, Any], backend: str = "lean") -> "Composition":
        return cls({name: build_part(spec, backend) for name, spec in config["parts"].items()})

    @classmethod
    def from_hybrid(cls, hybrid) -> "Composition":
        """A trained `sentio_ml.model.MoodRegressor` (`sentio-ml train`) declared as a composition, as bundles ship it:

            top   = clamp(0.5·(1 − spread) + spread · ((1 − q)·blend + q·quadrant), 0, 1)
            blend = clamp(centre·(1 − s) + s · ((1 − k)·net + k·kernel), 0, 1)    (the kernel head's calibration)

        with k = kernel_blend, q = quadrant_weight, s = the kernel head's out_scale, spread = the hybrid's stretch.
        Outputs match the hybrid's forward() to float precision (its clamp before the stretch never acts: both terms lie in
        [0, 1], so their weighted mean does). Every tensor is copied; musicnn moves out into the "musicnn<p>" view."""
        from dataclasses import replace as replace_config

        config = hybrid.config
        net = NetPart(replace_config(config, kernel_rows=0, kernel_blend=0.0, quadrant_rows=0, quadrant_views=0,
                                     quadrant_weight=0.0, audio_descriptors=False, musicnn=False).to_dict())
        net.net.load_state_dict({k: v for k, v in hybrid.state_dict().items()
                                 if not k.startswith(("kernel.", "quadrant.", "musicnn.", "spread"))})
        core: torch.nn.Module = net
        if hybrid.kernel is not None:
            kernel = KernelPart(*hybrid.kernel.rows.shape)
            kernel.head.load_state_dict(hybrid.kernel.state_dict())
            core = cls({"net": net, "kernel": kernel})
            k = config.kernel_blend
            core.weights.copy_(torch.tensor([[1.0 - k, 1.0 - k], [k, k]]))
            core.scale.copy_(hybrid.kernel.out_scale)
            core.offset.copy_(hybrid.kernel.out_centre * (1.0 - hybrid.kernel.out_scale))
        parts, weights = {"blend" if hybrid.kernel is not None else "net": core}, [[1.0, 1.0]]
        if hybrid.quadrant is not None:
            views = ["fbank_descriptors", *(["audio_descriptors"] if config.audio_descriptors else []),
                     *([f"musicnn{config.musicnn_patches}"] if hybrid.musicnn is not None else [])]
            quadrant = QuadrantPart(views, *hybrid.quadrant.rows.shape, hybrid.quadrant.columns.shape[0])
            quadrant.head.load_state_dict(hybrid.quadrant.state_dict())
            q = config.quadrant_weight
            parts["quadrant"], weights = quadrant, [[1.0 - q, 1.0 - q], [q, q]]
        model = cls(parts)
        model.weights.copy_(torch.tensor(weights))
        model.scale.copy_(hybrid.spread)
        model.offset.copy_(0.5 * (1.0 - hybrid.spread))
        return model.eval()

    def config(self) -> dict[str, Any]:
        return {"parts": {name: part.spec() for name, part in self.parts.items()}, "views": self.view_names}

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.config()}

    @property
    def views(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(views_in_order([view for part in self.parts.values() for view in part.views]))

    @property
    def view_names(self) -> list[str]:
        """Every view the model reads, sorted (config.json's "views")."""
        return sorted(self.views)

    def part_outputs(self, inputs: ViewInputs) -> torch.Tensor:
        """Each part's raw (valence, arousal): [parts, B, 2]."""
        return torch.stack([part.run(inputs) for part in self.parts.values()])

    def combine(self, outputs: torch.Tensor) -> torch.Tensor:
        return (self.offset + self.scale * (self.weights[:, None, :] * outputs).sum(0)).clamp(0.0, 1.0)

    def run(self, inputs: ViewInputs) -> torch.Tensor:
        return self.combine(self.part_outputs(inputs))

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Valence and arousal [B, 2] in [0, 1] from the views the parts read (keyword per view name)."""
        return self.run(inputs)

    def shares(self, outputs: torch.Tensor) -> dict[str, list[float]]:
        """Each part's share of the output's variance (per dimension) for part outputs [parts, N, 2]."""
        contributions = (self.scale * self.weights[:, None, :] * outputs).double().numpy()
        return variance_shares(dict(zip(self.parts, contributions)))

    def output_and_leaves(self, inputs: ViewInputs, _factor: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The output [B, 2] and, from the same pass, what every part at every depth adds to it ("blend.net": its
        output times its weight and the scale, times its parent's; the clamps, which rarely act, are left out).
        Feed the latter to `variance_shares` for each part's share of the output."""
        factor = torch.ones(2, device=self.scale.device) if _factor is None else _factor
        outputs, leaves = [], {}
        for (name, part), weight in zip(self.parts.items(), self.weights):
            here = factor * self.scale * weight
            if isinstance(part, Composition):
                out, inner = part.output_and_leaves(inputs, here)
                leaves.update({f"{name}.{leaf}": value for leaf, value in inner.items()})
            else:
                out = part.run(inputs)
                leaves[name] = here * out
            outputs.append(out)
        return self.combine(torch.stack(outputs)), leaves

    def describe(self, _prefix: str = "") -> str:
        """The composition as a table (the model card and docs/internals.md use it); nested ones as indented rows."""
        lines = [] if _prefix else ["| part | views | network | weight (valence, arousal) |", "|---|---|---|---|"]
        for (name, part), weight in zip(self.parts.items(), self.weights.tolist()):
            label = f"{_prefix}{name}"
            if isinstance(part, Composition):
                lines.append(f"| {label} | {', '.join(part.views)} | blend: clamp({_vector(part.offset)} + "
                             f"{_vector(part.scale)} · Σ weight · part, 0, 1) of ↓ | {weight[0]:.3f}, {weight[1]:.3f} |")
                lines.append(part.describe(_prefix=f"{label}."))
            else:
                lines.append(f"| {label} | {', '.join(part.views)} | {part.network()} | {weight[0]:.3f}, {weight[1]:.3f} |")
        if not _prefix:
            lines.append(f"\noutput = clamp(offset + scale · Σ weight · part, 0, 1); offset = {_vector(self.offset)}, "
                         f"scale = {_vector(self.scale)}")
        return "\n".join(lines)


def variance_shares(contributions: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Each term's share of the variance of their sum, per dimension: Cov(term, sum) / Var(sum); sums to 1."""
    total = sum(contributions.values())
    centred = total - total.mean(0)
    variance = np.maximum(centred.var(0), 1e-12)
    return {name: (((c - c.mean(0)) * centred).mean(0) / variance).round(3).tolist() for name, c in contributions.items()}


def _vector(values: torch.Tensor) -> str:
    return f"({values[0]:.3f}, {values[1]:.3f})"


def fbank_network(model: Composition) -> Part:
    """The first part, at any depth, that reads the fbank alone and can embed it: what scores synthetic fbank
    excerpts (the GAN's quality report), which have no waveform for the other views."""
    for part in model.parts.values():
        if isinstance(part, Composition):
            try:
                return fbank_network(part)
            except ValueError:
                continue
        if part.views == ("fbank",) and hasattr(part, "embed"):
            return part
    raise ValueError("the model has no part that reads the fbank alone")
