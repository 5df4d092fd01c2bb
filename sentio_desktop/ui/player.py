"""Playback bar: play/pause, seek, previous/next over a queue of tracks (QtMultimedia).

QtMultimedia needs system audio libraries (e.g. libpulse on Linux). When it cannot load, the bar
stays visible but disabled and says why in one sentence; everything else in the app keeps working.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

try:
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

    MULTIMEDIA_ERROR: str | None = None
except ImportError as exc:  # missing system audio library
    QAudioOutput = QMediaPlayer = None  # type: ignore[assignment,misc]
    MULTIMEDIA_ERROR = (f"Playback is unavailable because Qt Multimedia could not load ({exc}); "
                        "install your system's audio libraries (e.g. libpulse0) to enable it.")


def _clock(ms: int) -> str:
    seconds = max(0, int(ms // 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


class PlayerBar(QWidget):
    """Plays `queue` (a list of (track_index, path, label)) from `position`; emits the playing track."""

    nowPlaying = Signal(int)  # track index, -1 when stopped

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue: list[tuple[int, str, str]] = []
        self.position = -1
        self._seeking = False
        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
            b = QToolButton(self)
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            return b

        self.prev_button = button(QStyle.StandardPixmap.SP_MediaSkipBackward, "Previous (Ctrl+Left)")
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play / pause (Space)")
        self.next_button = button(QStyle.StandardPixmap.SP_MediaSkipForward, "Next (Ctrl+Right)")
        self.seek_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.seek_slider.setRange(0, 0)
        self.seek_slider.setToolTip("Seek")
        self.time_label = QLabel("0:00 / 0:00", self)
        self.title_label = QLabel("Nothing playing", self)
        self.title_label.setMinimumWidth(220)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.prev_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addWidget(self.title_label, 2)
        layout.addWidget(self.seek_slider, 5)
        layout.addWidget(self.time_label)

        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.play_button.clicked.connect(self.toggle)
        self.seek_slider.sliderPressed.connect(lambda: setattr(self, "_seeking", True))
        self.seek_slider.sliderReleased.connect(self._seek_released)

        self.player = None
        self.available = MULTIMEDIA_ERROR is None
        if self.available:
            self.audio = QAudioOutput(self)
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(self.audio)
            self.player.positionChanged.connect(self._position_changed)
            self.player.durationChanged.connect(lambda d: self.seek_slider.setRange(0, int(d)))
            self.player.playbackStateChanged.connect(self._state_changed)
            self.player.mediaStatusChanged.connect(self._media_status)
            self.player.errorOccurred.connect(lambda _e, msg: self.title_label.setText(f"Cannot play: {msg}"))
        else:
            for w in (self.prev_button, self.play_button, self.next_button, self.seek_slider):
                w.setEnabled(False)
            self.title_label.setText("Playback unavailable")
            self.setToolTip(MULTIMEDIA_ERROR)

    # -- queue ---------------------------------------------------------------------------------
    def play_queue(self, queue: list[tuple[int, str, str]], start: int = 0) -> None:
        self.queue = list(queue)
        self.play_at(start)

    def play_at(self, position: int) -> None:
        if not 0 <= position < len(self.queue):
            return
        self.position = position
        track, path, label = self.queue[position]
        self.title_label.setText(label)
        self.title_label.setToolTip(path)
        self.nowPlaying.emit(track)
        if self.player is None:
            return
        self.player.setSource(QUrl.fromLocalFile(str(Path(path))))
        self.player.play()

    def next(self) -> None:
        self.play_at(self.position + 1)

    def previous(self) -> None:
        if self.player is not None and self.player.position() > 3000:
            self.player.setPosition(0)
        else:
            self.play_at(self.position - 1)

    def toggle(self) -> None:
        if self.player is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        elif self.position >= 0:
            self.player.play()

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()

    def seek(self, ms: int) -> None:
        if self.player is not None:
            self.player.setPosition(int(ms))

    # -- player feedback -----------------------------------------------------------------------
    def _seek_released(self) -> None:
        self._seeking = False
        self.seek(self.seek_slider.value())

    def _position_changed(self, ms: int) -> None:
        if not self._seeking:
            self.seek_slider.setValue(int(ms))
        self.time_label.setText(f"{_clock(ms)} / {_clock(self.player.duration())}")

    def _state_changed(self, state) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _media_status(self, status) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            if self.position + 1 < len(self.queue):
                self.next()
            else:
                self.nowPlaying.emit(-1)
