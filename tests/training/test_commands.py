"""`sentio-ml train` and `sentio-ml cv` end to end on a generic CSV dataset of generated clips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sentio_ml.bundle import load_bundle
from sentio_ml.cli import main


@pytest.fixture
def generic_root(tiny_dataset, tmp_path):
    rows = ["path,valence,arousal,artist,fold"]
    for i, clip in enumerate(tiny_dataset.clips[:8]):
        rows.append(f"{clip.path},{1 + 8 * clip.valence:.3f},{1 + 8 * clip.arousal:.3f},{clip.artist},{i % 2}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


TINY_FLAGS = ["--preset", "tiny", "--epochs", "1", "--batch-size", "4", "--eval-crops", "1", "--threads", "1"]


def test_train_writes_a_bundle_the_predictor_loads(generic_root, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["train", "--dataset", "generic", "--data", str(generic_root), "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out), "--validation-fraction", "0.25", *TINY_FLAGS])
    assert code == 0
    bundle = load_bundle(out)
    assert bundle.config["training_data"]["clips"] == 8 and bundle.config["training_data"]["recipe"]["epochs"] == 1
    assert "Retrain from scratch: `sentio-ml" in bundle.card and (out / "logs" / "train_log.jsonl").is_file()
    assert bundle.feature_config.mean != pytest.approx(-4.2677393)  # fitted on the training clips
    # the trained model is written as a declared composition, its table in the card
    assert bundle.config["format_version"] == 2 and set(bundle.model.parts) == {"blend", "quadrant"}
    assert bundle.model.parts["quadrant"].views == ("fbank_descriptors", "audio_descriptors", "musicnn1")
    assert "| blend.kernel | fbank_descriptors | RBF SVR" in bundle.card and "Quadrant head" in bundle.card
    assert "## Third-party weights" in bundle.card and "Pompeu Fabra" in bundle.card
    from sentio_ml.predictor import Predictor

    prediction = Predictor(bundle, device="cpu", precision="fp32").predict([generic_root / "labels.csv", tmp_path / "nope.wav"])
    assert all(p.error for p in prediction)  # not audio / missing: one sentence each, no exception
    assert "Bundle:" in capsys.readouterr().out


def test_recipe_flags_switch_the_quadrant_head(generic_root, tmp_path):
    common = ["train", "--dataset", "generic", "--data", str(generic_root), "--cache-dir", str(tmp_path / "cache"), *TINY_FLAGS]
    assert main([*common, "--out", str(tmp_path / "fbank-only"), "--no-audio-descriptors", "--no-musicnn",
                 "--quadrant-weight", "0.5"]) == 0
    fbank_only = load_bundle(tmp_path / "fbank-only")
    quadrant = fbank_only.model.parts["quadrant"]
    assert quadrant.views == ("fbank_descriptors",) and "Third-party" not in fbank_only.card
    assert fbank_only.model.weights[1].tolist() == [0.5, 0.5]
    assert main([*common, "--out", str(tmp_path / "regression"), "--no-quadrant-head"]) == 0
    assert list(load_bundle(tmp_path / "regression").model.parts) == ["blend"]


def test_cv_writes_report_with_model_and_reference(generic_root, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["cv", "--dataset", "generic", "--data", str(generic_root), "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out), "--validation-fraction", "0", *TINY_FLAGS])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert [m["name"] for m in report["models"]] == ["AST hybrid", "librosa + SVR"]
    assert len(report["models"][0]["folds"]) == 2 and "quadrant.macro_f1" in report["models"][1]["summary"]
    for plot in ("scatter", "va_plane", "confusion", "learning_curves"):
        png = f"AST_hybrid_{plot}.png"
        assert (out / png).stat().st_size > 1000
    from sentio_ml.evaluation.report import load_results

    reloaded = load_results(out / "report.json")
    for key, (mean, std) in reloaded[0].summary().items():
        summary = report["models"][0]["summary"][key]
        assert (mean, std) == pytest.approx((summary["mean"], summary["std"]))
    text = (out / "report.md").read_text()
    assert "| quadrant.macro_f1 |" in text and "±" in text
    assert "quadrant.macro_f1" in capsys.readouterr().out
    # each part's share of the held-out output: the parts of the model as it ships, adding up to one
    shares = reloaded[0].mean_shares()
    assert set(shares) == {"blend.net", "blend.kernel", "quadrant"} and "Each part's share" in text
    assert np.allclose(np.sum(list(shares.values()), axis=0), 1.0, atol=0.02)


def test_bad_input_is_one_sentence(tmp_path, capsys):
    assert main(["cv", "--dataset", "generic", "--data", str(tmp_path)]) == 3
    assert "No label file" in capsys.readouterr().err
    assert main(["train", "--dataset", "fourq", "--data", str(tmp_path), "--out", str(tmp_path / "b")]) == 3
    assert "No clips.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "many", "--out", "x"])


def test_evaluate_scores_a_bundle_through_the_predictor(generic_root, tmp_path, capsys):
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    model_dir = save_bundle(Bundle.from_model(build_model("tiny"), name="tiny-eval"), tmp_path / "m")
    out = tmp_path / "eval"
    (generic_root / "labels.csv").write_text((generic_root / "labels.csv").read_text() + "missing.wav,5,5,Z,1\n")
    code = main(["evaluate", "--model", str(model_dir), "--dataset", "generic", "--data", str(generic_root),
                 "--labels", str(generic_root / "labels.csv"), "--folds", "1", "--out", str(out)])
    assert code == 3 and "missing" in capsys.readouterr().err  # the generic adapter checks files up front
    (generic_root / "labels.csv").write_text("\n".join((generic_root / "labels.csv").read_text().splitlines()[:-1]) + "\n")
    assert main(["evaluate", "--model", str(model_dir), "--dataset", "generic", "--data", str(generic_root),
                 "--folds", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["models"][0]["name"] == "tiny-eval 1.0.0" and [f["fold"] for f in report["models"][0]["folds"]] == [1]
    assert len(report["models"][0]["folds"][0]["predictions"]) == 4
    assert main(["evaluate", "--model", str(model_dir), "--dataset", "generic", "--data", str(generic_root), "--folds", "9"]) == 3
    assert "no fold 9" in capsys.readouterr().err


def test_help_shows_the_recipe_defaults_not_none(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "(recipe: 3.0)" in text and "(recipe: hybrid)" in text and "--no-quadrant-head" in text
    assert "(default: None)" not in text and "(default: False)" not in text
