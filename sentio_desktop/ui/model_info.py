"""What the app says about the model bundle: name, version, metrics from its card, or why there is none.

Loading is `sentio_ml.bundle.load_bundle` (the same check the analysis makes), run off the GUI thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentio_desktop.settings import Settings


@dataclass(frozen=True)
class ModelInfo:
    ok: bool
    title: str  # "sentio-small 1.0.0" or one sentence saying what is wrong
    path: str
    model_id: str = ""
    metrics: list[tuple[str, str]] = field(default_factory=list)
    card: str = ""
    device: str = ""  # where the analysis would run with these settings, in words


def describe_device(setting: str) -> str:
    """"CPU", "GPU: NVIDIA ..." or why the asked-for device cannot be used (one sentence)."""
    import torch

    from sentio_ml.errors import SentioMLError
    from sentio_ml.predictor import resolve_device

    try:
        device = resolve_device(setting)
    except (SentioMLError, RuntimeError, ValueError) as exc:
        return str(exc)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device.index or 0)}"
    return "Apple GPU (MPS)" if device.type == "mps" else "CPU"


def bundle_dir(settings: Settings) -> Path | None:
    """The folder the settings point at (None = the default bundle)."""
    return None if settings.model in ("", "default") else Path(settings.model).expanduser()


def flatten_metrics(metrics: dict[str, Any], prefix: str = "", limit: int = 20) -> list[tuple[str, str]]:
    """Numeric leaves of a nested metrics dict as rows in file order: ("cv.valence.ccc", "0.530 ± 0.013").

    {"mean", "std"} pairs read "mean ± std" and {"value", "low", "high"} triples "value [low, high]".
    """
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            rows.append((name, f"{value:.3f}" if isinstance(value, float) else str(value)))
        elif isinstance(value, dict) and _numbers(value, "mean", "std"):
            rows.append((name, f"{value['mean']:.3f} ± {value['std']:.3f}"))
        elif isinstance(value, dict) and _numbers(value, "value", "low", "high"):
            rows.append((name, f"{value['value']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"))
        elif isinstance(value, dict):
            rows.extend(flatten_metrics(value, f"{name}.", limit - len(rows)))
        if len(rows) >= limit:
            break
    return rows[:limit]


def _numbers(d: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool) for k in keys)


def load_model_info(settings: Settings) -> ModelInfo:
    """Load the bundle the settings name; never raises for a missing or broken bundle."""
    from sentio_ml.bundle import default_bundle_path, load_bundle, model_id
    from sentio_ml.errors import SentioMLError

    directory = bundle_dir(settings)
    shown = str(directory if directory is not None else default_bundle_path())
    device = describe_device(settings.device)
    try:
        bundle = load_bundle(directory)
    except SentioMLError as exc:
        return ModelInfo(False, str(exc), shown, device=device)
    return ModelInfo(True, f"{bundle.name} {bundle.version}", shown, model_id(bundle),
                     flatten_metrics(bundle.metrics), bundle.card, device)


def plain_summary(info: ModelInfo) -> str:
    """One plain sentence about the model for people who do not read metric tables.

    Uses the first valence and arousal errors on the 0–1 scale (``*_unit`` MAE) and the quadrant
    accuracy found in the card's metrics; says less when the card does not have them.
    """
    if not info.ok:
        return "No model is installed, so songs cannot be placed on the map yet."
    found: dict[str, float] = {}
    for name, value in info.metrics:
        parts = name.split(".")
        key = next((f"{axis}.{parts[-1]}" for axis in ("valence", "arousal", "quadrant") if axis in parts), None)
        if key in ("valence.mae_unit", "arousal.mae_unit", "quadrant.accuracy") and key not in found:
            try:
                found[key] = float(value.split()[0])
            except (ValueError, IndexError):
                continue
    sentence = "This model places each song by how positive (valence) and how energetic (arousal) it sounds"
    if "valence.mae_unit" in found and "arousal.mae_unit" in found:
        sentence += (f"; on songs it was not trained on, it is off by about {found['valence.mae_unit']:.2f} in "
                     f"valence and {found['arousal.mae_unit']:.2f} in arousal on the 0–1 map")
    if "quadrant.accuracy" in found:
        sentence += f", and puts {found['quadrant.accuracy']:.0%} of them in the right quarter of the map"
    return sentence + "."
