"""The "is it music at all" check: mn04's AudioSet "Music" probability on one excerpt per track."""
from __future__ import annotations

import json
import logging
import math

import pytest

from sentio_ml import music_detector
from sentio_ml.audio import load_excerpts
from sentio_ml.music_detector import NOT_MUSIC_BELOW, MusicDetector, is_music, music_probability, shown_mood
from sentio_ml.teachers import load_teacher
from sentio_ml.teachers.signals import reference_wave
from tests.conftest import FIXTURES, require_shared

# ../shared/data/music: three LibriSpeech utterances, a robin, a humpback whale and a dog howling in her sleep
NOT_MUSIC = {"198-209-0000", "3436-172162-0000", "5703-47212-0000", "456440__inspectorj__bird-whistling-robin-single-13",
             "glacier-bay-humpback", "pibble"}


@pytest.fixture
def fresh_detector(monkeypatch):
    """A detector cache of its own, so a test can load (or fail to load) the detector from scratch."""
    monkeypatch.setattr(music_detector, "_loaded", {})


def test_probability_is_the_sigmoid_of_mn04s_music_logit():
    reference = json.loads((FIXTURES / "teachers_reference.json").read_text())["teachers"]["mn04"]
    detector = MusicDetector(load_teacher("mn04"))
    expected = 1 / (1 + math.exp(-reference["logits"][detector.music_index]))
    assert detector.music_index == 137
    assert detector.probability(reference_wave(32000, 10.0), 32000) == pytest.approx(expected, abs=2e-3)


@pytest.mark.shared
def test_speech_and_animals_fall_below_the_threshold_and_music_above():
    folder = require_shared("music")
    scores = {}
    for path in sorted(folder.glob("*.ogg")):
        wave = load_excerpts(path, 16000, 10.26, 1).waves[0]
        scores[path.stem] = music_probability(wave, 16000)
    assert NOT_MUSIC <= set(scores) and len(scores) > len(NOT_MUSIC)
    misjudged = {name: round(p, 3) for name, p in scores.items() if (p < NOT_MUSIC_BELOW) != (name in NOT_MUSIC)}
    assert not misjudged, f"misjudged as (not) music: {misjudged}"


def test_unknown_counts_as_music_and_tables_say_not_music():
    assert is_music(None) and is_music(NOT_MUSIC_BELOW) and not is_music(0.49)
    assert shown_mood("calm", 0.9) == "calm" and shown_mood("calm", None) == "calm"
    assert shown_mood("calm", 0.1) == "not music"


def test_missing_weights_leave_music_unknown_with_one_warning(fresh_detector, monkeypatch, tmp_path, caplog):
    monkeypatch.setattr("sentio_ml.teachers.PRETRAINED", tmp_path)  # no mn04.safetensors there
    with caplog.at_level(logging.WARNING, logger="sentio_ml.music_detector"):
        assert music_probability(reference_wave(16000, 4.0)) is None
        assert music_probability(reference_wave(16000, 4.0)) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "music check is off" in warnings[0] and "mn04" in warnings[0]
    assert "\n" not in warnings[0]
