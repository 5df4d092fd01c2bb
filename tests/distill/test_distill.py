"""The distillation pipeline end to end on a tiny scale: crops → targets → student steps (resumed) → heads."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sentio_ml.distill import crops, student, targets
from sentio_ml.distill.finetune import fit_head
from tests.conftest import FIXTURES


def test_plan_spreads_positions_and_renders_variants():
    rng = np.random.default_rng(0)
    plans = crops.plan_crops([("a", 100.0), ("b", 5.0)], 10.0, max_per_file=3, variants=2, rng=rng)
    starts_a = sorted({p.start for p in plans if p.file == "a"})
    assert len(starts_a) == 3 and starts_a[-1] - starts_a[0] >= 60  # spread over the file, not bunched
    assert [p.variant for p in plans if p.file == "b"] == [0, 1]  # a short file still gives one position


def test_clean_variant_is_the_audio_itself_and_augmented_ones_differ():
    rng = np.random.default_rng(0)
    wave = np.sin(np.linspace(0, 3000, 16000 * 14)).astype(np.float32) * 0.5
    clean, info = crops.render(wave, crops.CropPlan("x", 1.0, 0), None, rng, 0.0)
    assert info == {} and np.array_equal(clean, wave[16000:16000 + crops.CROP_SAMPLES])
    augmented, info = crops.render(wave, crops.CropPlan("x", 1.0, 1), wave[:crops.CROP_SAMPLES], rng, 1.0)
    assert len(augmented) == crops.CROP_SAMPLES and {"semitones", "gain_db", "mix_weight"} <= set(info)
    assert not np.allclose(augmented, clean)


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("crops")
    plans = [crops.CropPlan(str(FIXTURES / "vibe_ace.flac"), 0.0, v) for v in range(3)]
    plans.append(crops.CropPlan(str(out / "missing.mp3"), 0.0, 0))
    written = crops.render_shard(plans, out / "shard-test-000", seed=0)
    assert written == 3
    record = json.loads((out / "shard-test-000.json").read_text())
    assert len(record["crops"]) == 3 and record["skipped"][0]["file"].endswith("missing.mp3")
    targets.fill(out, ["musicnn_msd"], pool_time=4)
    return out


def test_targets_are_stored_beside_each_shard(shard_dir):
    [shard] = crops.shard_paths(shard_dir)
    fbank = np.load(targets.fbank_path(shard))
    teacher = np.load(targets.target_path(shard, "musicnn_msd"))
    assert fbank.shape == (3, 256, 128) and fbank.dtype == np.float16  # pooled 4x; the student pools further
    assert teacher.shape == (3, 250) and np.isfinite(teacher).all()


def test_student_trains_checkpoints_and_resumes(shard_dir, tmp_path):
    args = ["--crops", str(shard_dir), "--out", str(tmp_path), "--teachers", "musicnn_msd", "--preset", "tiny",
            "--batch-size", "2", "--checkpoint-every", "2", "--threads", "1"]
    student.main([*args, "--steps", "2"])
    first = json.loads((tmp_path / "state.json").read_text())
    assert first["step"] == 2 and len(first["history"]) == 1
    student.main([*args, "--steps", "4"])
    resumed = json.loads((tmp_path / "state.json").read_text())
    assert resumed["step"] == 4 and len(resumed["history"]) == 2
    assert resumed["stats"] == first["stats"]  # the standardisation is fixed at the start



def test_whitened_targets_are_the_leading_components_at_unit_variance():
    """--whiten K: the student learns K uncorrelated unit-variance components per teacher, largest variance first."""
    rng = np.random.default_rng(0)
    outputs = (rng.standard_normal((500, 6)) * [5.0, 3.0, 1.0, 0.5, 0.1, 0.1]) @ np.linalg.qr(rng.standard_normal((6, 6)))[0]
    data = student.DistillSet(np.zeros((500, 8, 4), np.float16), {"t": outputs.astype(np.float32)}, ["f"] * 500)
    stats = student.standardiser(data, np.arange(500), whiten=3)
    assert student.target_width(stats, "t") == 3 and student.target_width(student.standardiser(data, np.arange(500)), "t") == 6
    _, y = student.batch_tensors(data, np.arange(500), stats)
    assert np.allclose(np.cov(y["t"].numpy(), rowvar=False), np.eye(3), atol=1e-3)
    standardised = (outputs - outputs.mean(0)) / outputs.std(0)
    leading = np.linalg.eigh(np.cov(standardised, rowvar=False))[1][:, -1]
    assert abs(np.corrcoef(y["t"][:, 0].numpy(), standardised @ leading)[0, 1]) > 0.999


def test_a_whitened_student_resumes_with_its_components(shard_dir, tmp_path):
    args = ["--crops", str(shard_dir), "--out", str(tmp_path), "--teachers", "musicnn_msd", "--preset", "tiny",
            "--batch-size", "2", "--checkpoint-every", "2", "--threads", "1", "--whiten", "2"]
    student.main([*args, "--steps", "2"])
    first = json.loads((tmp_path / "state.json").read_text())
    student.main([*args[:-1], "0", "--steps", "4"])  # the components are fixed at the start, whatever --whiten says now
    resumed = json.loads((tmp_path / "state.json").read_text())
    assert resumed["step"] == 4 and resumed["stats"] == first["stats"]
    assert np.array(first["stats"]["musicnn_msd"]["basis"]).shape == (250, 2)


def test_masks_zero_trains_the_student_on_the_clean_fbank(shard_dir, tmp_path, monkeypatch):
    def no_masks(*_args, **_kwargs):
        raise AssertionError("--masks 0 must not call SpecAugment")

    monkeypatch.setattr(student, "spec_augment", no_masks)
    student.main(["--crops", str(shard_dir), "--out", str(tmp_path), "--teachers", "musicnn_msd", "--preset", "tiny",
                  "--batch-size", "2", "--threads", "1", "--steps", "2", "--masks", "0"])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["step"] == 2 and state["stages"][-1]["masks"] == 0
    with pytest.raises(AssertionError, match="must not call SpecAugment"):  # the default masks
        student.main(["--crops", str(shard_dir), "--out", str(tmp_path / "masked"), "--teachers", "musicnn_msd",
                      "--preset", "tiny", "--batch-size", "2", "--threads", "1", "--steps", "2"])

def test_fit_head_calibrates_the_spread_to_the_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20))
    y = 0.5 + 0.1 * np.tanh(x[:, :2]) + rng.normal(scale=0.05, size=(200, 2))
    groups = [f"artist{i % 40}" for i in range(200)]
    alpha, offset, scale = fit_head(x, y, groups)
    assert alpha > 0 and (scale > 1.0).all()  # ridge shrinks; the calibration widens it back


def test_fine_tuning_moves_the_encoder_and_calibrates_on_held_out_artists():
    from sentio_ml.ast_encoder import PRESETS
    from sentio_ml.composition import AstPart
    from sentio_ml.distill.tune import embed_fbank, tuned_head

    torch.manual_seed(0)
    part = AstPart(PRESETS["tiny"]).eval()
    fbank = torch.randn(20, 2, PRESETS["tiny"].pooled_frames, 128)
    labels = np.clip(0.5 + 0.2 * fbank[:, :, :, :4].mean((1, 2, 3)).numpy()[:, None].repeat(2, 1), 0, 1)
    groups = [f"a{i % 10}" for i in range(20)]
    before = embed_fbank(part, fbank)
    tuned, offset, scale = tuned_head(part, fbank, labels, groups, alpha=1.0, epochs=1)
    assert not np.allclose(embed_fbank(tuned, fbank), before)  # the encoder itself was trained
    assert np.allclose(embed_fbank(part, fbank), before)  # ... on a copy
    assert offset.shape == (2,) and (scale > 0).all()


def test_the_from_scratch_control_starts_from_seeded_random_weights_not_the_students():
    from sentio_ml.ast_encoder import PRESETS
    from sentio_ml.composition import AstPart
    from sentio_ml.distill.finetune import random_part

    torch.manual_seed(1)
    distilled = AstPart(PRESETS["tiny"]).eval()
    first, second = random_part(distilled), random_part(distilled)
    for name, weight in first.encoder.state_dict().items():
        assert torch.equal(weight, second.encoder.state_dict()[name])  # the control is reproducible
    position = "backbone.embeddings.position_embeddings"
    assert not torch.equal(first.encoder.state_dict()[position], distilled.encoder.state_dict()[position])
    assert first.encoder.config == distilled.encoder.config


def test_build_renders_each_package_once(tmp_path, capsys):
    from sentio_ml.distill import build

    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"file,package,licence,duration_s,source\n{FIXTURES / 'vibe_ace.flac'},demo pkg,CC-BY,12.0,music\n")
    build.build(manifest, tmp_path / "crops", variants=2, max_per_file=1, seed=0)
    assert [p.name for p in crops.shard_paths(tmp_path / "crops")] == ["shard-demo_pkg-000.npy"]
    build.build(manifest, tmp_path / "crops", variants=2, max_per_file=1, seed=0)
    assert "demo pkg: already rendered" in capsys.readouterr().err


def test_the_card_rebuilds_with_the_recorded_crop_builds_and_student_stages(tmp_path):
    import argparse

    from sentio_ml.distill import build
    from sentio_ml.model_card import rebuild_commands

    build.record_build(tmp_path, tmp_path / "rest.csv", variants=1, max_per_file=3, seed=1)
    build.record_build(tmp_path, tmp_path / "rest.csv", variants=1, max_per_file=3, seed=1)  # a rerun adds nothing
    state: dict = {}
    for folders, steps in ((["crops"], 3300), (["crops", "crops-extra"], 6500), (["crops", "crops-extra"], 6500)):
        student.record_stage(state, argparse.Namespace(crops=[tmp_path / f for f in folders], steps=steps, lr=3e-4))
    distillation = {"teachers": ["mn04"], "step": 6500, "stages": state["stages"],
                    "crop_builds": {"crops-extra": json.loads((tmp_path / build.BUILDS_FILE).read_text())}}
    text = rebuild_commands(distillation, "--mood-epochs 6")
    assert "--out cache/distill/crops-extra --variants 1 --max-per-file 3 --seed 1" in text
    assert text.count("distill student") == 2 and "--crops cache/distill/crops cache/distill/crops-extra" in text
    assert "--mood-epochs 6 --export BUNDLE_DIR" in text and "--preset" not in text and "--whiten" not in text
    whitened: dict = {"stats": {"fbank": {"mean": 0.0, "std": 1.0}, "mn04": {"mean": [0.0], "basis": [[1.0] * 32]}}}
    student.record_stage(whitened, argparse.Namespace(crops=[tmp_path / "crops"], steps=3300, lr=5e-4,
                                                      preset="student-fine-time", masks=0, mixup=0.5, whiten=0))
    text = rebuild_commands({**distillation, "stages": whitened["stages"]}, "")
    assert "--steps 3300 --lr 0.0005 --preset student-fine-time --masks 0 --mixup 0.5 --whiten 32" in text


def test_mixup_mixes_the_mel_powers_and_interpolates_the_targets_of_the_chosen_share():
    """--mixup SHARE: a mixed crop's fbank is the log of its two crops' weighted mel powers, its targets the same
    weighting of theirs; the rest of the batch is left as it was, and SHARE 0 leaves all of it."""
    generator = torch.Generator().manual_seed(0)
    stats = {"mean": -4.0, "std": 2.5}
    x, y = torch.randn(64, 8, 16), {"mn04": torch.randn(64, 3)}
    same_x, same_y = student.mix_batch(x, y, 0.0, stats, generator)
    assert torch.allclose(same_x, x, atol=1e-5) and torch.equal(same_y["mn04"], y["mn04"])
    mixed_x, mixed_y = student.mix_batch(x, y, 0.5, stats, torch.Generator().manual_seed(1))
    changed = (mixed_y["mn04"] - y["mn04"]).abs().amax(1) > 1e-6
    assert 16 < int(changed.sum()) < 48  # about half
    assert torch.allclose(mixed_x[~changed], x[~changed], atol=1e-5)
    raw, mixed_raw = x * 5.0 - 4.0, mixed_x * 5.0 - 4.0
    for row in torch.nonzero(changed).flatten()[:4].tolist():
        # y = w·y_a + (1 − w)·y_b for some partner b and weight w; the fbank then mixes powers with the same w
        fits = []
        for partner in range(64):
            difference = y["mn04"][row] - y["mn04"][partner]
            if partner == row or difference.abs().max() < 1e-6:
                continue
            w = float(((mixed_y["mn04"][row] - y["mn04"][partner]) @ difference) / (difference @ difference))
            if torch.allclose(w * y["mn04"][row] + (1 - w) * y["mn04"][partner], mixed_y["mn04"][row], atol=1e-5):
                fits.append((partner, w))
        assert len(fits) == 1
        partner, w = fits[0]
        expected = torch.log(w * raw[row].exp() + (1 - w) * raw[partner].exp())
        assert torch.allclose(mixed_raw[row], expected, atol=1e-4)


def test_the_card_lists_what_the_crops_took_from_each_corpus_package(shard_dir, tmp_path):
    from sentio_ml.distill import build
    from sentio_ml.model_card import _corpus_table

    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,package,licence,duration_s,source\n"
                        f"{FIXTURES / 'vibe_ace.flac'},fixtures,CC-BY-4.0,30.0,user\n"
                        f"{tmp_path / 'unused.ogg'},other,GPL-2+,7200.0,debian\n", encoding="utf-8")
    rows = {row["package"]: row for row in build.corpus_use(manifest, [shard_dir])}
    # the fixture shard holds 3 renderings of one position of one file; the other package gave nothing
    assert rows["fixtures"] == {"package": "fixtures", "licence": "CC-BY-4.0", "files": 1, "hours": 0.01, "files_used": 1,
                                "positions": 1, "hours_used": round(crops.CROP_SAMPLES / crops.SAMPLE_RATE / 3600, 2)}
    assert rows["other"]["hours"] == 2.0 and rows["other"]["positions"] == 0
    table = _corpus_table(list(rows.values()))
    assert "| other | GPL-2+ | 1 | 2.00 | 0 (0) | 0.00 |" in table
    assert table[-3].startswith("| **total** | | 2 | 2.01 | 1 (1) |")


def test_teacher_probe_features_average_each_clips_excerpts():
    """`distill probes`: every teacher sees the same excerpts at its own rate; a clip's feature is their mean."""
    from sentio_ml.distill.probes import teacher_features
    from sentio_ml.teachers import load_teacher

    rng = np.random.default_rng(0)
    waves = (0.1 * rng.standard_normal((2, 2, 16000 * 4))).astype(np.float32)  # 2 clips x 2 excerpts of 4 s
    features = teacher_features("musicnn_mtt", waves)
    teacher = load_teacher("musicnn_mtt")
    with torch.inference_mode():
        embedding, logits = teacher(torch.from_numpy(waves[1]))  # musicnn's own rate is 16 kHz: no resampling
    assert features.shape == (2, teacher.embedding_dim + len(teacher.logit_names))
    np.testing.assert_allclose(features[1], torch.cat([embedding, logits], 1).mean(0).numpy(), rtol=1e-4, atol=1e-4)
    assert not np.allclose(features[0], features[1])


def test_the_exported_bundle_carries_the_version_asked_for(tmp_path):
    """`distill heads --export --version`: the version is part of the model id users see in their tags."""
    from sentio_ml.ast_encoder import PRESETS
    from sentio_ml.bundle import load_bundle, model_id
    from sentio_ml.composition import AstPart
    from sentio_ml.distill.finetune import export

    class Clips(list):  # the dataset as export reads it: its name and its length
        name = "fourq"

    state = {"teachers": ["mn04"], "crops": 10, "step": 5, "stats": {"fbank": {"mean": -4.0, "std": 3.0}}}
    for version in ("2.0.0", "2.2.0"):
        export(AstPart(PRESETS["tiny"]).eval(), np.zeros(2), np.ones(2), {"alpha": 1.0}, Clips([1, 2]),
               state, tmp_path / version, {}, [], tmp_path / "no-manifest.csv", version=version)
        bundle = load_bundle(tmp_path / version)
        assert bundle.version == version and model_id(bundle).startswith(f"sentio-fourq-ast@{version}+")
        card = (tmp_path / version / "MODEL_CARD.md").read_text()
        assert f"# sentio-fourq-ast {version}" in card and f"--version {version} --export BUNDLE_DIR" in card


def test_heads_refuses_a_version_that_is_not_major_minor_patch(capsys):
    from sentio_ml.distill.finetune import parse_args

    assert parse_args(["--student", "s", "--out", "o", "--version", "2.2.0"]).version == "2.2.0"
    with pytest.raises(SystemExit):
        parse_args(["--student", "s", "--out", "o", "--version", "latest"])
    assert "'latest' is not a version like 2.2.0" in capsys.readouterr().err



@pytest.mark.parametrize("value, sentence", [("1.5", "must be from 0 to 1, not 1.5"), ("half", "'half' is not a number")])
def test_student_refuses_a_mixup_share_outside_0_to_1(value, sentence, capsys, tmp_path):
    with pytest.raises(SystemExit):
        student.main(["--crops", str(tmp_path), "--out", str(tmp_path / "s"), "--teachers", "mn04", "--mixup", value])
    assert f"argument --mixup: {sentence}" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_heads_names_a_folder_without_a_student_before_any_work(tmp_path, shard_dir):
    """`distill heads --student` on a folder that holds no student: one sentence, nothing written, no decoding."""
    from sentio_ml.distill.finetune import main

    for folder in (tmp_path / "missing", shard_dir):  # no folder at all; a crops folder given by mistake
        with pytest.raises(SystemExit) as stop:
            main(["--student", str(folder), "--out", str(tmp_path / "heads"), "--data", str(tmp_path / "no-4q-here")])
        assert str(stop.value) == (f"{folder} holds no distilled student (state.json and student.safetensors): "
                                   "give the --out folder of `sentio-ml distill student`.")
    assert not (tmp_path / "heads").exists()


@pytest.mark.parametrize("step, argv, sentence", [
    ("build", ["--manifest", "{tmp}/manifest.csv", "--out", "{tmp}/out"], "There is no corpus manifest at {tmp}/manifest.csv"),
    ("targets", ["--crops", "{tmp}", "--teachers", "mn04"], "There are no crop shards in {tmp}"),
    ("student", ["--crops", "{tmp}", "--out", "{tmp}/out", "--teachers", "mn04"], "There are no crops with targets from mn04"),
    ("blend", ["{tmp}/report.json", "--blend", "AST=1"], "There is no CV report at {tmp}/report.json"),
])
def test_each_step_names_its_missing_input_in_one_sentence(step, argv, sentence, tmp_path):
    """Each distill step given a folder or file that is not there (or empty) says which, and writes nothing."""
    import importlib

    main = importlib.import_module(f"sentio_ml.distill.{step}").main
    with pytest.raises(SystemExit) as stop:
        main([arg.format(tmp=tmp_path) for arg in argv])
    assert str(stop.value).startswith(sentence.format(tmp=tmp_path)) and "\n" not in str(stop.value)
    assert list(tmp_path.iterdir()) == []

def _script(name: str):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[2] / f"scripts/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_head_inputs_check_reads_the_shipped_embedding_and_leaves_no_hooks():
    """scripts/head_inputs.py: its "shipped" variant is what the encoder gives the head; the others add to it."""
    from sentio_ml.ast_encoder import PRESETS, EncoderConfig
    from sentio_ml.composition import AstPart
    from sentio_ml.distill.tune import embed_fbank

    module = _script("head_inputs")
    config = EncoderConfig.from_dict({**PRESETS["tiny"].to_dict(), "num_layers": 2})
    torch.manual_seed(0)
    part = AstPart(config).eval()
    fbank = torch.randn(3, 2, config.pooled_frames, 128)
    variants = module.embeddings(part, fbank)
    shipped = variants["shipped (last mean token + CLS)"]
    assert np.allclose(shipped, embed_fbank(part, fbank), atol=1e-6)
    width = config.hidden_size
    assert variants["+ earlier layers' mean tokens"].shape == (3, 3 * width)
    assert np.allclose(variants["+ the tokens' std"][:, :2 * width], shipped, atol=1e-6)
    assert not any(layer._forward_hooks for layer in part.encoder.backbone.layers)


def test_the_head_inputs_check_projects_the_embedding_as_the_student_does(tmp_path):
    """scripts/head_inputs.py: "its predictions of X's outputs" are the student's own projection onto teacher X."""
    from safetensors.torch import save_file

    from sentio_ml.ast_encoder import PRESETS

    module = _script("head_inputs")
    torch.manual_seed(0)
    model = student.Student(PRESETS["tiny"], {"mn04": 5, "musicnn_msd": 3})
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "student.safetensors"))
    embedding = torch.randn(4, PRESETS["tiny"].embedding_dim)
    named = module.predicted_targets(tmp_path, embedding.numpy())
    with torch.no_grad():
        for teacher in ("mn04", "musicnn_msd"):
            assert np.allclose(named[f"its predictions of {teacher}'s outputs"], model.projections[teacher](embedding),
                               atol=1e-5)
    assert named["its predictions of every teacher's outputs"].shape == (4, 8)


def test_the_kernel_head_reads_what_a_linear_head_cannot():
    """scripts/head_inputs.py's RBF kernel ridge (penalty and width by inner CV, calibrated like the linear probe):
    on labels that depend on the features' squares it predicts held-out clips where the linear probe cannot."""
    from sentio_ml.distill.finetune import probe_fit_predict

    module = _script("head_inputs")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(160, 3))
    labels = np.clip(0.5 + 0.2 * np.stack([features[:, 0] ** 2 - 1, features[:, 1] ** 2 - 1], 1), 0, 1)
    dataset = _Clips(labels)
    train, test = dataset.clips[:120], dataset.clips[120:]
    kernel = module.kernel_fit_predict(features, dataset)(train, test, 0).predictions
    linear = probe_fit_predict(features, dataset)(train, test, 0).predictions
    for d in range(2):
        assert np.corrcoef(kernel[:, d], labels[120:, d])[0, 1] > 0.8 > 0.3 > np.corrcoef(linear[:, d], labels[120:, d])[0, 1]
    assert kernel.min() >= 0 and kernel.max() <= 1


class _Clips:
    """The little of a Dataset the head checks read: clips with a path, an artist and a quadrant, and their labels."""

    def __init__(self, labels: np.ndarray) -> None:
        from types import SimpleNamespace

        from sentio_ml.evaluation.metrics import quadrants_from_unit

        self._labels = {f"clip{i}": row for i, row in enumerate(labels)}
        self.clips = [SimpleNamespace(path=f"clip{i}", split_key=f"artist{i % 8}", quadrant=int(q))
                      for i, q in enumerate(quadrants_from_unit(labels))]

    def labels(self, clips=None) -> np.ndarray:
        return np.stack([self._labels[c.path] for c in (self.clips if clips is None else clips)])


def test_head_checks_sign_targets_follow_the_quadrants_with_the_labels_mean_and_spread():
    module = _script("head_checks")
    labels = np.array([[0.8, 0.7], [0.3, 0.9], [0.2, 0.1], [0.6, 0.3]])
    targets = module.sign_targets(labels, np.array([1, 2, 3, 4]))
    assert (targets[:, 0] > labels[:, 0].mean()).tolist() == [True, False, False, True]
    assert (targets[:, 1] > labels[:, 1].mean()).tolist() == [True, True, False, False]
    assert np.allclose(targets.mean(0), labels.mean(0)) and np.allclose(targets.std(0), labels.std(0))


def test_head_checks_early_fusion_gives_the_informative_block_the_variance():
    """One ridge on student ⊕ teacher: when only the student's block carries the labels, it carries the output."""
    module = _script("head_checks")
    rng = np.random.default_rng(0)
    labels = rng.uniform(0.1, 0.9, (160, 2))
    informative = np.concatenate([labels + 0.05 * rng.standard_normal(labels.shape), rng.standard_normal((160, 6))], 1)
    noise = rng.standard_normal((160, 12))
    dataset = _Clips(labels)
    train, test = dataset.clips[:120], dataset.clips[120:]
    fused = module.fusion_fit_predict([informative, noise], dataset, 1.0)(train, test, 0)
    assert all(share > 0.9 for share in fused.shares["student"])
    assert all(np.corrcoef(fused.predictions[:, d], labels[120:, d])[0, 1] > 0.9 for d in range(2))
    swapped = module.fusion_fit_predict([noise, informative], dataset, 1.0)(train, test, 0)
    assert all(share < 0.1 for share in swapped.shares["student"])



def test_head_checks_leading_components_keep_the_largest_directions_only():
    module = _script("head_checks")
    rng = np.random.default_rng(0)
    features = rng.standard_normal((300, 5)) * [4.0, 2.0, 1.0, 0.5, 0.25]
    standardised = (features - features.mean(0)) / (features.std(0) + 1e-6)
    assert np.allclose(module.leading_components(features, 5), standardised, atol=1e-6)  # all kept: unchanged
    kept = module.leading_components(features, 2)
    assert np.linalg.matrix_rank(kept, tol=1e-6) == 2 and kept.shape == features.shape

def test_student_fit_bands_score_a_perfect_fit_zero_and_the_mean_one():
    module = _script("student_fit")
    rng = np.random.default_rng(0)
    targets = rng.standard_normal((400, 20)) @ rng.standard_normal((20, 20))
    variances, axes = module.principal_axes(targets)
    assert np.all(np.diff(variances) <= 1e-9)
    perfect = module.band_errors(targets, targets, variances, axes, bands=((0, 8), (8, None)))
    assert [b["relative_error"] for b in perfect] == [0.0, 0.0]
    assert abs(sum(b["variance_share"] for b in perfect) - 1.0) < 0.01
    mean = module.band_errors(np.broadcast_to(targets.mean(0), targets.shape), targets, variances, axes)
    assert [b["relative_error"] for b in mean] == [1.0, 1.0]  # 20 components: the bands 1-8 and 9-20
