"""Label scales: Sentio keeps valence/arousal in [0, 1] (0.5 neutral); datasets on 1–9 map by (x − 1) / 8."""
from __future__ import annotations

import numpy as np

ArrayLike = float | np.ndarray  # numbers, numpy arrays and pandas Series all work


def to_unit(x: ArrayLike, low: float = 1.0, high: float = 9.0) -> ArrayLike:
    """Map a value on the [low, high] rating scale to Sentio's unit scale."""
    if high <= low:
        raise ValueError(f"scale upper bound {high} must exceed lower bound {low}")
    return (x - low) / (high - low)


def from_unit(x: ArrayLike, low: float = 1.0, high: float = 9.0) -> ArrayLike:
    """Map a unit-scale value back to the [low, high] rating scale (inverse of `to_unit`)."""
    if high <= low:
        raise ValueError(f"scale upper bound {high} must exceed lower bound {low}")
    return x * (high - low) + low
