"""Real playback through Qt Multimedia: play, pause, seek and auto-advance at the end of a song.

Qt Multimedia needs the system's audio client library (libpulse on Linux); where it cannot load, the
player bar degrades to one sentence (tested in test_main_window) and these tests skip with that reason.
"""
from __future__ import annotations

import pytest

from sentio_desktop.ui.player import MULTIMEDIA_ERROR, PlayerBar

pytestmark = pytest.mark.skipif(MULTIMEDIA_ERROR is not None, reason=str(MULTIMEDIA_ERROR))


@pytest.fixture
def player(qtbot, fixture_copy):
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
