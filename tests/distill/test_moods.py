"""Task-level distillation (sentio_ml.distill.moods) on synthetic crops and a tiny encoder."""
from __future__ import annotations

import numpy as np
import torch

from sentio_ml.ast_encoder import PRESETS
from sentio_ml.composition import AstPart
from sentio_ml.distill import moods

FRAMES = PRESETS["tiny"].pooled_frames


def _crops(rng: np.random.Generator, clips: int = 20, unlabelled: int = 6) -> moods.CropSet:
    """Two crops per clip plus some unlabelled audio; the teacher's output 0 and 1 are the clip's mood."""
    owner = np.concatenate([np.repeat(np.arange(clips), 2), np.full(unlabelled, -1)])
    mood = rng.uniform(0.1, 0.9, size=(len(owner), 2))
    teacher = np.concatenate([mood, rng.normal(size=(len(owner), 6))], axis=1).astype(np.float32)
    fbank = rng.normal(size=(len(owner), FRAMES, 128)).astype(np.float16)
    return moods.CropSet(fbank, {"musicnn_msd": teacher}, owner)


def test_crop_targets_mix_labels_in_and_leave_other_clips_out():
    crops = _crops(np.random.default_rng(0))
    teachers = np.full((len(crops), 2), 0.2, dtype=np.float32)
    rows, targets = moods.crop_targets(teachers, crops, np.array([3, 4]), np.array([[1.0, 1.0], [0.6, 0.6]]))
    assert set(crops.clip[rows].tolist()) == {3, 4, -1}  # training clips and unlabelled audio only
    by_clip = {int(crops.clip[r]): t for r, t in zip(rows, targets)}
    assert np.allclose(by_clip[3], moods.LABEL_WEIGHT * 1.0 + (1 - moods.LABEL_WEIGHT) * 0.2)
    assert np.allclose(by_clip[-1], 0.2)  # an unlabelled crop learns the teachers' mood alone


def test_teacher_moods_follow_the_teacher_outputs_of_each_crop():
    rng = np.random.default_rng(1)
    crops = _crops(rng, clips=60)
    clip_features = np.stack([crops.teachers["musicnn_msd"][crops.clip == i].mean(0) for i in range(60)])
    labels = clip_features[:, :2]
    rows = np.arange(40)
    predicted = moods.teacher_moods({"musicnn_msd": clip_features}, crops, rows, labels[rows], [f"a{i % 10}" for i in rows])
    held_out = np.isin(crops.clip, np.arange(40, 60))  # crops of clips the probe never saw
    assert np.corrcoef(predicted[held_out, 0], crops.teachers["musicnn_msd"][held_out, 0])[0, 1] > 0.9


def test_distilling_moods_trains_a_copy_and_sets_the_head():
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    crops = _crops(rng)
    part = AstPart(PRESETS["tiny"]).eval()
    stats = {"mean": 0.0, "std": 1.0}
    rows = np.arange(len(crops))
    targets = crops.teachers["musicnn_msd"][:, :2].copy()
    inputs = moods.crop_inputs(crops, rows, stats)
    with torch.inference_mode():
        before = part.encoder(inputs, pooled=True).clone()
    tuned = moods.distil_moods(part, crops, rows, targets, stats, epochs=2, batch=8)
    with torch.inference_mode():
        assert torch.allclose(part.encoder(inputs, pooled=True), before)  # the student itself is untouched
        assert not torch.allclose(tuned.encoder(inputs, pooled=True), before)
        predicted = tuned.head(tuned.encoder(inputs, pooled=True))
    assert predicted.shape == (len(crops), 2) and torch.isfinite(predicted).all()
    assert torch.allclose(tuned.head.std, torch.ones_like(tuned.head.std))  # the trained layer acts on raw embeddings
