from __future__ import annotations

import numpy as np
import pytest

from sentio_ml.mood import MOOD_WORDS, QUADRANT_NAMES, mood_word, quadrant
from sentio_ml.scale import from_unit, to_unit


def test_scale_round_trip():
    assert to_unit(1) == 0 and to_unit(9) == 1 and to_unit(5) == 0.5
    values = np.array([1.0, 3.0, 9.0])
    np.testing.assert_allclose(from_unit(to_unit(values)), values)
    assert to_unit(0.0, low=-1, high=1) == 0.5
    with pytest.raises(ValueError):
        to_unit(3, low=5, high=5)


@pytest.mark.parametrize(
    "v, a, q, word",
    [
        (0.9, 0.9, 1, "excited"),
        (0.1, 0.9, 2, "angry"),
        (0.1, 0.1, 3, "depressed"),
        (0.9, 0.1, 4, "serene"),
        (0.5, 0.52, 1, "neutral"),
        (0.62, 0.6, 1, "cheerful"),
        (0.4, 0.5, 2, "gloomy"),
        (0.5, 0.2, 4, "sleepy"),
        (0.7, 0.32, 4, "relaxed"),
    ],
)
def test_quadrants_and_words(v, a, q, word):
    assert quadrant(v, a) == q and q in QUADRANT_NAMES
    assert mood_word(v, a) == word


def test_every_point_gets_a_known_word():
    grid = np.linspace(0, 1, 21)
    assert {mood_word(v, a) for v in grid for a in grid} <= set(MOOD_WORDS)
