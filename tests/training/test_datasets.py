"""Dataset adapters against the real annotation files (generated stand-in audio where needed)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sentio_ml.datasets import (
    Clip,
    load_dataset,
    load_deam,
    load_fourq,
    load_generic,
    make_folds,
    quadrant_of,
    split_train_validation,
)
from sentio_ml.errors import DatasetError
from tests.conftest import FIXTURES, require_shared


@pytest.fixture(scope="module")
def fourq():
    return load_fourq(require_shared("fourq"))


def test_fourq_labels_folds_and_quadrants(fourq):
    assert len(fourq) == 720 and fourq.num_folds == 5 and fourq.scale == (1.0, 9.0)
    labels = fourq.labels()
    assert labels.min() >= 0 and labels.max() <= 1
    # the data README: signs around the centre reproduce the Quadrant label for 96.3% of clips
    agree = np.mean([quadrant_of(c.valence, c.arousal) == c.quadrant for c in fourq.clips])
    assert agree == pytest.approx(0.963, abs=0.001)
    for fold in range(5):
        train, test = fourq.fold_split(fold)
        assert len(train) == 576 and len(test) == 144
        assert not {c.artist for c in train} & {c.artist for c in test}  # artist-disjoint
        assert np.bincount([c.quadrant for c in test], minlength=5)[1:].tolist() == [36] * 4
    with pytest.raises(DatasetError, match="no fold 7"):
        fourq.fold_split(7)


def test_fourq_mean_warriner_values(fourq):
    # MT0000004637: circular; greasy; messy — Warriner V 5.05/3.43/3.14? use the norms themselves
    import pandas as pd

    norms = pd.read_csv(require_shared("warriner", "Ratings_Warriner_et_al.csv"), keep_default_na=False,
                        usecols=["Word", "V.Mean.Sum", "A.Mean.Sum"]).set_index("Word")
    clip = next(c for c in fourq.clips if c.clip_id == "MT0000004637")
    words = ["circular", "greasy", "messy"]
    assert clip.valence == pytest.approx((norms.loc[words, "V.Mean.Sum"].mean() - 1) / 8)
    assert clip.arousal == pytest.approx((norms.loc[words, "A.Mean.Sum"].mean() - 1) / 8)


def test_fourq_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(DatasetError, match="No clips.csv"):
        load_fourq(tmp_path)


@pytest.fixture
def deam_root(tmp_path):
    """The real DEAM annotations + metadata, with stand-in MP3s for a few songs."""
    real = require_shared("deam")
    root = tmp_path / "deam"
    root.mkdir()
    (root / "annotations").symlink_to(real / "annotations")
    (root / "metadata").symlink_to(real / "metadata")
    (root / "MEMD_audio").mkdir()
    for song in ("2", "3", "5", "2001", "2058"):
        shutil.copy(FIXTURES / "vibe_ace.mp3", root / "MEMD_audio" / f"{song}.mp3")
    return root


def test_deam_static_subsets_and_headers(deam_root):
    clips = load_deam(deam_root, subset="clips", missing_audio="ignore")
    full = load_deam(deam_root, subset="full", missing_audio="ignore")
    both = load_deam(deam_root, subset="all", missing_audio="ignore")
    assert (len(clips), len(full), len(both)) == (1744, 58, 1802)
    first = clips.clips[0]  # "2,3.1,0.94,3,0.63" in the 1–2000 file (leading-space headers)
    assert first.clip_id == "2" and first.valence == pytest.approx((3.1 - 1) / 8) and first.arousal == pytest.approx(0.25)
    assert first.artist == "The New Mystikal Troubadours" and first.quadrant == 3
    song2001 = full.clips[0]  # "2001,3.2,...,6.6" in the 2000–2058 file (other columns)
    assert song2001.valence == pytest.approx((3.2 - 1) / 8) and song2001.arousal == pytest.approx((6.6 - 1) / 8)
    assert song2001.artist == "Creepoid"


def test_deam_audio_handling_and_dynamic(deam_root):
    with pytest.raises(DatasetError, match="have no audio"):
        load_deam(deam_root)
    present = load_deam(deam_root, subset="all", missing_audio="skip", dynamic=True)
    assert [c.clip_id for c in present.clips] == ["2", "3", "5", "2001", "2058"]
    assert all(c.path.is_file() for c in present.clips)
    times, valence, arousal = present.info["dynamic"]["2"]
    assert times[0] == pytest.approx(15.0) and np.diff(times[:3]) == pytest.approx([0.5, 0.5])
    assert 0 <= valence.min() and valence.max() <= 1 and len(valence) == len(arousal) == len(times)
    with pytest.raises(DatasetError, match="None of the 58 DEAM songs"):
        load_deam(deam_root, subset="full", audio_dir=deam_root / "elsewhere", missing_audio="skip")
    with pytest.raises(DatasetError, match="Unknown DEAM subset"):
        load_deam(deam_root, subset="bogus")


def test_generic_csv(tmp_path):
    for name in ("a.wav", "b.wav", "c.wav"):
        shutil.copy(FIXTURES / "vibe_ace.wav", tmp_path / name)
    (tmp_path / "labels.csv").write_text("path,valence,arousal,artist\na.wav,8,7,X\nb.wav,2,3,Y\nc.wav,5,1,\n")
    data = load_dataset("generic", tmp_path)
    assert data.scale == (1.0, 9.0) and data.folds is None
    assert [c.quadrant for c in data.clips] == [1, 3, 4]
    assert data.clips[2].artist is None and data.clips[2].split_key == "song:c"
    assert data.to_scale(data.labels())[0].tolist() == pytest.approx([8, 7])
    (tmp_path / "bad.csv").write_text("path,valence\na.wav,0.3\n")
    with pytest.raises(DatasetError, match="arousal"):
        load_generic(tmp_path, labels=tmp_path / "bad.csv")
    (tmp_path / "gone.csv").write_text("path,valence,arousal\nnope.wav,0.3,0.2\n")
    with pytest.raises(DatasetError, match="missing"):
        load_generic(tmp_path, labels=tmp_path / "gone.csv")


def _clips(n_artists: int, per_artist: int) -> list[Clip]:
    rng = np.random.default_rng(0)
    out = []
    for a in range(n_artists):
        for s in range(per_artist):
            v, ar = rng.random(2)
            out.append(Clip(Path(f"{a}_{s}.wav"), v, ar, quadrant_of(v, ar), group=f"{a}_{s}", artist=f"artist{a}"))
    return out


def test_made_folds_and_validation_split_are_artist_disjoint():
    clips = _clips(30, 3)
    folds = make_folds(clips, 5, seed=1)
    for k in range(5):
        inside = {c.artist for c, f in zip(clips, folds) if f == k}
        outside = {c.artist for c, f in zip(clips, folds) if f != k}
        assert inside and not inside & outside
    train, val = split_train_validation(clips, 0.2, seed=0)
    assert len(train) + len(val) == len(clips) and val
    assert not {c.artist for c in train} & {c.artist for c in val}
