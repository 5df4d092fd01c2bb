"""Is it music at all? AudioSet's "Music" probability from EfficientAT mn04, on one excerpt per track.

A mood model answers for any sound it is given, so speech, animal calls and field recordings get moods like
songs and end up in mood playlists. mn04 (the AudioSet-pretrained MobileNet already shipped as a distillation
teacher, MIT) says how likely an excerpt is to be music: class "Music" of its 527 AudioSet labels, sigmoid of
its logit. One excerpt (the middle one of those already decoded) costs about 0.04 s on one CPU core.

Importing this module is cheap (no torch): the desktop reads `NOT_MUSIC_BELOW` and `is_music` from here.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentio_ml.teachers import Teacher

log = logging.getLogger(__name__)

#: P(Music) below this marks a track "not music". On ../shared/data/music (one 10.26-s middle excerpt per
#: file) every song scored 0.70-0.93 and the speech, bird and whale/dog recordings 0.02-0.07, so 0.5 sits
#: in a wide gap: AudioSet's own midpoint, no tuning to these files needed.
NOT_MUSIC_BELOW = 0.5
#: What tables show instead of the mood word for a track that is not music.
NOT_MUSIC_LABEL = "not music"
DETECTOR_TEACHER = "mn04"
MUSIC_LABEL = "Music"


def is_music(probability: float | None) -> bool:
    """Whether a track counts as music: unknown (None: not checked, or analysed before the check) does."""
    return probability is None or probability >= NOT_MUSIC_BELOW


def not_music_mask(probabilities: np.ndarray) -> np.ndarray:
    """`is_music`'s rule over an array (NaN = unknown = music): True where a track is not music."""
    with np.errstate(invalid="ignore"):
        return np.asarray(probabilities, dtype=np.float64) < NOT_MUSIC_BELOW


def shown_mood(mood: str | None, probability: float | None) -> str | None:
    """The mood word a table shows: "not music" for a track below the threshold, else its mood word."""
    return mood if is_music(probability) else NOT_MUSIC_LABEL


class MusicDetector:
    """P(Music) of one mono excerpt with an AudioSet tagger (thread-safe: inference only, no state)."""

    def __init__(self, teacher: Teacher) -> None:
        self.teacher = teacher
        self.music_index = teacher.logit_names.index(MUSIC_LABEL)

    def probability(self, wave: np.ndarray, sample_rate: int) -> float:
        """P(Music) of `wave` (float32 mono samples at `sample_rate`), resampled to the tagger's rate."""
        import torch

        from sentio_ml.audio import resample_rows  # the same call as the model's wave32k view (Predictor's music tap)

        rows = resample_rows(np.asarray(wave, dtype=np.float32)[None], sample_rate, self.teacher.sample_rate)
        with torch.inference_mode():
            _, logits = self.teacher(torch.from_numpy(rows))
        # mn04 returns logits before the sigmoid (AudioSet is multi-label: one sigmoid per class)
        return float(torch.sigmoid(logits[0, self.music_index]))


_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def load_music_detector() -> MusicDetector | None:
    """The shared detector, loaded once; None (with one warning) when mn04's weights are missing or damaged:
    predictions still work, only their `music` value stays unknown."""
    with _lock:
        if "detector" not in _loaded:
            _loaded["detector"] = _load()
        return _loaded["detector"]


def _load() -> MusicDetector | None:
    from sentio_ml.errors import SentioMLError
    from sentio_ml.teachers import load_teacher

    try:
        return MusicDetector(load_teacher(DETECTOR_TEACHER))
    except SentioMLError as exc:
        log.warning("The music check is off (tracks are not flagged as 'not music'): %s", exc)
        return None


def music_probability(wave: np.ndarray, sample_rate: int = 16000) -> float | None:
    """P(Music) of one excerpt, or None when the detector cannot be loaded (see `load_music_detector`)."""
    detector = load_music_detector()
    return None if detector is None else detector.probability(wave, sample_rate)
