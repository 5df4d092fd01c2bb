"""Model bundles: a directory that carries everything needed to predict, and nothing executable.

    config.json        format version, name + version, ModelConfig, FeatureConfig (incl. normalisation),
                       label scale, inference defaults (excerpt count/length), training data summary
    model.safetensors  the weights (safetensors only; nothing is ever unpickled)
    metrics.json       evaluation figures from training (may be {})
    MODEL_CARD.md      a short human-readable card

`config.json` and `model.safetensors` are required to predict; a bundle without metrics or card
still loads (they read as {} and "").
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sentio_ml.composition import Composition
from sentio_ml.errors import BundleError
from sentio_ml.features import FeatureConfig
from sentio_ml.paths import shipped_bundle_dir

if TYPE_CHECKING:
    from sentio_ml.model import MoodRegressor

FORMAT = "sentio-model-bundle"
FORMAT_VERSION = 2  # 2: a declared Composition ("composition"); 1: the legacy MoodRegressor ("model")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

DEFAULT_EXCERPTS = 3
HOW_TO_GET_A_MODEL = (
    "train one with `sentio-ml train ...`, pass `--model DIR` with a bundle folder, "
    "or set SENTIO_MODEL to a bundle folder"
)


def default_bundle_path() -> Path:
    """`$SENTIO_MODEL` when set, else the bundle shipped in the package (`sentio_ml/resources/models/default`)."""
    env = os.environ.get("SENTIO_MODEL")
    if env:
        return Path(env).expanduser()
    return shipped_bundle_dir()


@dataclass
class Bundle:
    """A loaded (or about to be saved) model with its configuration, metrics and card.

    `config` is the config.json content; use `Bundle.from_model` to make a new one.
    """

    model: Composition | MoodRegressor  # the legacy class is imported at run time only for version-1 bundles
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    card: str = ""
    path: Path | None = None
    _weights_hash: str | None = field(default=None, repr=False)

    @classmethod
    def from_model(
        cls,
        model: MoodRegressor,
        *,
        name: str | None = None,
        version: str = "1.0.0",
        features: FeatureConfig | None = None,
        normalisation_source: str = "AudioSet statistics (AST default)",
        excerpts: int = DEFAULT_EXCERPTS,
        excerpt_seconds: float | None = None,
        training_data: dict[str, Any] | None = None,
        label_source_scale: tuple[float, float] = (1.0, 9.0),
        metrics: dict[str, Any] | None = None,
        card: str = "",
    ) -> "Bundle":
        mc = model.config
        features = features or mc.feature_config()
        if features.frames != mc.frames or features.num_mel_bins != mc.num_mel_bins:
            raise ValueError(
                f"feature config ({features.frames} frames x {features.num_mel_bins} mel) does not match "
                f"the model ({mc.frames} x {mc.num_mel_bins})"
            )
        config = {
            "format": FORMAT,
            "format_version": 1,
            "name": name or f"sentio-{mc.name}",
            "version": version,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model": mc.to_dict(),
            "features": features.to_dict(),
            "normalisation": {"mean": features.mean, "std": features.std, "source": normalisation_source},
            "labels": {
                "outputs": ["valence", "arousal"],
                "scale": [0.0, 1.0],
                "neutral": 0.5,
                "source_scale": list(label_source_scale),
                "mapping": "(x - low) / (high - low)",
            },
            "inference": {
                "excerpts": int(excerpts),
                "excerpt_seconds": float(excerpt_seconds or features.excerpt_seconds),
            },
            "training_data": training_data or {},
        }
        return cls(model=model, config=config, metrics=dict(metrics or {}), card=card)

    @classmethod
    def from_composition(
        cls,
        model: Composition,
        *,
        name: str,
        features: FeatureConfig,
        normalisation_source: str,
        version: str = "2.0.0",
        excerpts: int = DEFAULT_EXCERPTS,
        training_data: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        label_source_scale: tuple[float, float] = (1.0, 9.0),
        card: str = "",
    ) -> "Bundle":
        """A version-2 bundle of a declared composition; without `card`, its card is generated from the bundle."""
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": version,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "composition": model.config(),
            "features": features.to_dict(),
            "normalisation": {"mean": features.mean, "std": features.std, "source": normalisation_source},
            "labels": {"outputs": ["valence", "arousal"], "scale": [0.0, 1.0], "neutral": 0.5,
                       "source_scale": list(label_source_scale), "mapping": "(x - low) / (high - low)"},
            "inference": {"excerpts": int(excerpts), "excerpt_seconds": float(features.excerpt_seconds)},
            "training_data": training_data or {},
        }
        return cls(model=model, config=config, metrics=dict(metrics or {}), card=card)

    @property
    def name(self) -> str:
        return str(self.config.get("name", "sentio"))

    @property
    def version(self) -> str:
        return str(self.config.get("version", "0"))

    @property
    def model_config(self):
        """The legacy ModelConfig a version-1 bundle was saved with (None for a version-2 bundle)."""
        if "model" not in self.config:
            return None
        from sentio_ml.model import ModelConfig

        return ModelConfig.from_dict(self.config["model"])

    @property
    def feature_config(self) -> FeatureConfig:
        return FeatureConfig.from_dict(self.config["features"])

    @property
    def excerpts(self) -> int:
        return int(self.config.get("inference", {}).get("excerpts", DEFAULT_EXCERPTS))

    @property
    def excerpt_seconds(self) -> float:
        seconds = self.config.get("inference", {}).get("excerpt_seconds")
        return float(seconds) if seconds else self.feature_config.excerpt_seconds

    def weights_hash(self) -> str:
        """SHA-256 over the weights (names, dtypes, shapes, bytes): identical weights ⇔ identical hash."""
        if self._weights_hash is None:
            self._weights_hash = _state_hash(self.model.state_dict())
        return self._weights_hash


def _state_hash(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().to("cpu").contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def model_id(bundle: Bundle) -> str:
    """Identifier written next to every prediction, e.g. 'sentio-small@1.0.0+3fa2c1d9'."""
    return f"{bundle.name}@{bundle.version}+{bundle.weights_hash()[:8]}"


def default_card(bundle: Bundle) -> str:
    if isinstance(bundle.model, Composition):
        from sentio_ml.model_card import composition_card

        return composition_card(bundle)
    mc, fc = bundle.model_config, bundle.feature_config
    lines = [
        f"# {bundle.name} {bundle.version}",
        "",
        "Predicts valence (sad ↔ happy) and arousal (calm ↔ energetic) on [0, 1] (0.5 = neutral) from audio.",
        "",
        f"- Architecture: AST, preset `{mc.name}`: {mc.num_layers} layers x {mc.hidden_size} hidden, "
        f"patch {mc.patch_size} with strides {mc.frequency_stride}/{mc.time_stride}, "
        f"statistics branch {'on' if mc.stats_branch else 'off'}.",
        f"- Input: {fc.num_mel_bins}-bin Kaldi log-mel fbank at {fc.sample_rate} Hz, {fc.frames} frames "
        f"({fc.excerpt_seconds:.2f} s) per excerpt, {bundle.excerpts} excerpts per track, averaged.",
    ]
    if bundle.config.get("training_data"):
        lines.append(f"- Training data: {json.dumps(bundle.config['training_data'], sort_keys=True)}")
    if bundle.metrics:
        lines.append(f"- Metrics: see metrics.json ({', '.join(sorted(bundle.metrics)[:8])}).")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file and rename, so a crash never leaves half a file (bundles, GAN bundles)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_model_folder(directory: Path, weights_file: str, tensors: dict[str, torch.Tensor], json_files: dict[str, Any],
                       card: str, weights_metadata: dict[str, str] | None = None) -> None:
    """A model folder (Sentio's bundles and GAN bundles), every file replaced atomically: the weights as safetensors,
    then each JSON file and the card. Raises OSError."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (weights_file + ".tmp")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp), metadata=weights_metadata)
    os.replace(tmp, directory / weights_file)
    for name, payload in json_files.items():
        write_atomic(directory / name, (json.dumps(payload, indent=2, default=float) + "\n").encode())
    write_atomic(directory / CARD_FILE, card.encode())


def save_bundle(bundle: Bundle, directory: str | os.PathLike) -> Path:
    """Write the bundle folder (created if needed; files replaced atomically). Returns the folder."""
    directory = Path(directory)
    try:
        write_model_folder(directory, WEIGHTS_FILE, bundle.model.state_dict(),
                           {CONFIG_FILE: bundle.config, METRICS_FILE: bundle.metrics}, bundle.card or default_card(bundle),
                           weights_metadata={"format": FORMAT, "name": bundle.name, "version": bundle.version})
    except OSError as exc:
        raise BundleError(f"Cannot write the model bundle to '{directory}': {exc.strerror or exc}.") from exc
    bundle.path = directory
    return directory


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The model bundle's {what} '{path}' is unreadable or not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BundleError(f"The model bundle's {what} '{path}' is not a JSON object.")
    return data


def _build_model(config: dict[str, Any]):
    """The untrained model a config declares: a Composition (version 2) or the legacy MoodRegressor (1)."""
    if "composition" in config:
        return Composition.from_config(config["composition"])
    from sentio_ml.model import ModelConfig, MoodRegressor  # legacy: imports librosa-based heads

    return MoodRegressor(ModelConfig.from_dict(config["model"]))


def _shipped_by_name(directory: Path) -> Path:
    """A bare name that is no folder here but names a bundle shipped with Sentio (`--model fast`) means that one."""
    from sentio_ml.paths import shipped_bundle_dir

    if not directory.is_dir() and len(directory.parts) == 1 and (shipped_bundle_dir(directory.name) / CONFIG_FILE).is_file():
        return shipped_bundle_dir(directory.name)
    return directory


def load_bundle(directory: str | os.PathLike | None = None) -> Bundle:
    """Load a bundle folder (the default bundle when None) on the CPU, in eval mode.

    Raises BundleError naming what is missing or wrong; for a missing default bundle it says how to get one.
    """
    directory = Path(directory).expanduser() if directory is not None else default_bundle_path()
    directory = _shipped_by_name(directory)
    is_default = directory.resolve() == default_bundle_path().resolve()
    if not directory.is_dir():
        if is_default:
            raise BundleError(f"No model is installed (looked in '{directory}'); {HOW_TO_GET_A_MODEL}.")
        raise BundleError(f"There is no model bundle folder at '{directory}'.")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        hint = f"; {HOW_TO_GET_A_MODEL}" if is_default else ""
        raise BundleError(f"The model bundle at '{directory}' is incomplete: missing {', '.join(missing)}{hint}.")
    config = _read_json(directory / CONFIG_FILE, "config")
    if config.get("format") != FORMAT:
        raise BundleError(f"'{directory / CONFIG_FILE}' is not a Sentio model bundle config.")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise BundleError(
            f"The model bundle at '{directory}' uses format version {config.get('format_version')}, "
            f"newer than this Sentio understands ({FORMAT_VERSION}); update Sentio."
        )
    try:
        FeatureConfig.from_dict(config["features"])
        model = _build_model(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"The model bundle config '{directory / CONFIG_FILE}' is invalid: {exc}.") from exc
    try:
        state = load_file(str(directory / WEIGHTS_FILE), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"The weights file '{directory / WEIGHTS_FILE}' is corrupt or not safetensors.") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BundleError(
            f"The weights in '{directory / WEIGHTS_FILE}' do not match the architecture in its config.json."
        ) from exc
    if not isinstance(model, Composition):  # a version-1 bundle: the same model, declared as a composition
        model = Composition.from_hybrid(model)
    model.eval()
    metrics = _read_json(directory / METRICS_FILE, "metrics") if (directory / METRICS_FILE).is_file() else {}
    card_path = directory / CARD_FILE
    card = card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else ""
    return Bundle(model=model, config=config, metrics=metrics, card=card, path=directory, _weights_hash=_state_hash(state))
