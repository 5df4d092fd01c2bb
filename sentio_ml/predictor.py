"""Batched prediction over many files: decoding + features in a thread pool, overlapped with the model.

Worker threads decode each file's excerpts (`sentio_ml.audio.load_excerpts`) and compute the views the
model declares (`sentio_ml.composition.VIEWS`: the fbank, descriptors, the musicnn embedding...); the calling thread
gathers excerpts from finished files into batches of `batch_size` excerpts and runs the model under
`torch.inference_mode`. Unless switched off, each track's middle excerpt is rated for "is it music at all"
(`sentio_ml.music_detector`, mn04): by the model's own mn04 part when it has one (the default's), else by each
worker on one core. Results come back in completion
order; a file that cannot be decoded comes back with `.error` set, never as an exception.
"""
from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from sentio_ml.audio import load_excerpts
from sentio_ml.bundle import Bundle, load_bundle, model_id
from sentio_ml.composition import VIEWS, Composition, TeacherPart, views_in_order
from sentio_ml.devices import PRECISIONS, resolve_device
from sentio_ml.errors import AudioDecodeError, SentioMLError
from sentio_ml.mood import mood_word, quadrant
from sentio_ml.music_detector import DETECTOR_TEACHER, MUSIC_LABEL, MusicDetector, load_music_detector

log = logging.getLogger(__name__)

# precision="auto" lowers precision only for models with at least this many Linear weights, where it pays:
# int8 dynamic quantisation of nn.Linear on the CPU, bf16 autocast on a CUDA GPU (fp16 where it has no bf16);
# fp32 otherwise. Measured by bench/predict_throughput.py (README "Performance"): int8 halves `base` on the CPU
# (86 M weights: 4.0 vs 8.6 s per track) but brings nothing to the shipped models (default 0.253 vs 0.257 s, fast
# 0.102 vs 0.084 s per track), and its activation scales are per batch, so a track's values would depend on what
# shares its batch (by up to ~1e-3 after the default's calibration: copies of one file would no longer match).
# Its predictions differ from fp32 by ~1e-2 at most. On an H100 (bench/gpu_throughput.py, README "On a GPU") bf16
# ran `base`'s network 7.5x faster than fp32, but slowed `fast`'s small one and moved the hybrid's values by 0.017,
# and both shipped models are bound by decoding on the CPU there anyway.
QUANTIZE_AUTO_MIN_WEIGHTS = 20_000_000
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# batch_size=None: excerpts per model call by device. On an H100 32 beat 8 end to end for every model at its auto
# precision (fast 72.1 vs 63.7 tracks/s, the hybrid 7.1 vs 6.4, base bf16 54.1 vs 48.3) and 128 gained nothing
# (bench/gpu_throughput.py); on the 2-core CPU 8 is the measured best (README "Performance").
AUTO_BATCH_SIZES = {"cuda": 32}
AUTO_BATCH_SIZE = 8
# torch's own intra-op thread count, read at import (before any decoding pool sets its threads to 1).
_DEFAULT_THREADS = torch.get_num_threads()
# Seconds between cancellation checks while waiting for decoders.
_POLL_SECONDS = 0.05


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class ExcerptPrediction:
    start: float
    end: float
    valence: float
    arousal: float


@dataclass
class TrackPrediction:
    """One file's result: track valence/arousal (mean over excerpts) in [0, 1], or `error` (one sentence).
    `music` is P(Music) of the middle excerpt (below `music_detector.NOT_MUSIC_BELOW`: not music), None when
    the check is off or its weights are missing."""

    path: Path
    valence: float | None = None
    arousal: float | None = None
    mood: str | None = None
    quadrant: int | None = None
    duration: float | None = None
    excerpts: list[ExcerptPrediction] = field(default_factory=list)
    music: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


def _linear_weights(model: nn.Module) -> int:
    return sum(module.weight.numel() for module in model.modules() if isinstance(module, nn.Linear))


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` with every nn.Linear dynamically quantised to int8 (CPU only; the musicnn view stays
    fp32: it is no part of the model)."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch 2.13 flags the quantised-tensor API as deprecated; it still works
        warnings.simplefilter("ignore")
        quantized = quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
    return quantized


class _MusicTap:
    """P(Music) from the model's own pass of the music detector's tagger (a `TeacherPart` of mn04 reading the
    32-kHz excerpts, as the default's probe does): the detector's input and network, so the same value, without a
    second mn04 pass per track, and on the model's device (in the model's precision: under int8 or bf16 the value
    moves slightly, as the model's do). A forward hook keeps each batch row's Music logit."""

    def __init__(self, part: TeacherPart) -> None:
        self.index = part.teacher.logit_names.index(MUSIC_LABEL)
        self.logits: list[torch.Tensor] = []
        part.teacher.register_forward_hook(self._keep)

    def _keep(self, _module: nn.Module, _inputs: Any, outputs: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.logits.append(outputs[1][:, self.index].float())

    def reset(self) -> None:
        """Forget rows left over from a batch that failed."""
        self.logits.clear()

    def take(self) -> np.ndarray:
        """P(Music) of every row of the batch just run (and forget them)."""
        rows = torch.sigmoid(torch.cat(self.logits)).cpu().numpy()
        self.logits.clear()
        return rows

    @classmethod
    def find(cls, model: nn.Module) -> "_MusicTap | None":
        for part in model.modules():
            if isinstance(part, TeacherPart) and part.teacher_name == DETECTOR_TEACHER:
                return cls(part)
        return None


@dataclass
class _Decoded:
    """A decoded file waiting for (part of) its excerpts to go through the model."""

    path: Path
    inputs: dict[str, torch.Tensor]  # the model's keyword inputs, one row per excerpt (a composition's views)
    starts: np.ndarray
    ends: np.ndarray
    duration: float
    music: float | None = None
    next_row: int = 0
    outputs: list[np.ndarray] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return len(self.starts) - self.next_row


class Predictor:
    """Predicts valence/arousal for audio files with a bundle's model.

    batch_size: excerpts per model call (None: AUTO_BATCH_SIZES for the device, else AUTO_BATCH_SIZE).
    precision: one of PRECISIONS ("none" = fp32): "auto" is int8 on the CPU and bf16 on a GPU for large models only
    (QUANTIZE_AUTO_MIN_WEIGHTS), fp32 otherwise; bf16/fp16 autocast the model's matrix products and keep its
    outputs fp32. excerpts / excerpt_seconds: override the bundle's defaults.
    threads: torch intra-op threads for the model on the CPU (default: torch's count, one per core,
    minus the decoding threads, at least 1); decoding threads use one each, like DataLoader workers —
    on a busy machine oversubscribed OpenMP teams made the fbank 8x slower here.
    detect_music: rate each track's middle excerpt with the music detector (`TrackPrediction.music`).
    """

    def __init__(
        self,
        bundle: Bundle | str | os.PathLike | None,
        device: str = "auto",
        batch_size: int | None = None,
        precision: str = "auto",
        decode_workers: int = 2,
        excerpts: int | None = None,
        excerpt_seconds: float | None = None,
        threads: int | None = None,
        detect_music: bool = True,
    ) -> None:
        if not isinstance(bundle, Bundle):
            bundle = load_bundle(bundle)
        if batch_size is not None and batch_size < 1:
            raise SentioMLError(f"The batch size must be at least 1 (got {batch_size}).")
        if excerpts is not None and excerpts < 1:
            raise SentioMLError(f"The number of excerpts must be at least 1 (got {excerpts}).")
        if excerpt_seconds is not None and excerpt_seconds <= 0:
            raise SentioMLError(f"The excerpt length must be positive (got {excerpt_seconds} s).")
        self.bundle = bundle
        self.device = resolve_device(device)
        self.device_name = _device_label(self.device)
        self.batch_size = int(batch_size or AUTO_BATCH_SIZES.get(self.device.type, AUTO_BATCH_SIZE))
        self.decode_workers = max(1, int(decode_workers))
        # Leave cores to the decoding threads that run alongside the model (2 cores, 2 workers → 1 thread:
        # 0.39 s/track vs 0.56 s with 2 oversubscribed threads, bench/predict_throughput.py).
        self.threads = max(1, int(threads or (_DEFAULT_THREADS - self.decode_workers)))
        self.excerpts = int(excerpts or bundle.excerpts)
        self.excerpt_seconds = float(excerpt_seconds or bundle.excerpt_seconds)
        self.feature_config = bundle.feature_config
        self.model_id = model_id(bundle)
        declared = bundle.model if isinstance(bundle.model, Composition) else Composition.from_hybrid(bundle.model)
        self.precision = self._resolve_precision(precision, declared)
        self.quantized = self.precision == "int8"
        self.autocast_dtype = _AUTOCAST_DTYPES.get(self.precision)
        model = quantize_int8(declared) if self.quantized else copy.deepcopy(declared)
        self.model = model.to(self.device).eval()
        self.views = views_in_order(declared.views)
        for name in self.views:  # the views' own weights: a missing file is one sentence now, not one per track
            if VIEWS[name].prepare is not None:
                VIEWS[name].prepare()
        # slow views (musicnn) run beside the others, so a lone track uses both cores (one track end to end:
        # 0.60 -> 0.39-0.42 s on a loaded host, throughput unchanged; bench/default_model_latency.py).
        # Owned by the Predictor, so no decoding task can outlive it; idle threads end with it.
        self._side_pool = (ThreadPoolExecutor(self.decode_workers, thread_name_prefix="sentio-views",
                                              initializer=torch.set_num_threads, initargs=(1,))
                           if any(VIEWS[name].slow for name in self.views) else None)
        self._music_tap = _MusicTap.find(self.model) if detect_music else None
        # loaded here, not in the first worker: its one warning (weights missing) comes before any progress bar
        self.music_detector: MusicDetector | None = (
            load_music_detector() if detect_music and self._music_tap is None else None)

    def _resolve_precision(self, precision: str, model: nn.Module) -> str:
        """The precision that runs: `precision` checked against the device, or auto's choice (see PRECISIONS)."""
        word = str(precision).strip().lower()
        choice = "fp32" if word == "none" else word
        if choice not in PRECISIONS:
            raise SentioMLError(f"Unknown precision '{precision}'; use {', '.join(PRECISIONS)}.")
        device = self.device.type
        if choice == "auto":
            if _linear_weights(model) < QUANTIZE_AUTO_MIN_WEIGHTS or device == "mps":
                return "fp32"
            if device == "cpu":
                return "int8"
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if choice == "int8" and device != "cpu":
            raise SentioMLError(f"int8 quantisation runs on the CPU only, not on {self.device_name}; use bf16 or fp16.")
        if choice == "fp16" and device == "cpu":
            raise SentioMLError("fp16 runs on GPUs only; on the CPU use int8 or bf16.")
        if choice == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
            raise SentioMLError(f"{self.device_name} has no bf16 support; use fp16 or fp32.")
        return choice

    # -- worker side ---------------------------------------------------------------------------
    def _prepare(self, path: Path, stop: threading.Event) -> _Decoded | TrackPrediction | None:
        if stop.is_set():
            return None
        try:
            ex = load_excerpts(
                path, sample_rate=self.feature_config.sample_rate, seconds=self.excerpt_seconds, count=self.excerpts
            )
            inputs = self._inputs(ex.waves)
            music = self._music_probability(ex.waves, ex.sample_rate)
        except AudioDecodeError as exc:
            return TrackPrediction(path=path, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop a library run
            log.exception("unexpected failure preparing %s", path)
            return TrackPrediction(path=path, error=f"Cannot analyse '{path}': {type(exc).__name__}: {exc}.")
        return _Decoded(path=path, inputs=inputs, starts=ex.starts, ends=ex.ends, duration=ex.duration, music=music)

    def _music_probability(self, waves: np.ndarray, sample_rate: int) -> float | None:
        """P(Music) of the middle excerpt (already decoded: no second decode), or None when the check is off."""
        if self.music_detector is None:
            return None
        return self.music_detector.probability(waves[len(waves) // 2], sample_rate)

    def _inputs(self, waves: np.ndarray) -> dict[str, torch.Tensor]:
        """Every view the model reads, for one track's excerpts (`sentio_ml.composition.VIEWS`)."""
        computed: dict[str, torch.Tensor] = {}
        slow = {name: self._side_pool.submit(VIEWS[name].compute, waves, self.feature_config, computed)
                for name in self.views if VIEWS[name].slow and not VIEWS[name].needs and self._side_pool}
        for name in self.views:
            if name not in slow:
                computed[name] = VIEWS[name].compute(waves, self.feature_config, computed)
        computed.update({name: pending.result() for name, pending in slow.items()})
        return computed

    # -- model side ----------------------------------------------------------------------------
    def _run_batch(self, ready: deque[_Decoded]) -> list[TrackPrediction]:
        """Run up to batch_size excerpts from the front of `ready`; return the tracks that completed."""
        rows: dict[str, list[torch.Tensor]] = {}
        owners: list[tuple[_Decoded, int]] = []
        count = 0
        for item in ready:
            take = min(item.remaining, self.batch_size - count)
            if take <= 0:
                break
            for name, value in item.inputs.items():
                rows.setdefault(name, []).append(value[item.next_row:item.next_row + take])
            owners.append((item, take))
            item.next_row += take
            count += take
        try:
            if self._music_tap is not None:
                self._music_tap.reset()
            batch = {name: torch.cat(parts).to(self.device, non_blocking=True) for name, parts in rows.items()}
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.autocast_dtype,
                                                        enabled=self.autocast_dtype is not None):
                out = self.model(**batch).float().cpu().numpy()
        except torch.OutOfMemoryError as exc:
            raise SentioMLError(
                f"The model ran out of memory on {self.device_name} with {count} excerpts per batch; "
                "use a smaller --batch-size or --device cpu."
            ) from exc
        except RuntimeError as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SentioMLError(f"The model failed on {self.device_name}: {first_line}.") from exc
        music = self._music_tap.take() if self._music_tap is not None else None
        offset = 0
        for item, take in owners:
            item.outputs.append(out[offset:offset + take])
            first, middle = item.next_row - take, len(item.starts) // 2  # this batch holds rows first.. of the item
            if music is not None and first <= middle < item.next_row:
                item.music = float(music[offset + middle - first])
            offset += take
        finished = []
        while ready and ready[0].remaining == 0:
            finished.append(self._finish(ready.popleft()))
        return finished

    def _finish(self, item: _Decoded) -> TrackPrediction:
        values = np.concatenate(item.outputs).astype(np.float64)
        valence, arousal = (float(v) for v in values.mean(axis=0))
        excerpts = [
            ExcerptPrediction(
                start=float(start),
                end=float(end),
                valence=float(v),
                arousal=float(a),
            )
            for start, end, (v, a) in zip(item.starts, item.ends, values)
        ]
        return TrackPrediction(
            path=item.path,
            valence=valence,
            arousal=arousal,
            mood=mood_word(valence, arousal),
            quadrant=quadrant(valence, arousal),
            duration=item.duration,
            excerpts=excerpts,
            music=item.music,
        )

    def predict_iter(self, paths: Iterable[str | os.PathLike], cancel: CancelToken | None = None) -> Iterator[TrackPrediction]:
        """Yield one TrackPrediction per path, in completion order; stops promptly when `cancel` is set."""
        stop = threading.Event()
        source = iter(Path(p) for p in paths)
        max_in_flight = 2 * self.decode_workers + max(2, self.batch_size // max(1, self.excerpts))
        pending: dict[Future, Path] = {}
        ready: deque[_Decoded] = deque()
        exhausted = False

        def cancelled() -> bool:
            return stop.is_set() or (cancel is not None and cancel.is_set())

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)  # affects this (the inference) thread
        # numpy/scipy's OpenBLAS (librosa's descriptors, resampling) would start a team of threads per call in
        # every decoding worker; oversubscribed, they spin: one each, like the torch threads (0.18 vs 0.26 s per
        # track with the default model, bench/predict_throughput.py). Process-wide while this runs; restored after.
        blas_limits = threadpool_limits(limits=1, user_api="blas")
        pool = ThreadPoolExecutor(self.decode_workers, thread_name_prefix="sentio-decode",
                                  initializer=torch.set_num_threads, initargs=(1,))
        try:
            while not cancelled():
                while not exhausted and len(pending) < max_in_flight:
                    path = next(source, None)
                    if path is None:
                        exhausted = True
                    else:
                        pending[pool.submit(self._prepare, path, stop)] = path
                buffered = sum(item.remaining for item in ready)
                if pending and buffered < self.batch_size:
                    done, _ = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                    for future in done:
                        pending.pop(future)
                        result = future.result()
                        if isinstance(result, TrackPrediction):
                            yield result
                            if cancelled():
                                return
                        elif result is not None:
                            ready.append(result)
                    continue
                if ready and (buffered >= self.batch_size or not pending):
                    for prediction in self._run_batch(ready):
                        if cancelled():
                            return
                        yield prediction
                elif not pending and exhausted:
                    return
        finally:
            stop.set()
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            blas_limits.restore_original_limits()

    def predict(self, paths: Iterable[str | os.PathLike], cancel: CancelToken | None = None) -> list[TrackPrediction]:
        """All predictions, in the order of `paths` (duplicates each get their own entry)."""
        paths = [Path(p) for p in paths]
        by_path: dict[Path, list[TrackPrediction]] = {}
        for prediction in self.predict_iter(paths, cancel=cancel):
            by_path.setdefault(prediction.path, []).append(prediction)
        return [by_path[p].pop(0) for p in paths if by_path.get(p)]

