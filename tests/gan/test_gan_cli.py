"""`sentio-ml gan train|sample|report` end to end on generated clips, and clear one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import torch

from sentio_ml.bundle import Bundle, save_bundle
from sentio_ml.cli import main
from sentio_ml.model import build_model

SR = 16000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan_cli")
    rng = np.random.default_rng(0)
    rows = ["path,valence,arousal,fold"]
    for i in range(8):
        v, a = rng.uniform(0.1, 0.9, 2)
        t = np.arange(int(2.8 * SR)) / SR
        wave = 0.3 * np.sin(2 * np.pi * 220 * (1 + 2 * v) * t) + 0.1 * a * rng.standard_normal(t.size)
        soundfile.write(root / f"s{i}.wav", wave.astype(np.float32), SR)
        rows.append(f"s{i}.wav,{v:.4f},{a:.4f},{i % 2}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    data = ["--dataset", "generic", "--data", str(root), "--cache-dir", str(root / "cache"), "--fold", "1"]
    out = root / "gan"
    rc = main(["gan", "train", *data, "--out", str(out), "--config", "tiny", "--preset", "tiny"])
    assert rc == 0
    return root, out, data


def test_gan_train_writes_a_bundle_with_its_report(trained):
    root, out, _ = trained
    config = json.loads((out / "config.json").read_text())
    assert config["render_frames"] == 256 and config["gan"]["mel_bins"] == 128
    seen = config["training_data"]["clip_ids"]  # fold 1's training songs minus train's validation artists
    assert set(seen) < {"s0", "s2", "s4", "s6"} and len(seen) == 3
    assert config["features"]["mean"] != pytest.approx(-4.2677393)  # normalisation fitted on those songs
    for name in ("report.md", "metrics.json", "loss_curves.png", "samples_vs_real.png", "grids/epoch_001.png"):
        assert (out / "report" / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"diversity_ratio", "noise_diversity_ratio", "collapse"} <= set(metrics)


def test_gan_sample_writes_npy_and_images(trained, tmp_path):
    _, out, _ = trained
    assert main(["gan", "sample", str(out), "--out", str(tmp_path / "s"), "-n", "3",
                 "--valence", "0.8", "--arousal", "0.2", "--frames", "100"]) == 0
    feats = np.load(tmp_path / "s" / "samples.npy", allow_pickle=False)
    labels = np.load(tmp_path / "s" / "labels.npy", allow_pickle=False)
    assert feats.shape == (3, 100, 128) and np.isfinite(feats).all()
    assert np.allclose(labels, [[0.8, 0.2]] * 3)
    assert sorted(p.name for p in (tmp_path / "s").glob("*.png")) == [
        "grid.png", "sample_000.png", "sample_001.png", "sample_002.png"]


def test_gan_report_with_a_regressor_adds_frechet_distance_and_label_fidelity(trained, tmp_path):
    _, out, data = trained
    torch.manual_seed(0)
    regressor = save_bundle(Bundle.from_model(build_model("tiny").eval(), name="tiny"), tmp_path / "model")
    assert main(["gan", "report", str(out), *data, "--regressor", str(regressor), "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert np.isfinite(metrics["frechet_distance"]) and metrics["frechet_distance"] >= 0
    assert set(metrics["label_fidelity"]) == {"valence_ccc", "arousal_ccc", "valence_mae", "arousal_mae"}
    assert "Label fidelity" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--valence", "1.5", "--arousal", "0.5"], "between 0 and 1"),
    (["--valence", "0.5"], "both --valence and --arousal"),
    (["-n", "0"], "at least 1"),
])
def test_bad_sample_arguments_are_one_sentence(trained, tmp_path, capsys, argv, message):
    _, out, _ = trained
    assert main(["gan", "sample", str(out), "--out", str(tmp_path / "x"), *argv]) == 3
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0 and not (tmp_path / "x").exists()


def test_missing_bundle_and_bad_recipe_are_one_sentence(trained, tmp_path, capsys):
    _, _, data = trained
    assert main(["gan", "sample", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 3
    assert "does not exist" in capsys.readouterr().err
    assert main(["gan", "train", *data, "--out", str(tmp_path / "g"), "--config", "huge"]) == 3
    assert "neither a preset" in capsys.readouterr().err
    cv_data = data[: data.index("--fold")]
    assert main(["cv", *cv_data, "--models", "model", "--preset", "tiny", "--gan", "tiny"]) == 3
    assert "--gan needs --synthetic-ratio" in capsys.readouterr().err


def test_train_with_a_gan_bundle_made_on_its_own_training_songs(trained, tmp_path):
    root, _, data = trained
    all_data = data[: data.index("--fold")]
    gan = tmp_path / "gan-all"
    assert main(["gan", "train", *all_data, "--out", str(gan), "--config", "tiny", "--preset", "tiny"]) == 0
    model = tmp_path / "model"
    assert main(["train", *all_data, "--out", str(model), "--preset", "tiny", "--epochs", "1", "--batch-size", "4",
                 "--threads", "1", "--gan", str(gan), "--synthetic-ratio", "0.5"]) == 0
    assert (model / "model.safetensors").is_file()
