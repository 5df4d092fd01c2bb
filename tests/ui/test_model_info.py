"""What the app shows about a model bundle: card metrics, or one sentence when there is none."""
from __future__ import annotations

from pathlib import Path

from sentio_desktop.settings import Settings
from sentio_desktop.ui.model_info import flatten_metrics, load_model_info


def test_metrics_are_flattened_readably() -> None:
    rows = flatten_metrics({"cv_command": "sentio-ml train", "cv": {"AST": {
        "valence.ccc": {"mean": 0.53, "std": 0.0134}, "quadrant.macro_f1": {"mean": 0.633, "std": 0.035}}},
        "ci": {"ccc": {"value": 0.5, "low": 0.45, "high": 0.55}}, "epochs": 12, "ok": True})
    assert rows == [("cv.AST.valence.ccc", "0.530 ± 0.013"), ("cv.AST.quadrant.macro_f1", "0.633 ± 0.035"),
                    ("ci.ccc", "0.500 [0.450, 0.550]"), ("epochs", "12")]
    assert len(flatten_metrics({f"m{i}": float(i) for i in range(50)}, limit=5)) == 5


def test_model_info_for_a_bundle_and_for_none(tiny_bundle: Path, tmp_path: Path) -> None:
    info = load_model_info(Settings(model=str(tiny_bundle), device="cpu"))
    assert info.ok and info.title == "sentio-tiny-test 1.0.0" and info.model_id.startswith("sentio-tiny-test@1.0.0+")
    assert info.device == "CPU"
    missing = load_model_info(Settings(model=str(tmp_path / "nowhere"), device="cpu"))
    assert not missing.ok and missing.title.endswith(".") and "nowhere" in missing.title
