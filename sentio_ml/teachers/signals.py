"""The fixed input of the teachers' known-answer tests (numpy only, so the throw-away reference environments
of scripts/teachers_reference.py can load this file without torch)."""
from __future__ import annotations

import numpy as np


def reference_wave(sample_rate: int, seconds: float = 10.0) -> np.ndarray:
    """A deterministic mono test signal (a plucked A-major chord pattern over a kick-like pulse at 120 BPM, no
    RNG) at any sample rate: `sentio_ml.musicnn.reference_signal`'s pattern, float32 in [-1, 1]."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    beat = (t * 2.0) % 1.0
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63, 440.0)) * np.exp(-3.0 * beat)
    kick = np.sin(2 * np.pi * 60.0 * t) * np.exp(-25.0 * beat)
    return (0.15 * chord + 0.5 * kick).astype(np.float32)
