"""Datasets: one interface (`Clip`, `Dataset`), three adapters (DEAM, 4Q, generic CSV).

The adapters (pandas) and the base (numpy) are imported on first use (PEP 562), so the command line can
list `DATASETS` without loading them.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentio_ml.errors import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    from sentio_ml.datasets.base import Dataset

DATASETS = ("fourq", "deam", "generic")
_EXPORTS = {
    "Clip": "base", "Dataset": "base", "make_folds": "base", "quadrant_of": "base",
    "split_train_validation": "base", "unit_from_scale": "base",
    "load_deam": "deam", "load_fourq": "fourq", "load_generic": "generic",
}


def load_dataset(name: str, root: str | Path, **options) -> "Dataset":
    """Load a dataset by adapter name; options go to the adapter (see each module)."""
    if name not in DATASETS:
        raise DatasetError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    return __getattr__(f"load_{name}")(root, **options)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = ["DATASETS", "load_dataset", *_EXPORTS]
