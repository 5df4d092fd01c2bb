"""Playback bar: play/pause, seek, previous/next and volume over a queue of tracks (QtMultimedia).

QtMultimedia needs system audio libraries (e.g. libpulse on Linux), and playing needs an audio
output device. Without either, the bar stays visible with Play disabled and says why in one
sentence; everything else in the app keeps working. A device that appears later is picked up.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from sentio_desktop.ui.elided_label import ElidedLabel

try:
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer

    MULTIMEDIA_ERROR: str | None = None
except ImportError as exc:  # missing system audio library
    QAudioOutput = QMediaDevices = QMediaPlayer = None  # type: ignore[assignment,misc]
    MULTIMEDIA_ERROR = (f"Playback is unavailable because Qt Multimedia could not load ({exc}); "
                        "install your system's audio libraries (e.g. libpulse0) to enable it.")

NO_DEVICE_TEXT = ("No audio output device was found, so songs cannot be played; connect one or start "
                  "the sound server and Play comes back by itself.")
DEFAULT_VOLUME = 80  # percent


def audio_outputs() -> list[Any]:
    """The system's audio output devices (empty without a device or a running sound server)."""
    return list(QMediaDevices.audioOutputs()) if QMediaDevices is not None else []


def _clock(ms: int) -> str:
    seconds = max(0, int(ms // 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


class PlayerBar(QWidget):
    """Plays `queue` (a list of (track_index, path, label)) from `position`; emits the playing track."""

    nowPlaying = Signal(int)  # track index, -1 when stopped

    def __init__(self, parent: QWidget | None = None, outputs: Callable[[], list[Any]] = audio_outputs) -> None:
        super().__init__(parent)
        self._outputs = outputs  # tests pass a fake list of devices
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
        self.title_label = ElidedLabel("Nothing playing", self, minimum_chars=16)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(DEFAULT_VOLUME)
        self.volume_slider.setMaximumWidth(90)
        self.volume_slider.setToolTip("Volume")
        self.volume_slider.setAccessibleName("Volume")
        self.volume_icon = QLabel(self)
        self.volume_icon.setPixmap(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume).pixmap(16, 16))

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.prev_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addWidget(self.title_label, 2)
        layout.addWidget(self.seek_slider, 5)
        layout.addWidget(self.time_label)
        layout.addWidget(self.volume_icon)
        layout.addWidget(self.volume_slider)

        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.play_button.clicked.connect(self.toggle)
        self.seek_slider.sliderPressed.connect(lambda: setattr(self, "_seeking", True))
        self.seek_slider.sliderReleased.connect(self._seek_released)

        self.player = None
        self.audio = None
        self.available = False
        self.unavailable_reason: str | None = MULTIMEDIA_ERROR
        if MULTIMEDIA_ERROR is None:
            self.audio = QAudioOutput(self)
            self.audio.setVolume(DEFAULT_VOLUME / 100)
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(self.audio)
            self.player.positionChanged.connect(self._position_changed)
            self.player.durationChanged.connect(lambda d: self.seek_slider.setRange(0, int(d)))
            self.player.playbackStateChanged.connect(self._state_changed)
            self.player.mediaStatusChanged.connect(self._media_status)
            self.player.errorOccurred.connect(lambda _e, msg: self.title_label.setText(f"Cannot play: {msg}"))
            self.volume_slider.valueChanged.connect(lambda v: self.audio.setVolume(v / 100))
            self._devices = QMediaDevices(self)
            self._devices.audioOutputsChanged.connect(self.check_device)
        self.check_device()

    def check_device(self) -> None:
        """Enable the controls when there is something to play on; else disable Play and say why."""
        if self.player is not None:
            has_device = bool(self._outputs())
            self.unavailable_reason = None if has_device else NO_DEVICE_TEXT
            if has_device and self.audio is not None:
                self.audio.setDevice(QMediaDevices.defaultAudioOutput())
            elif self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
                self.player.pause()  # no silent "playing" with a running timer
        self.available = self.unavailable_reason is None
        for w in (self.prev_button, self.play_button, self.next_button, self.seek_slider, self.volume_slider):
            w.setEnabled(self.available)
        self.setToolTip(self.unavailable_reason or "")
        if not self.available:
            short = "Playback unavailable" if MULTIMEDIA_ERROR else "No audio device: playback is off"
            self.title_label.setText(short)
            self.title_label.setToolTip(self.unavailable_reason)
        elif self.title_label.text().startswith("No audio device"):
            self.title_label.setText("Nothing playing")

    def set_volume(self, percent: int) -> None:
        self.volume_slider.setValue(max(0, min(100, int(percent))))

    # -- queue ---------------------------------------------------------------------------------
    def play_queue(self, queue: list[tuple[int, str, str]], start: int = 0) -> None:
        self.queue = list(queue)
        self.play_at(start)

    def play_at(self, position: int) -> None:
        if not 0 <= position < len(self.queue):
            return
        self.position = position
        track, path, label = self.queue[position]
        self.nowPlaying.emit(track)
        if not self.available:
            return  # the bar keeps saying why nothing plays
        self.title_label.setText(label)
        self.title_label.setToolTip(path)
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
        if self.player is None or not self.available:
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
