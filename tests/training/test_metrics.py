from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import f1_score, r2_score

from sentio_ml.evaluation.metrics import (
    bootstrap_ci,
    bootstrap_metrics,
    ccc,
    evaluate_predictions,
    quadrants_from_unit,
    regression_metrics,
)


def test_ccc_known_values():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert ccc(x, x) == pytest.approx(1.0)
    assert ccc(x - 2.5, 2.5 - x) == pytest.approx(-1.0)
    # shifted copy: r = 1 but CCC = 2 var / (2 var + shift^2) = 2*1.25 / (2.5 + 1)
    assert ccc(x, x + 1) == pytest.approx(2.5 / 3.5)


def test_regression_metrics_match_sklearn_and_scale():
    rng = np.random.default_rng(0)
    t = rng.random(200)
    p = 0.7 * t + 0.1 + 0.05 * rng.standard_normal(200)
    m = regression_metrics(t, p, scale=(1, 9))
    assert m["r2"] == pytest.approx(r2_score(t, p))
    assert m["pearson_r"] == pytest.approx(pearsonr(t, p)[0])
    assert m["rmse"] == pytest.approx(8 * np.sqrt(np.mean((t - p) ** 2)))
    assert m["mae"] == pytest.approx(8 * np.mean(np.abs(t - p)))


def test_quadrants_and_macro_f1():
    pred = np.array([[0.9, 0.9], [0.1, 0.9], [0.1, 0.1], [0.9, 0.1], [0.5, 0.5]])
    assert quadrants_from_unit(pred).tolist() == [1, 2, 3, 4, 1]
    true_q = [1, 2, 3, 3, 2]
    m = evaluate_predictions(pred, pred, true_q)
    assert m["quadrant"]["accuracy"] == pytest.approx(0.6)
    assert m["quadrant"]["macro_f1"] == pytest.approx(f1_score(true_q, [1, 2, 3, 4, 1], labels=[1, 2, 3, 4], average="macro"))
    assert np.array(m["quadrant"]["confusion"]).sum() == 5 and m["quadrant"]["confusion"][2][3] == 1


def test_bootstrap_ci_brackets_the_estimate_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = rng.standard_normal(30)
    big = rng.standard_normal(3000)
    p1, lo1, hi1 = bootstrap_ci(np.mean, small, n_resamples=500)
    p2, lo2, hi2 = bootstrap_ci(np.mean, big, n_resamples=500)
    assert lo1 <= p1 <= hi1 and lo2 <= p2 <= hi2
    assert (hi2 - lo2) < (hi1 - lo1) / 5
    t = rng.random((100, 2))
    cis = bootstrap_metrics(t, t, quadrants_from_unit(t), n_resamples=50)
    assert cis["quadrant.macro_f1"] == pytest.approx((1.0, 1.0, 1.0))
