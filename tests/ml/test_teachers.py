"""Teachers as torch code: each reproduces its original implementation on a fixed input (known answers in
tests/data/teachers_reference.json, from scripts/teachers_reference.py), its torch front-end reproduces the
original one, and all share one interface (waves -> (embedding, logits))."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sentio_ml.errors import SentioMLError
from sentio_ml.musicnn import reference_signal
from sentio_ml.teachers import TEACHER_NAMES, Teacher, build_teacher, licence_paths, load_teacher, weights_path
from sentio_ml.teachers.frontends import MusicnnLogMel
from sentio_ml.teachers.signals import reference_wave

DATA = Path(__file__).resolve().parents[1] / "data"


@functools.cache
def teacher_named(name: str) -> Teacher:
    return load_teacher(name)


def wave(teacher: Teacher, seconds: float) -> torch.Tensor:
    return torch.from_numpy(reference_wave(teacher.sample_rate, seconds))


@pytest.mark.parametrize("name", TEACHER_NAMES)
def test_port_matches_the_original_implementation(name):
    """Known answers: scripts/teachers_reference.py ran musicnn 0.1.0's TensorFlow code and checkpoints (musicnn,
    VGG) and upstream EfficientAT's PyTorch code with the original .pt (mn04) on the 10-s reference wave."""
    expected = json.loads((DATA / "teachers_reference.json").read_text())["teachers"][name]
    teacher = teacher_named(name)
    with torch.no_grad():
        embedding, logits = teacher(wave(teacher, 10.0)[None])
    assert logits.shape == (1, len(expected["logits"])) and embedding.shape == (1, len(expected["embedding"]))
    np.testing.assert_allclose(logits[0].numpy(), expected["logits"], atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(embedding[0].numpy(), expected["embedding"], atol=1e-4, rtol=1e-5)


def test_musicnn_front_end_in_torch_matches_librosa():
    import librosa

    waves = np.stack([reference_signal(10.0), 0.05 * reference_signal(10.0)[::-1].copy()])
    expected = librosa.feature.melspectrogram(y=waves, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    expected = np.log10(10000.0 * expected + 1.0).transpose(0, 2, 1)
    with torch.no_grad():
        got = MusicnnLogMel()(torch.from_numpy(waves)).numpy()
    assert got.shape == expected.shape == (2, 626, 96)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert isinstance(teacher_named("musicnn_msd").frontend, MusicnnLogMel)


def test_musicnn_msd_matches_the_tensorflow_original_through_the_teacher_interface():
    """The known answer of tests/ml/test_musicnn.py (musicnn 0.1.0 on TensorFlow), now from raw waves."""
    expected = np.array(json.loads((DATA / "musicnn_reference.json").read_text())["tag_probabilities"])
    with torch.no_grad():
        embedding, logits = teacher_named("musicnn_msd")(torch.from_numpy(reference_signal())[None])
    np.testing.assert_allclose(torch.sigmoid(logits)[0].numpy(), expected, atol=1e-4)
    assert embedding.shape == (1, 200)


@pytest.mark.parametrize("name", TEACHER_NAMES)
def test_every_teacher_keeps_the_interface(name):
    teacher = teacher_named(name)
    assert isinstance(teacher, Teacher) and teacher.name == name and not teacher.training
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in teacher.parameters())
    assert teacher.sample_rate == (32000 if name == "mn04" else 16000)
    assert teacher.licence and "\n" not in teacher.licence
    assert licence_paths(name) and all(path.is_file() for path in licence_paths(name))
    waves = torch.stack([wave(teacher, 4.0), 0.1 * wave(teacher, 4.0)])
    with torch.no_grad():
        embedding, logits = teacher(waves)
    assert embedding.shape == (2, teacher.embedding_dim) and logits.shape == (2, len(teacher.logit_names))
    assert torch.isfinite(embedding).all() and torch.isfinite(logits).all()
    assert not torch.allclose(logits[0], logits[1])  # the level changes the answer: the input is used
    with pytest.raises(ValueError, match=r"mono waves as \[batch, samples\]"):
        teacher(waves[0])


@pytest.mark.parametrize("name", [n for n in TEACHER_NAMES if n != "mn04"])
def test_patch_taggers_average_over_non_overlapping_three_second_patches(name):
    teacher = teacher_named(name)
    first, second = wave(teacher, 3.0), 0.3 * wave(teacher, 3.0).flip(0)
    hop = 256
    one_patch = 187 * hop  # samples whose frames fill exactly one patch (centred frames: one more frame)
    both = torch.cat([first[:one_patch], second[:one_patch], torch.zeros(hop * 40)])[None]
    with torch.no_grad():
        patches = teacher.patches(both)
        embedding, logits = teacher(both)
        patch_logits, patch_embedding = teacher.network(patches[0])
    assert patches.shape == (1, 2, 187, 96)  # 10-s remainder shorter than a patch is dropped
    torch.testing.assert_close(logits[0], patch_logits.mean(0))
    torch.testing.assert_close(embedding[0], patch_embedding.mean(0))
    with torch.no_grad():  # a batch's patches go through the network in passes of a bounded size: same answer
        three = torch.stack([torch.cat([first, second, first]), torch.cat([second, first, second])])
        whole = teacher(three)
        teacher.patches_per_pass = 2
        in_passes = teacher(three)
        teacher.patches_per_pass = 16
    torch.testing.assert_close(in_passes, whole)
    short = teacher.patches(first[None, : 16000])  # 1 s: repeated to one patch
    assert short.shape == (1, 1, 187, 96) and torch.isfinite(short).all()


def test_a_teacher_stays_in_eval_mode_inside_a_module_being_trained():
    assert not any(m.training for m in build_teacher("musicnn_mtt").modules())  # also built without weights
    teacher = teacher_named("vgg_msd")
    holder = torch.nn.ModuleDict({"teacher": teacher, "head": torch.nn.Linear(2, 2)})
    holder.train()
    assert holder["head"].training and not teacher.training and not any(m.training for m in teacher.modules())
    before = teacher.network.bns[0].running_mean.clone()
    with torch.no_grad():
        teacher(wave(teacher, 3.0)[None])
    torch.testing.assert_close(teacher.network.bns[0].running_mean, before)


def test_missing_weights_and_unknown_names_are_one_sentence(tmp_path):
    with pytest.raises(SentioMLError, match=r"weights of teacher 'vgg_msd' are missing .*convert_teachers\.py\.$"):
        load_teacher("vgg_msd", tmp_path / "nope.safetensors")
    with pytest.raises(SentioMLError, match=r"^Unknown teacher 'passt'; choose one of: musicnn_msd, .*\.$"):
        load_teacher("passt")
    wrong = tmp_path / "wrong.safetensors"
    wrong.write_bytes(weights_path("musicnn_msd").read_bytes())
    with pytest.raises(SentioMLError, match=r"weights of teacher 'vgg_msd' in .* do not fit its network .*\.$"):
        load_teacher("vgg_msd", wrong)


@pytest.mark.shared
def test_conversion_reproduces_the_committed_weights_and_notices(tmp_path, monkeypatch):
    """scripts/convert_teachers.py, run again on the original checkpoints, writes byte-identical files."""
    import importlib.util
    import sys

    pytest.importorskip("h5py")
    source = Path(__file__).resolve().parents[2].parent / "shared" / "pretrained"
    if not (source / "efficientat" / "mn04_as_mAP_432.pt").is_file():
        pytest.skip(f"needs the original checkpoints in {source}")
    script = Path(__file__).resolve().parents[2] / "scripts" / "convert_teachers.py"
    spec = importlib.util.spec_from_file_location("convert_teachers", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["convert_teachers.py", "--source", str(source), "--out", str(tmp_path)])
    module.main()
    for name in TEACHER_NAMES:
        if name != "musicnn_msd":
            assert (tmp_path / weights_path(name).name).read_bytes() == weights_path(name).read_bytes(), name
    for notice in ("EFFICIENTAT-LICENSE.md", "MUSICNN-KERAS-LICENSE.md"):
        assert (tmp_path / notice).read_text() == (weights_path("mn04").parent / notice).read_text()
