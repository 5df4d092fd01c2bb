"""Feature cache: each clip is decoded and turned into a whole-clip log-mel fbank once.

Entries are float16 .npy files named by the file's content hash and a hash of the feature settings
(sample rate, mel bins, fbank version), so renamed clips still hit and edited clips or other settings
miss. Training then crops random windows from these arrays every epoch and normalises them with
statistics fitted on the training split only (`fit_normalisation`).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sentio_ml.audio import excerpt_starts
from sentio_ml.datasets import Clip
from sentio_ml.errors import AudioDecodeError, SentioMLError
from sentio_ml.features import FRAME_LENGTH, HOP_LENGTH, FeatureConfig, log_mel_fbank

FBANK_VERSION = 1  # bump when log_mel_fbank changes meaning


def excerpt_start_frames(length: int, frames: int, count: int, sample_rate: int = 16000) -> list[int]:
    """Start frames of the `count` windows of `frames` frames that the Predictor would take from a clip whose
    whole fbank has `length` frames: `sentio_ml.audio.excerpt_starts` (the one placement rule) on the fbank's
    10-ms grid. Always `count` starts, so every clip gives the same number of windows: a clip no longer than
    one window repeats its single start (the Predictor takes it once; the mean is the same)."""
    duration = (FRAME_LENGTH + (max(length, 1) - 1) * HOP_LENGTH) / sample_rate
    seconds = (FRAME_LENGTH + (frames - 1) * HOP_LENGTH) / sample_rate
    last = max(0, length - frames)
    starts = [min(last, int(round(s * sample_rate / HOP_LENGTH))) for s in excerpt_starts(duration, seconds, count)]
    return (starts * count)[:count] if len(starts) == 1 else starts


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("sentio")) / "features"


def file_key(path: Path) -> str:
    """Content hash of a file (so renamed or moved clips hit the cache, edited ones miss it)."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


class FeatureCache:
    """Whole-clip un-normalised log-mel fbanks [T, mel] (float16) on disk, and in memory once loaded."""

    def __init__(self, cache_dir: str | Path | None = None, sample_rate: int = 16000, num_mel_bins: int = 128) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        settings = json.dumps({"sr": sample_rate, "mel": num_mel_bins, "v": FBANK_VERSION}, sort_keys=True)
        self.settings_key = hashlib.sha1(settings.encode()).hexdigest()[:8]
        self._memory: dict[str, np.ndarray] = {}
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()
        self._last_wave: tuple[str, np.ndarray] | None = None  # see _decode

    def _entry(self, clip: Clip) -> Path:
        key = self._keys.get(str(clip.path))
        if key is None:
            if not Path(clip.path).is_file():
                raise AudioDecodeError(f"The audio file {clip.path} is missing.")
            key = self._keys[str(clip.path)] = file_key(Path(clip.path))
        return self.cache_dir / f"fbank-{self.settings_key}-{key}.npy"

    def _decode(self, clip: Clip) -> np.ndarray:
        """The clip's waveform at the cache's rate. The last one is kept: filling a clip's fbank, audio
        descriptors and musicnn embeddings asks for it up to three times in a row (~0.05 s per 30-s MP3)."""
        from sentio_ml.audio import decode

        with self._lock:
            if self._last_wave is not None and self._last_wave[0] == str(clip.path):
                return self._last_wave[1]
        wave = decode(clip.path, self.sample_rate)
        with self._lock:
            self._last_wave = (str(clip.path), wave)
        return wave

    def compute(self, clip: Clip) -> np.ndarray:
        wave = self._decode(clip)
        return log_mel_fbank(wave, self.sample_rate, self.num_mel_bins).numpy().astype(np.float16)

    def ensure(
        self,
        clips: Sequence[Clip],
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        audio_windows: tuple[int, int] | None = None,
        audio: bool = True,
        musicnn: int = 0,
    ) -> list[str]:
        """Compute missing entries; returns one sentence per clip that failed to decode (others go on).

        `audio_windows` (frames, count): also, for each clip's `excerpt_start_frames` windows, the audio descriptors
        (with `audio`) and the musicnn embeddings over `musicnn` patches (none with 0)."""
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SentioMLError(f"Cannot create the feature cache folder {self.cache_dir}: {exc.strerror}.") from exc
        failures = []
        for i, clip in enumerate(clips):
            if cancel is not None and cancel.is_set():
                break
            try:
                entry = self._entry(clip)
                if not entry.exists():
                    self._save(entry, self.compute(clip))
                if audio_windows is not None:
                    frames, count = audio_windows
                    length = len(np.load(entry, mmap_mode="r", allow_pickle=False))
                    starts = excerpt_start_frames(length, frames, count, self.sample_rate)
                    if audio:
                        self.audio_descriptors(clip, starts, frames)
                    if musicnn:
                        self.musicnn_embeddings(clip, starts, frames, musicnn)
            except AudioDecodeError as exc:
                failures.append(str(exc))
            if progress:
                progress(i + 1, len(clips))
        return failures

    def _save(self, entry: Path, array: np.ndarray) -> None:
        """Write an entry atomically: an interrupted run never leaves a half-written one, and processes filling
        the same entry at once (DDP ranks) each write their own temporary file."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, array, allow_pickle=False)
        tmp.replace(entry)

    def audio_descriptors(self, clip: Clip, starts: Sequence[int], frames: int) -> np.ndarray:
        """The "audio_descriptors" view [len(starts), AUDIO_DESCRIPTOR_COUNT] of the waveform under each fbank
        window [start, start + frames) of the clip, computed once and cached."""
        return self.view_features(clip, starts, frames, "audio_descriptors")

    def musicnn_embeddings(self, clip: Clip, starts: Sequence[int], frames: int, patches: int = 3) -> np.ndarray:
        """The "musicnn<patches>" view [len(starts), EMBEDDING_DIM] of the same windows, computed once and cached."""
        return self.view_features(clip, starts, frames, f"musicnn{patches}")

    def view_features(self, clip: Clip, starts: Sequence[int], frames: int, view_name: str) -> np.ndarray:
        """A view declared in `sentio_ml.composition.VIEWS` (the Predictor's own computation) of the waveform
        under each window, cached under the view's cache key."""
        from sentio_ml.composition import VIEWS

        view = VIEWS[view_name]
        features = FeatureConfig(sample_rate=self.sample_rate, num_mel_bins=self.num_mel_bins)
        return self._window_features(clip, starts, frames, view.cache_key,
                                     lambda waves: view.compute(waves, features, {}).numpy())

    def _window_features(self, clip: Clip, starts: Sequence[int], frames: int, kind: str,
                         compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """`compute` of the waveforms under each fbank window of the clip, cached as `kind` entries."""
        windows = json.dumps([[int(s) for s in starts], int(frames)])
        entry = self._entry(clip)
        entry = entry.with_name(entry.name.replace("fbank-", f"{kind}-", 1).replace(
            ".npy", f"-{hashlib.sha1(windows.encode()).hexdigest()[:8]}.npy"))
        with self._lock:
            if entry.name in self._memory:
                return self._memory[entry.name]
        if entry.exists():
            array = np.load(entry, allow_pickle=False)
        else:
            from sentio_ml.audio import fit_wave_length

            wave = self._decode(clip)
            hop, window = self.sample_rate // 100, self.sample_rate * 25 // 1000  # the fbank's 10-ms hop, 25-ms window
            length = (frames - 1) * hop + window
            pieces = [fit_wave_length(wave[int(s) * hop : int(s) * hop + length], length) for s in starts]
            array = compute(np.stack(pieces))
            self._save(entry, array)
        with self._lock:
            self._memory[entry.name] = array
        return array

    def load(self, clip: Clip) -> np.ndarray:
        """The clip's fbank [T, mel] float16 (computed now if missing)."""
        name = str(clip.path)
        with self._lock:
            if name in self._memory:
                return self._memory[name]
        entry = self._entry(clip)
        if entry.exists():
            array = np.load(entry, allow_pickle=False)
        else:
            array = self.compute(clip)
            self._save(entry, array)
        with self._lock:
            self._memory[name] = array
        return array


def fit_normalisation(cache: FeatureCache, clips: Sequence[Clip], base: FeatureConfig) -> FeatureConfig:
    """`base` with mean/std of the log-mel values over `clips` (the training split only)."""
    total, total_sq, count = 0.0, 0.0, 0
    for clip in clips:
        x = cache.load(clip).astype(np.float64)
        total += x.sum()
        total_sq += np.square(x).sum()
        count += x.size
    if count == 0:
        return base
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean**2, 1e-12)))
    return replace(base, mean=float(mean), std=std)
