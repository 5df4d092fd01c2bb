"""Mood tags in every container: round trip, visible to other software, audio untouched, errors."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import av
import mutagen
import numpy as np
import pytest
from mutagen.easyid3 import EasyID3

from sentio_desktop.errors import TagReadError, TagWriteError, UnsupportedFormatError
from sentio_desktop.tags import (
    MoodTags,
    choose_format,
    read_mood_tags,
    read_track_info,
    remove_mood_tags,
    write_mood_tags,
)

FIXTURES = ["vibe_ace.mp3", "vibe_ace_v23.mp3", "vibe_ace.flac", "vibe_ace.ogg", "vibe_ace.opus",
            "vibe_ace_aac.m4a", "vibe_ace_alac.m4a", "vibe_ace.wav", "vibe_ace.aiff"]
VALUES = MoodTags(valence=0.71234, arousal=0.2, mood="serene", model="sentio-small@1.0")


def decoded_audio(path: Path) -> np.ndarray:
    """Every decoded sample of the file, independent of Sentio's own decoder."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
    return np.concatenate(frames)


def generic_view(path: Path) -> dict[str, str]:
    """What another program sees through mutagen's generic File interface."""
    tags = mutagen.File(path).tags
    keys = {"VALENCE", "AROUSAL", "MOOD", "SENTIO_MODEL"}
    out: dict[str, str] = {}
    for key, value in tags.items():
        name = str(key).split(":")[-1].upper()
        if str(key) == "TMOO":
            name = "MOOD"
        if name in keys:
            raw = value.text[0] if hasattr(value, "text") else value[0]
            out[name] = raw.decode() if isinstance(raw, bytes) else str(raw)
    return out


@pytest.mark.parametrize("name", FIXTURES)
def test_round_trip_visible_to_other_software_and_audio_untouched(fixture_copy, name: str) -> None:
    path = fixture_copy(name)
    audio_before = decoded_audio(path)
    info_before = read_track_info(path)
    assert info_before.title == "Vibe Ace" and info_before.artist == "Kevin MacLeod"
    assert info_before.mood_tags.empty

    write_mood_tags(path, VALUES)

    assert read_mood_tags(path) == MoodTags(0.712, 0.2, "serene", "sentio-small@1.0")
    assert generic_view(path) == {"VALENCE": "0.712", "AROUSAL": "0.200", "MOOD": "serene",
                                  "SENTIO_MODEL": "sentio-small@1.0"}
    np.testing.assert_array_equal(decoded_audio(path), audio_before)
    assert read_track_info(path).title == "Vibe Ace"  # other tags kept

    assert remove_mood_tags(path) is True
    assert read_mood_tags(path).empty
    assert generic_view(path) == {}
    assert remove_mood_tags(path) is False  # nothing left to remove
    assert read_track_info(path).artist == "Kevin MacLeod"
    np.testing.assert_array_equal(decoded_audio(path), audio_before)


def test_mood_word_lands_where_players_read_mood(fixture_copy) -> None:
    v24 = fixture_copy("vibe_ace.mp3")
    v23 = fixture_copy("vibe_ace_v23.mp3")
    flac = fixture_copy("vibe_ace.flac")
    m4a = fixture_copy("vibe_ace_aac.m4a")
    for path in (v24, v23, flac, m4a):
        write_mood_tags(path, VALUES)
    tags24 = mutagen.File(v24).tags
    assert tags24.version[:2] == (2, 4) and str(tags24["TMOO"]) == "serene"
    assert EasyID3(v24)["mood"] == ["serene"]
    tags23 = mutagen.File(v23).tags
    assert tags23.version[:2] == (2, 3)  # the file keeps its ID3 version
    assert "TMOO" not in tags23 and str(tags23["TXXX:MOOD"]) == "serene"
    assert mutagen.File(flac).tags["mood"] == ["serene"]
    assert bytes(mutagen.File(m4a).tags["----:com.apple.iTunes:MOOD"][0]) == b"serene"


def test_partial_write_keeps_other_fields(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.ogg")
    write_mood_tags(path, VALUES)
    write_mood_tags(path, MoodTags(valence=0.1))
    assert read_mood_tags(path) == MoodTags(0.1, 0.2, "serene", "sentio-small@1.0")


def test_junk_values_from_other_software_read_as_missing(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.flac")
    f = mutagen.File(path)
    f.tags["VALENCE"] = ["very happy"]
    f.tags["AROUSAL"] = ["7.5"]
    f.save()
    assert read_mood_tags(path) == MoodTags()


def test_keep_mtime_option(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.mp3")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    write_mood_tags(path, VALUES, keep_mtime=True)
    assert path.stat().st_mtime == 1_000_000_000
    remove_mood_tags(path, keep_mtime=False)
    assert path.stat().st_mtime > 1_000_000_000


def test_read_only_file_is_reported_and_left_alone(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.flac")
    before = path.read_bytes()
    path.chmod(0o444)  # refused by mode bits, so this holds even when tests run as root
    try:
        with pytest.raises(TagWriteError, match="read-only"):
            write_mood_tags(path, VALUES)
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_locked_file_os_error_is_one_sentence(fixture_copy, monkeypatch) -> None:
    path = fixture_copy("vibe_ace.mp3")

    def locked(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(mutagen.mp3.MP3, "save", locked)
    with pytest.raises(TagWriteError, match=r"Cannot write tags to .*permission denied") as info:
        write_mood_tags(path, VALUES)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path: Path, fixture_copy) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio at all, just words\n" * 10)
    with pytest.raises(TagReadError, match="not an audio file"):
        read_mood_tags(text)
    empty = tmp_path / "empty.flac"
    empty.touch()
    with pytest.raises(TagReadError, match="empty file"):
        read_track_info(empty)
    other = tmp_path / "cover.txt"
    other.write_text("hello")
    with pytest.raises(UnsupportedFormatError):
        read_mood_tags(other)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(4000))
    with pytest.raises(TagReadError):
        read_track_info(corrupt)
    with pytest.raises(TagReadError, match="no longer exists|Cannot read"):
        read_mood_tags(tmp_path / "gone.ogg")


def test_header_sniff_beats_a_wrong_extension(fixture_copy, tmp_path: Path) -> None:
    flac = fixture_copy("vibe_ace.flac", "misnamed.mp3")
    assert choose_format(flac).format == "flac"
    write_mood_tags(flac, VALUES)
    assert read_mood_tags(flac).mood == "serene"
    no_ext = tmp_path / "track"
    shutil.copy(flac, no_ext)
    assert read_track_info(no_ext).format == "flac"
