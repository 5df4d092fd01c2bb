"""Datasets: one interface (`Clip`, `Dataset`), three adapters (DEAM, 4Q, generic CSV)."""
from __future__ import annotations

from pathlib import Path

from sentio_ml.datasets.base import Clip, Dataset, make_folds, quadrant_of, split_train_validation, unit_from_scale
from sentio_ml.datasets.deam import load_deam
from sentio_ml.datasets.fourq import load_fourq
from sentio_ml.datasets.generic import load_generic
from sentio_ml.errors import DatasetError

DATASETS = ("fourq", "deam", "generic")


def load_dataset(name: str, root: str | Path, **options) -> Dataset:
    """Load a dataset by adapter name; options go to the adapter (see each module)."""
    loaders = {"fourq": load_fourq, "deam": load_deam, "generic": load_generic}
    if name not in loaders:
        raise DatasetError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    return loaders[name](root, **options)


__all__ = [
    "Clip", "Dataset", "DATASETS", "load_dataset", "load_deam", "load_fourq", "load_generic",
    "make_folds", "quadrant_of", "split_train_validation", "unit_from_scale",
]
