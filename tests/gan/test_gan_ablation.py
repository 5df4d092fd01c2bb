"""`sentio-ml gan compare`: the paired per-fold comparison behind the ablation table."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sentio_ml.cli import main
from sentio_ml.gan.ablation import compare_runs, load_cv_run


def _report(path, command, f1, rmse):
    folds = [{"fold": k, "metrics": {"quadrant": {"macro_f1": f}, "valence": {"rmse": r, "rmse_unit": r / 8}}}
             for k, (f, r) in enumerate(zip(f1, rmse))]
    path.mkdir(parents=True)
    (path / "report.json").write_text(json.dumps({"command": command, "models": [
        {"name": "AST hybrid", "folds": folds}, {"name": "librosa + SVR", "folds": folds}]}))
    return path


def test_paired_differences_per_fold(tmp_path):
    base = load_cv_run(_report(tmp_path / "base", "sentio-ml cv", [0.5, 0.6, 0.7], [1.0, 1.2, 1.1]))
    arm = load_cv_run(_report(tmp_path / "gan", "sentio-ml cv --gan small", [0.55, 0.58, 0.75], [0.9, 1.3, 1.0]))
    rows = {r["metric"]: r for r in compare_runs(base, [arm])}
    f1 = rows["quadrant.macro_f1"]
    assert np.allclose(f1["diff_per_fold"], [0.05, -0.02, 0.05]) and f1["folds_improved"] == 2
    assert f1["diff_mean"] == pytest.approx(0.08 / 3)
    assert rows["valence.rmse"]["folds_improved"] == 2  # lower RMSE counts as better
    assert rows["valence.rmse_unit"]["folds_improved"] == 2
    assert 0 < f1["p_value"] < 1


def test_compare_command_writes_the_table(tmp_path, capsys):
    base = _report(tmp_path / "base", "sentio-ml cv", [0.5, 0.6], [1.0, 1.2])
    arm = _report(tmp_path / "gan", "sentio-ml cv --gan small", [0.6, 0.6], [1.0, 1.0])
    out = tmp_path / "ablation.md"
    assert main(["gan", "compare", str(base), str(arm), "--labels", "real only", "GAN 0.25", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| quadrant.macro_f1 | 0.550 ± 0.050 | 0.600 ± 0.000 | +0.050 ± 0.050 | +0.100 +0.000 | 1/2 |" in text
    assert "`sentio-ml cv --gan small`" in text and json.loads(out.with_suffix(".json").read_text())
    assert main(["gan", "compare", str(base)]) == 3
    assert "at least two" in capsys.readouterr().err
    assert main(["gan", "compare", str(base), str(tmp_path / "missing")]) == 3
    assert "not a readable" in capsys.readouterr().err
