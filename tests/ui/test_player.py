"""Real playback through Qt Multimedia: play, pause, seek and auto-advance at the end of a song.

Qt Multimedia needs the system's audio client library (libpulse on Linux); where it cannot load, the
player bar degrades to one sentence (tested in test_main_window) and these tests skip with that reason.
"""
from __future__ import annotations

import pytest

from sentio_desktop.ui.player import MULTIMEDIA_ERROR, NO_DEVICE_TEXT, PlayerBar, audio_outputs

pytestmark = pytest.mark.skipif(MULTIMEDIA_ERROR is not None, reason=str(MULTIMEDIA_ERROR))


@pytest.fixture
def player(qtbot, fixture_copy):
    if not audio_outputs():
        pytest.skip(NO_DEVICE_TEXT)
    bar = PlayerBar()
    qtbot.addWidget(bar)
    yield bar, str(fixture_copy("vibe_ace.mp3")), str(fixture_copy("vibe_ace.ogg"))
    bar.stop()


def test_plays_pauses_seeks_and_advances_to_the_next_song(qtbot, player):
    from PySide6.QtMultimedia import QMediaPlayer

    player, first, second = player
    with qtbot.waitSignal(player.nowPlaying, timeout=2000) as started:
        player.play_queue([(10, first, "first"), (11, second, "second")])
    assert started.args == [10]
    qtbot.waitUntil(lambda: player.player.position() > 300, timeout=5000)
    assert player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    player.toggle()
    assert player.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    player.toggle()
    assert player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    qtbot.waitUntil(lambda: player.player.duration() > 0, timeout=5000)
    # Seek close to the end: the end of the song plays the next one in the queue.
    with qtbot.waitSignal(player.nowPlaying, timeout=8000) as advanced:
        player.seek(player.player.duration() - 300)
    assert advanced.args == [11]
    assert player.position == 1
    assert player.title_label.text() == "second"


def test_without_an_audio_device_play_is_disabled_and_the_bar_says_why(qtbot):
    devices: list[object] = []
    bar = PlayerBar(outputs=lambda: devices)
    qtbot.addWidget(bar)
    assert not bar.available and not bar.play_button.isEnabled() and not bar.next_button.isEnabled()
    assert bar.unavailable_reason == NO_DEVICE_TEXT and bar.toolTip() == NO_DEVICE_TEXT
    assert bar.title_label.text().startswith("No audio device")
    bar.play_queue([(3, "/music/song.mp3", "a song")])  # nothing plays, no timer runs; the song is still current
    assert bar.position == 0 and bar.title_label.text().startswith("No audio device")
    assert bar.time_label.text() == "0:00 / 0:00"
    devices.append(object())  # a device appears (Qt reports it through audioOutputsChanged)
    bar.check_device()
    assert bar.available and bar.play_button.isEnabled() and bar.title_label.text() == "Nothing playing"
