"""Audio input: decode any supported file to float32 mono at a target rate, cheaply probe durations,
and cut evenly spread excerpts (decoding only those seconds, via seeking) for prediction.

Decoding uses PyAV (bundled FFmpeg), seeking to each excerpt and cutting at the exact native sample;
uncompressed/lossless files that libsndfile reads exactly (WAV, FLAC, AIFF) go through soundfile,
which is faster for them. Both downmix by the channel mean and resample the mono signal with soxr. Every failure is wrapped
into `AudioDecodeError` with one sentence that names the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile
import soxr

from sentio_ml.errors import AudioDecodeError

if TYPE_CHECKING:  # pragma: no cover
    import av

PathLike = str | os.PathLike

# Extensions the scanner should pick up: every one decodes through PyAV's bundled FFmpeg
# (covered by the tests in tests/ml/test_audio.py where a fixture exists).
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff", ".wma"}
)

# Containers libsndfile reads with exact seeking; tried before PyAV for these extensions.
_SOUNDFILE_EXTENSIONS: frozenset[str] = frozenset({".wav", ".flac", ".aif", ".aiff"})

# Containers whose timestamps after a seek are unreliable (ASF/WMA lands up to a packet off; raw ADTS
# AAC estimates from the bitrate): decoded from the top instead of seeking.
_LINEAR_EXTENSIONS: frozenset[str] = frozenset({".wma", ".aac"})

# Long tracks: skip this share of the track (at most _EDGE_MAX_SECONDS) at each end when placing excerpts.
_EDGE_FRACTION = 0.05
_EDGE_MAX_SECONDS = 15.0
# Decode the whole file once (instead of seeking per excerpt) when excerpts cover this share of it.
_WHOLE_FILE_COVERAGE = 0.5


@dataclass(frozen=True)
class Excerpts:
    """Excerpts of one track: `waves` [n, samples] float32 mono, `starts` [n] seconds, track `duration`.

    A track no longer than one excerpt yields a single (looped) excerpt, so `n` is 1..count.
    """

    waves: np.ndarray
    starts: np.ndarray
    duration: float
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.waves.shape[1] / self.sample_rate

    @property
    def ends(self) -> np.ndarray:
        """End times (s), clipped to the track (a looped short track's excerpt ends with the track)."""
        return np.minimum(self.starts + self.seconds, self.duration)


def _pyav():
    """PyAV, imported on first use (75-90 ms here): WAV, FLAC and AIFF decode through soundfile without it."""
    import av

    return av


def _describe(path: Path) -> str:
    return f"'{path}'"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(f"Cannot read {_describe(path)}: the file does not exist.")
    if path.is_dir():
        raise AudioDecodeError(f"Cannot read {_describe(path)}: it is a folder, not an audio file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(f"Cannot read {_describe(path)}: {exc.strerror or exc}.") from exc
    if size == 0:
        raise AudioDecodeError(f"Cannot read {_describe(path)}: the file is empty (0 bytes).")


def _open(path: Path) -> tuple["av.container.InputContainer", "av.audio.stream.AudioStream"]:
    av = _pyav()
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise AudioDecodeError(
            f"Cannot read {_describe(path)}: it is not a supported audio file or it is corrupt."
        ) from exc
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(f"Cannot read {_describe(path)}: it contains no audio stream.")
    return container, container.streams.audio[0]


def _container_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / _pyav().time_base
    return None


def probe_duration(path: PathLike) -> float:
    """Track length in seconds from container metadata (no decoding unless the container has none)."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _SOUNDFILE_EXTENSIONS:
        try:
            info = soundfile.info(str(path))
            if info.frames > 0 and info.samplerate > 0:
                return info.frames / info.samplerate
        except (RuntimeError, soundfile.LibsndfileError):
            pass  # fall through to PyAV, which also gives the clear error
    container, stream = _open(path)
    try:
        duration = _container_duration(container, stream)
    finally:
        container.close()
    if duration is None:  # e.g. raw streams without a header: count the samples
        duration = len(decode(path, 8000)) / 8000
    return duration


def _decode_soundfile(path: Path, sample_rate: int, offset: float, duration: float | None) -> np.ndarray:
    with soundfile.SoundFile(str(path)) as sf:
        native = sf.samplerate
        start = min(int(round(offset * native)), sf.frames)
        sf.seek(start)
        frames = -1 if duration is None else int(round(duration * native))
        data = sf.read(frames=frames, dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float32)
    if native != sample_rate and len(mono):
        mono = soxr.resample(mono, native, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _decode_pyav(path: Path, sample_rate: int, offset: float, duration: float | None) -> np.ndarray:
    """Decode at the native rate, cut at the exact native sample, downmix, then resample with soxr.

    (soxr on the mono signal measured 5-10x cheaper than FFmpeg's swr on the stereo one here.)
    """
    av = _pyav()
    container, stream = _open(path)
    # Format conversion only (any sample format → planar float); the rate and channels stay native.
    converter = av.AudioResampler(format="fltp")
    chunks: list[np.ndarray] = []
    native_rate: int | None = None
    wanted: int | None = None
    have = 0
    position: int | None = 0  # native-rate index of the next decoded sample
    try:
        stream.thread_type = "AUTO"
        if offset > 0:
            # Time zero is the first decoded frame's timestamp (not stream.start_time: ASF/WMA, for one,
            # report 0 there but start at 93 ms), so seeking lands where a full decode would count.
            first = next(container.decode(stream), None)
            origin = first.time if first is not None and first.time is not None else None
            if origin is None:  # no timestamps: decode from the top and count samples
                container.close()
                return _decode_pyav_linear(path, sample_rate, offset, duration)
            container.seek(int((offset + origin) / stream.time_base), stream=stream, backward=True, any_frame=False)
            position = None  # learnt from the first decoded frame's timestamp
        for frame in container.decode(stream):
            if native_rate is None:
                native_rate = frame.sample_rate or stream.rate or sample_rate
                wanted = None if duration is None else int(round(duration * native_rate))
            if position is None:
                if frame.time is None:  # no timestamps: restart from the top and count samples
                    container.close()
                    return _decode_pyav_linear(path, sample_rate, offset, duration)
                position = int(round(max(0.0, frame.time - origin) * native_rate))
            for out in converter.resample(frame):
                samples = out.to_ndarray().mean(axis=0, dtype=np.float32)
                skip = int(round(offset * native_rate)) - position
                position += len(samples)
                if skip > 0:
                    samples = samples[skip:]
                if len(samples):
                    chunks.append(samples)
                    have += len(samples)
            if wanted is not None and have >= wanted:
                break
    except av.error.FFmpegError as exc:
        if not chunks:
            raise AudioDecodeError(f"Cannot decode {_describe(path)}: the audio data is corrupt.") from exc
        # A damaged tail: keep what decoded cleanly.
    finally:
        container.close()
    if not chunks or native_rate is None:
        return np.zeros(0, np.float32)
    wave = np.concatenate(chunks)
    if wanted is not None:
        wave = wave[:wanted]
    if native_rate != sample_rate:
        wave = soxr.resample(wave, native_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _decode_pyav_linear(path: Path, sample_rate: int, offset: float, duration: float | None) -> np.ndarray:
    """Decode from the start and cut by sample count (streams without timestamps)."""
    wave = _decode_pyav(path, sample_rate, 0.0, None if duration is None else offset + duration)
    return wave[int(round(offset * sample_rate)):]


def decode(path: PathLike, sample_rate: int, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode `duration` seconds (all when None) from `offset` as float32 mono at `sample_rate`.

    Raises AudioDecodeError (one sentence naming the file) when the file is missing, empty,
    not audio, corrupt, or yields no samples at all.
    """
    path = Path(path)
    _check_file(path)
    offset = max(0.0, float(offset))
    wave = None
    if path.suffix.lower() in _SOUNDFILE_EXTENSIONS:
        try:
            wave = _decode_soundfile(path, sample_rate, offset, duration)
        except (RuntimeError, soundfile.LibsndfileError, ValueError):
            wave = None  # e.g. an exotic WAV codec: let FFmpeg try
    if wave is None:
        if offset > 0 and path.suffix.lower() in _LINEAR_EXTENSIONS:
            wave = _decode_pyav_linear(path, sample_rate, offset, duration)
        else:
            wave = _decode_pyav(path, sample_rate, offset, duration)
    if len(wave) == 0 and offset == 0.0:
        raise AudioDecodeError(f"Cannot decode {_describe(path)}: it contains no audio samples.")
    if not np.all(np.isfinite(wave)):
        wave = np.nan_to_num(wave, nan=0.0, posinf=0.0, neginf=0.0)
    return wave


def excerpt_starts(duration: float, seconds: float, count: int) -> np.ndarray:
    """Start times (s) of `count` excerpts of `seconds` spread evenly over a track of `duration`.

    Excerpts are centred in `count` equal segments of the track, leaving out a margin at each end
    (5%, at most 15 s) when the track is long enough; a track no longer than one excerpt gets one.
    """
    if count < 1:
        raise ValueError("excerpt count must be at least 1")
    if duration <= seconds:
        return np.zeros(1)
    margin = min(_EDGE_FRACTION * duration, _EDGE_MAX_SECONDS)
    if duration - 2 * margin < seconds:
        margin = (duration - seconds) / 2
    usable = duration - 2 * margin
    centres = margin + (np.arange(count) + 0.5) * usable / count
    return np.clip(centres - seconds / 2, 0.0, duration - seconds)


def resample_rows(waves: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Each row of mono waves [B, samples] resampled with soxr (its default HQ quality): the teachers' input at
    their own rate, in training and in prediction alike (a 32-kHz teacher fed 16-kHz audio hears nothing above 8 kHz)."""
    waves = np.asarray(waves, dtype=np.float32)
    if source_rate == target_rate:
        return waves
    return np.stack([soxr.resample(w, source_rate, target_rate) for w in waves]).astype(np.float32, copy=False)


def fit_wave_length(wave: np.ndarray, samples: int) -> np.ndarray:
    """Trim to `samples`, or loop a short (non-empty) wave to fill it; empty → silence."""
    if len(wave) >= samples:
        return wave[:samples]
    if len(wave) == 0:
        return np.zeros(samples, np.float32)
    return np.resize(wave, samples).astype(np.float32, copy=False)


def load_excerpts(path: PathLike, sample_rate: int = 16000, seconds: float = 10.0, count: int = 3) -> Excerpts:
    """Decode `count` excerpts of `seconds` spread over the track (see `excerpt_starts`).

    Long files are decoded only around each excerpt (seeking); short ones once as a whole.
    Tracks shorter than one excerpt are looped to fill it.
    """
    path = Path(path)
    duration = probe_duration(path)
    starts = excerpt_starts(duration, seconds, count)
    samples = int(round(seconds * sample_rate))
    seekable = path.suffix.lower() not in _LINEAR_EXTENSIONS
    if len(starts) == 1 or not seekable or len(starts) * seconds >= _WHOLE_FILE_COVERAGE * duration:
        whole = decode(path, sample_rate)
        decoded = len(whole) / sample_rate
        # what decodes, not what the header claims: short tracks may run longer, cut-short files end sooner
        duration = max(duration, decoded) if duration <= seconds else min(duration, max(decoded, seconds))
        pieces = [whole[int(round(s * sample_rate)):] for s in starts]
        if len(starts) > 1 and len(pieces[-1]) < samples:  # metadata overstated the length
            starts = excerpt_starts(len(whole) / sample_rate, seconds, count)
            pieces = [whole[int(round(s * sample_rate)):] for s in starts]
        waves = [fit_wave_length(p, samples) for p in pieces]
    else:
        waves = []
        for start in starts:
            piece = decode(path, sample_rate, offset=float(start), duration=seconds)
            if len(piece) < samples and waves:  # ran off the real end: reuse what we have, looped
                duration = min(duration, float(start) + len(piece) / sample_rate)
                piece = np.concatenate([waves[-1], piece])[-samples:] if len(piece) else waves[-1]
            waves.append(fit_wave_length(piece, samples))
    return Excerpts(
        waves=np.stack(waves).astype(np.float32, copy=False),
        starts=np.asarray(starts, dtype=np.float64),
        duration=float(duration),
        sample_rate=sample_rate,
    )
