"""Helpers for ML tests: synthesise tracks in temp dirs (written with soundfile or PyAV's encoders)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile


def chirp(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    """[samples, channels] float32: a slow chirp plus a little noise, distinct per channel."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    base = 0.4 * np.sin(2 * np.pi * (200 * t + 20 * t**2))
    data = np.stack([base * (1 - 0.1 * c) + 0.02 * rng.standard_normal(len(t)) for c in range(channels)], axis=1)
    return data.astype(np.float32)


def write_soundfile(path: Path, data: np.ndarray, rate: int = 44100) -> Path:
    soundfile.write(str(path), data, rate)
    return path


def write_av(path: Path, data: np.ndarray, rate: int = 44100, codec: str = "libmp3lame",
             container_format: str | None = None, bit_rate: int | None = None) -> Path:
    """Encode [samples, channels] float audio with PyAV (e.g. MP3 via libmp3lame)."""
    channels = data.shape[1]
    layout = {1: "mono", 2: "stereo"}[channels]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        planar = np.ascontiguousarray(data.T.astype(np.float32))
        step = 1152 * 16
        for i in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, i:i + step]), format="fltp", layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
