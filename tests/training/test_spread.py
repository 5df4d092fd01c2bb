"""Spread calibration (sentio_ml.evaluation.spread) on synthetic cross-validation results."""
from __future__ import annotations

import numpy as np

from sentio_ml.evaluation import spread
from sentio_ml.evaluation.crossval import CVResult, FoldResult, cv_result_from_dict
from sentio_ml.evaluation.metrics import evaluate_predictions
from sentio_ml.mood import quadrant


def _squeezed(seed: int = 0) -> CVResult:
    """5 folds whose predictions are the labels (plus noise) squeezed to 60 % of their spread around 0.5."""
    rng = np.random.default_rng(seed)
    folds = []
    for fold in range(5):
        y_true = rng.uniform(0.1, 0.9, size=(60, 2))
        y_pred = 0.5 + 0.6 * (y_true - 0.5) + rng.normal(scale=0.03, size=y_true.shape)
        q_true = [quadrant(v, a) for v, a in y_true]
        folds.append(FoldResult(fold, [f"c{fold}-{i}" for i in range(60)], y_true, y_pred, q_true,
                                evaluate_predictions(y_true, y_pred, q_true, (1.0, 9.0)), [], 0.0))
    return CVResult("model", (1.0, 9.0), folds)


def test_nested_calibration_restores_the_spread_and_keeps_the_quadrants():
    result = _squeezed()
    calibrated = spread.nested(result)
    assert all(r < 0.7 for r in spread.spread_ratio(result))
    assert all(0.9 < r < 1.1 for r in spread.spread_ratio(calibrated))
    before, after = result.summary(), calibrated.summary()
    assert after["quadrant.macro_f1"] == before["quadrant.macro_f1"]
    assert after["valence.ccc"][0] > before["valence.ccc"][0] and after["arousal.ccc"][0] > before["arousal.ccc"][0]
    assert calibrated.name == "model" + spread.SUFFIX


def test_factors_come_from_the_other_folds_only():
    result = _squeezed(1)
    result.folds[0].y_pred[:] = 0.5 + 0.1 * (result.folds[0].y_true - 0.5)  # one fold squeezed much harder
    factor_0 = spread.nested(result).folds[0].history[0]["spread_factors"]
    others = result.folds[1:]
    expected = spread.spread_factors(np.concatenate([f.y_true for f in others]), np.concatenate([f.y_pred for f in others]))
    assert np.allclose(factor_0, expected, atol=1e-4)


def test_a_report_entry_round_trips():
    result = _squeezed(2)
    back = cv_result_from_dict(result.to_dict())
    assert back.name == result.name and back.scale == result.scale
    assert np.allclose(back.folds[3].y_pred, result.folds[3].y_pred) and back.folds[3].q_true == result.folds[3].q_true


def test_a_blend_of_two_results_averages_their_predictions():
    from sentio_ml.distill.blend import blend

    first, second = _squeezed(3), _squeezed(3)
    for fold in second.folds:
        fold.y_pred = fold.y_true.copy()  # a perfect model
    mixed = blend({"squeezed": (first, 1.0), "perfect": (second, 3.0)})
    assert np.allclose(mixed.folds[2].y_pred, 0.25 * first.folds[2].y_pred + 0.75 * second.folds[2].y_true)
    assert mixed.summary()["valence.pearson_r"][0] > first.summary()["valence.pearson_r"][0]
    # results of another run (another report) list each fold's clips in another order: matched by clip id
    for fold in second.folds:
        order = np.arange(len(fold.clip_ids))[::-1]
        fold.clip_ids, fold.y_pred = [fold.clip_ids[i] for i in order], fold.y_pred[order]
    shuffled = blend({"squeezed": (first, 1.0), "perfect": (second, 3.0)})
    assert np.allclose(shuffled.folds[2].y_pred, mixed.folds[2].y_pred)
    shares = shuffled.mean_shares()  # each part's share of the blend's variance, adding up to one
    assert np.allclose(np.add(shares["squeezed"], shares["perfect"]), 1.0, atol=0.01) and shares["perfect"][0] > 0.8


def test_set_version_renames_config_card_and_weights_metadata(tmp_path):
    import json

    (tmp_path / "config.json").write_text(json.dumps({"name": "sentio-x", "version": "1.0.0"}))
    (tmp_path / "MODEL_CARD.md").write_text("# sentio-x 1.0.0\n\ntext 1.0.0\n")
    metadata = {"version": "1.0.0", "name": "sentio-x"}
    spread.set_version(tmp_path, metadata, "1.1.0")
    assert json.loads((tmp_path / "config.json").read_text())["version"] == "1.1.0" and metadata["version"] == "1.1.0"
    assert (tmp_path / "MODEL_CARD.md").read_text() == "# sentio-x 1.1.0\n\ntext 1.0.0\n"
