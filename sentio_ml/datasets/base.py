"""The one dataset interface: `Clip` records on the unit scale and a `Dataset` that knows its folds.

Splits are decided on songs (and artists where known) before any excerpting: training crops excerpts
from whole clips later, so no excerpt of a test song can ever reach training.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from sentio_ml.errors import DatasetError
from sentio_ml.scale import from_unit, to_unit


def unit_from_scale(value: float, low: float, high: float) -> float:
    """Map a label on [low, high] to [0, 1] (1–9 labels: (x − 1) / 8)."""
    return float(to_unit(float(value), low, high))


def quadrant_of(valence: float, arousal: float) -> int:
    """Russell quadrant 1..4 of a unit-scale point, split at 0.5 (Q1 +v+a, Q2 −v+a, Q3 −v−a, Q4 +v−a)."""
    if arousal >= 0.5:
        return 1 if valence >= 0.5 else 2
    return 4 if valence >= 0.5 else 3


@dataclass(frozen=True)
class Clip:
    """One labelled audio clip. valence/arousal are on [0, 1]; `group` is the song id (clips of one
    song share it), `artist` is None where unknown; `quadrant` is the dataset's own label when it has
    one, else derived from the continuous labels."""

    path: Path
    valence: float
    arousal: float
    quadrant: int
    group: str
    artist: str | None = None
    clip_id: str = ""

    @property
    def split_key(self) -> str:
        """What must not be shared between train and test: the artist where known, else the song."""
        return f"artist:{self.artist.strip().lower()}" if self.artist else f"song:{self.group}"


@dataclass
class Dataset:
    """A list of clips, the scale its labels came on, and (optionally) fixed folds per clip."""

    name: str
    clips: list[Clip]
    scale: tuple[float, float] = (0.0, 1.0)
    folds: list[int] | None = None
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def num_folds(self) -> int:
        return 0 if self.folds is None else len(set(self.folds))

    def fold_split(self, fold: int) -> tuple[list[Clip], list[Clip]]:
        """(train, test) clips for one of the dataset's fixed folds."""
        if self.folds is None:
            raise DatasetError(f"The {self.name} dataset has no fixed folds; use make_folds() to create some.")
        if fold not in set(self.folds):
            raise DatasetError(f"The {self.name} dataset has no fold {fold} (folds: {sorted(set(self.folds))}).")
        train = [c for c, f in zip(self.clips, self.folds) if f != fold]
        test = [c for c, f in zip(self.clips, self.folds) if f == fold]
        return train, test

    def with_folds(self, num_folds: int = 5, seed: int = 0) -> "Dataset":
        """A copy with group-disjoint folds made by `make_folds` (keeps existing fixed folds)."""
        if self.folds is not None:
            return self
        return replace(self, folds=make_folds(self.clips, num_folds, seed))

    def labels(self, clips: Sequence[Clip] | None = None) -> np.ndarray:
        """[N, 2] valence/arousal on the unit scale."""
        clips = self.clips if clips is None else clips
        return np.array([[c.valence, c.arousal] for c in clips], dtype=np.float32)

    def to_scale(self, unit: np.ndarray) -> np.ndarray:
        """Unit-scale values back on the dataset's own scale (for reports)."""
        return from_unit(np.asarray(unit, dtype=np.float64), *self.scale)


def make_folds(clips: Sequence[Clip], num_folds: int = 5, seed: int = 0) -> list[int]:
    """Fold index per clip such that no artist (or, without artists, no song) spans two folds,
    balanced by quadrant where possible (scikit-learn's StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [c.split_key for c in clips]
    if len(set(groups)) < num_folds:
        raise DatasetError(
            f"Cannot make {num_folds} folds from {len(set(groups))} distinct songs/artists; add clips or use fewer folds."
        )
    splitter = StratifiedGroupKFold(n_splits=num_folds, shuffle=True, random_state=seed)
    folds = [0] * len(clips)
    quadrants = [c.quadrant for c in clips]
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(clips)), quadrants, groups)):
        for i in test_idx:
            folds[i] = k
    return folds


def split_train_validation(
    clips: Sequence[Clip], validation_fraction: float = 0.15, seed: int = 0
) -> tuple[list[Clip], list[Clip]]:
    """Hold out whole artists/songs (never excerpts) for validation / early stopping."""
    from sklearn.model_selection import GroupShuffleSplit

    clips = list(clips)
    if validation_fraction <= 0:
        return clips, []
    groups = [c.split_key for c in clips]
    if len(set(groups)) < 2:
        raise DatasetError("Need clips from at least two songs to hold some out for validation.")
    splitter = GroupShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(clips)), groups=groups))
    return [clips[i] for i in train_idx], [clips[i] for i in val_idx]
