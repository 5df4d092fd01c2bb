"""Russell's circumplex on the unit square: quadrants and a small table of mood words.

Valence (x) and arousal (y) are in [0, 1] with 0.5 neutral. Points within `NEUTRAL_RADIUS` of the
centre are "neutral"; elsewhere the word is the one whose anchor angle on the circumplex is nearest
to the point's angle, split into a mild and an intense word by the distance from the centre:

    angle (deg, 0 = +valence, 90 = +arousal)  mild / intense
      0   pleasant, still                      content   / happy
     45   positive and energetic               cheerful  / excited
     90   energetic                            alert     / energetic
    135   negative and energetic               tense     / angry
    180   unpleasant                           gloomy    / sad
    225   negative and calm                    bored     / depressed
    270   calm                                 calm      / sleepy
    315   positive and calm                    relaxed   / serene
"""
from __future__ import annotations

import math

QUADRANT_NAMES: dict[int, str] = {
    1: "happy / excited (+valence, +arousal)",
    2: "tense / angry (−valence, +arousal)",
    3: "sad / depressed (−valence, −arousal)",
    4: "calm / relaxed (+valence, −arousal)",
}

NEUTRAL_RADIUS = 0.08
INTENSE_RADIUS = 0.30

# (anchor angle in degrees, mild word, intense word)
MOOD_TABLE: tuple[tuple[float, str, str], ...] = (
    (0.0, "content", "happy"),
    (45.0, "cheerful", "excited"),
    (90.0, "alert", "energetic"),
    (135.0, "tense", "angry"),
    (180.0, "gloomy", "sad"),
    (225.0, "bored", "depressed"),
    (270.0, "calm", "sleepy"),
    (315.0, "relaxed", "serene"),
)

MOOD_WORDS: tuple[str, ...] = ("neutral",) + tuple(w for _, mild, intense in MOOD_TABLE for w in (mild, intense))


def quadrants(valence, arousal):  # noqa: ANN001, ANN201 - scalars or NumPy arrays in, the same shape out
    """Russell quadrant 1..4 per point (Q1 +v+a, Q2 −v+a, Q3 −v−a, Q4 +v−a); 0.5 counts as positive.

    The one definition of the rule: `quadrant` and the desktop's map colours both use it.
    """
    import numpy as np

    positive_v = np.asarray(valence) >= 0.5
    positive_a = np.asarray(arousal) >= 0.5
    return np.where(positive_a, np.where(positive_v, 1, 2), np.where(positive_v, 4, 3))


def quadrant(valence: float, arousal: float) -> int:
    """Russell quadrant 1..4 of one point (see `quadrants`)."""
    return int(quadrants(valence, arousal))


def mood_word(valence: float, arousal: float) -> str:
    """The circumplex word for a (valence, arousal) point on the unit square."""
    dx, dy = valence - 0.5, arousal - 0.5
    radius = math.hypot(dx, dy)
    if radius < NEUTRAL_RADIUS:
        return "neutral"
    angle = math.degrees(math.atan2(dy, dx)) % 360.0

    def distance(anchor: float) -> float:
        d = abs(angle - anchor) % 360.0
        return min(d, 360.0 - d)

    _, mild, intense = min(MOOD_TABLE, key=lambda row: distance(row[0]))
    return intense if radius >= INTENSE_RADIUS else mild
