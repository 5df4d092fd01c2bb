"""Distillation crops: augmented 10.24-s excerpts of the unlabelled corpus, rendered once to disk.

Each shard holds `int16` waveforms at 16 kHz ([N, samples], a memory-mapped .npy) and a JSON list saying
where each crop came from and how it was augmented. Teacher targets (`targets.py`) and the student's fbank
are computed from exactly these waveforms, so a teacher always labels the audio the student hears —
including the mixes of two clips (CED and EfficientAT do the same: targets are computed on the
augmented input, not on the clean one).

Augmentations (each crop gets one clean and `variants - 1` augmented renderings):
gain (±6 dB), a random smooth EQ curve (±6 dB over 8 bands), a pitch/tempo shift by resampling
(±2 semitones), a random offset inside the file, and with probability `mix_probability` a mix with
another clip of the same shard (weight 0.5–0.8 on the first).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from sentio_ml.features import FeatureConfig

SAMPLE_RATE = 16000
CROP_SAMPLES = FeatureConfig().excerpt_samples  # 10.255 s: exactly 1024 AST frames, as at inference
INT16_SCALE = 32767.0


@dataclass(frozen=True)
class CropPlan:
    file: str
    start: float  # seconds
    variant: int  # 0 = clean


def plan_crops(files: Sequence[tuple[str, float]], crop_seconds: float, max_per_file: int, variants: int,
               rng: np.random.Generator) -> list[CropPlan]:
    """Non-overlapping crop positions (random phase) per (file, duration), at most `max_per_file` spread
    over the file, each rendered `variants` times."""
    plans = []
    for path, duration in files:
        slots = max(1, int(duration // crop_seconds))
        phase = rng.uniform(0, max(0.0, duration - slots * crop_seconds))
        picked = np.linspace(0, slots - 1, min(slots, max_per_file)).round().astype(int)
        for slot in np.unique(picked):
            for variant in range(variants):
                plans.append(CropPlan(path, float(phase + slot * crop_seconds), variant))
    return plans


def random_eq(wave: np.ndarray, rng: np.random.Generator, max_db: float = 6.0, bands: int = 8) -> np.ndarray:
    """Multiply the spectrum by a smooth random gain curve (log-spaced control points)."""
    spectrum = np.fft.rfft(wave)
    freqs = np.linspace(0, 1, len(spectrum))
    points = np.concatenate([[0.0], np.geomspace(1e-3, 1, bands)])
    gains_db = rng.uniform(-max_db, max_db, len(points))
    curve = 10 ** (np.interp(freqs, points, gains_db) / 20)
    return np.fft.irfft(spectrum * curve, n=len(wave)).astype(np.float32)


def pitch_shift(wave: np.ndarray, semitones: float) -> np.ndarray:
    """Resample so the pitch moves by `semitones` (tempo moves with it), as a speed change of a tape."""
    import soxr

    ratio = 2 ** (semitones / 12)
    return soxr.resample(wave, SAMPLE_RATE * ratio, SAMPLE_RATE).astype(np.float32)


def take(wave: np.ndarray, start: float, samples: int) -> np.ndarray:
    """`samples` from `start` seconds on, looped when the file is shorter."""
    first = int(start * SAMPLE_RATE)
    piece = wave[first:first + samples]
    if len(piece) < samples:
        piece = np.resize(wave if len(wave) else np.zeros(1, np.float32), samples)
    return piece.astype(np.float32, copy=False)


def render(wave: np.ndarray, plan: CropPlan, partner: np.ndarray | None, rng: np.random.Generator,
           mix_probability: float) -> tuple[np.ndarray, dict]:
    """One crop of `wave` (16 kHz mono) per `plan`; augmented unless plan.variant == 0."""
    if plan.variant == 0:
        return take(wave, plan.start, CROP_SAMPLES), {}
    semitones = float(rng.uniform(-2, 2))
    ratio = 2 ** (semitones / 12)
    offset = float(rng.uniform(-2.0, 2.0))
    source = take(wave, max(0.0, plan.start + offset), int(CROP_SAMPLES * ratio) + 64)
    crop = pitch_shift(source, semitones)[:CROP_SAMPLES]
    crop = np.pad(crop, (0, CROP_SAMPLES - len(crop))) if len(crop) < CROP_SAMPLES else crop
    crop = random_eq(crop, rng)
    info: dict = {"semitones": round(semitones, 3), "offset": round(offset, 3)}
    if partner is not None and rng.random() < mix_probability:
        weight = float(rng.uniform(0.5, 0.8))
        crop = weight * crop + (1 - weight) * partner
        info["mix_weight"] = round(weight, 3)
    gain_db = float(rng.uniform(-6, 6))
    crop = crop * 10 ** (gain_db / 20)
    info["gain_db"] = round(gain_db, 2)
    return crop.astype(np.float32), info


def to_int16(crop: np.ndarray) -> np.ndarray:
    peak = float(np.abs(crop).max(initial=0.0))
    if peak > 1.0:  # keep the shape of a hot mix rather than clipping it
        crop = crop / peak
    return np.round(crop * INT16_SCALE).astype(np.int16)


def render_shard(plans: Sequence[CropPlan], out: Path, seed: int, mix_probability: float = 0.35,
                 decode: Callable[[str, float, float], np.ndarray] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
    """Render `plans` into `out`.npy (int16 [N, CROP_SAMPLES]) and `out`.json; returns crops written.
    Undecodable files are skipped (listed in the JSON's "skipped")."""
    from sentio_ml.audio import decode as decode_file
    from sentio_ml.errors import AudioDecodeError

    decode = decode or (lambda path, offset, duration: decode_file(path, SAMPLE_RATE, offset, duration))
    rng = np.random.default_rng(seed)
    waves = np.lib.format.open_memmap(out.with_suffix(".tmp.npy"), mode="w+", dtype=np.int16,
                                      shape=(len(plans), CROP_SAMPLES))
    records, skipped, row = [], [], 0
    partner: np.ndarray | None = None  # the previous clean crop: mixes pair clips of one shard
    window = CROP_SAMPLES / SAMPLE_RATE * 1.2 + 6.0  # room for the random offset and a slowed-down pitch shift
    for index, plan in enumerate(plans):
        offset = max(0.0, plan.start - 3.0)
        try:  # only the crop's neighbourhood is decoded: soundtracks run for minutes
            wave = decode(plan.file, offset, window)
        except AudioDecodeError as exc:
            skipped.append({"file": plan.file, "reason": str(exc)})
            continue
        local = CropPlan(plan.file, plan.start - offset, plan.variant)
        crop, info = render(wave, local, partner, rng, mix_probability)
        waves[row] = to_int16(crop)
        records.append({"file": plan.file, "start": round(plan.start, 3), "variant": plan.variant, **info})
        row += 1
        if plan.variant == 0:
            partner = take(wave, local.start, CROP_SAMPLES)
        if progress:
            progress(index + 1, len(plans))
    waves.flush()
    del waves
    final = np.load(out.with_suffix(".tmp.npy"), mmap_mode="r")[:row]
    np.save(out.with_suffix(".part.npy"), final)
    out.with_suffix(".part.npy").replace(out.with_suffix(".npy"))  # complete shards only under the final name
    out.with_suffix(".tmp.npy").unlink()
    out.with_suffix(".json").write_text(json.dumps({"crops": records, "skipped": skipped}))
    return row


def shard_paths(directory: Path) -> list[Path]:
    """The rendered shards of a crops folder (their .npy files), in a stable order."""
    return sorted(p for p in directory.glob("shard-*.npy") if "." not in p.stem)  # not .tmp/.fbank/.<teacher>


def load_waves(shard: Path) -> np.ndarray:
    return np.load(shard, mmap_mode="r")


def as_float(waves: np.ndarray) -> np.ndarray:
    return np.asarray(waves, dtype=np.float32) / INT16_SCALE


def iter_batches(waves: np.ndarray, batch: int) -> Iterable[tuple[int, np.ndarray]]:
    for first in range(0, len(waves), batch):
        yield first, as_float(waves[first:first + batch])
