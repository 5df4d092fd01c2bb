"""Throughput and memory on a GPU: tracks/s end to end and excerpts/s of the model alone, per batch size and precision.

Builds 4-minute 44.1 kHz stereo FLAC tracks from the Ogg recordings in ../shared/data/music with soundfile alone
(so it runs where PyAV is not installed), then, for the shipped bundles and AST `base` (random weights: timing only):

- end to end: `Predictor.predict` over the tracks (decoding, fbank and the music check on --workers CPU threads, the
  model on the device), in tracks/s and tracks/hour, with the device's peak memory;
- the model alone: its forward on batches of real excerpts' views already on the device, in excerpts/s;
- agreement: each precision's track values against fp32 on the CPU (the largest |difference| over --check-tracks).

    python bench/gpu_throughput.py                                   # on a CUDA machine
    python bench/gpu_throughput.py --device cpu --presets fast --tracks 4 --batch-sizes 8 --check-tracks 2  # a dry run
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
import soxr
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

from predict_throughput import RATE, TRACK_SECONDS, random_bundle  # noqa: E402

from sentio_ml.audio import load_excerpts  # noqa: E402
from sentio_ml.bundle import Bundle  # noqa: E402
from sentio_ml.composition import VIEWS, views_in_order  # noqa: E402
from sentio_ml.predictor import Predictor  # noqa: E402


def build_tracks(music_dir: Path, out_dir: Path, count: int) -> list[Path]:
    """`count` 4-minute stereo FLACs, each a different stretch of the looped recordings in music_dir."""
    pieces = []
    for path in sorted(music_dir.glob("*.ogg")):
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        data = data[:, :2] if data.shape[1] >= 2 else np.repeat(data, 2, axis=1)
        pieces.append(soxr.resample(data, rate, RATE) if rate != RATE else data)
    if not pieces:
        sys.exit(f"no .ogg files in {music_dir} (needs ../shared/data/music, or --music)")
    pool = np.concatenate(pieces)
    samples = TRACK_SECONDS * RATE

    def write(index: int) -> Path:
        start = (index * 37 * RATE) % len(pool)
        path = out_dir / f"track_{index:03d}.flac"
        soundfile.write(str(path), pool[(start + np.arange(samples)) % len(pool)], RATE, subtype="PCM_16")
        return path

    with ThreadPoolExecutor(os.cpu_count() or 1) as workers:
        return list(workers.map(write, range(count)))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def end_to_end(bundle: Bundle, paths: list[Path], device: str, precision: str, batch: int, workers: int) -> dict:
    predictor = Predictor(bundle, device=device, precision=precision, batch_size=batch, decode_workers=workers)
    predictor.predict(paths[:workers])  # warm-up: kernels, allocator, the views' first calls
    reset_peak(predictor.device)
    started = time.perf_counter()
    results = predictor.predict(paths)
    synchronize(predictor.device)
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results if not r.ok]
    if failed:
        sys.exit(f"prediction failed: {failed[0]}")
    return {"tracks_per_s": len(paths) / elapsed, "peak_mib": peak_mib(predictor.device),
            "device_name": predictor.device_name,
            "values": {str(r.path): (r.valence, r.arousal) for r in results}}


def model_alone(bundle: Bundle, paths: list[Path], device: str, precision: str, batch: int, repeats: int) -> dict:
    """The model's forward on `batch` real excerpts whose views are already on the device (decoding excluded)."""
    predictor = Predictor(bundle, device=device, precision=precision, batch_size=batch, detect_music=False)
    config = bundle.feature_config
    waves = np.concatenate([load_excerpts(p, config.sample_rate, bundle.excerpt_seconds, bundle.excerpts).waves
                            for p in paths[:4]])
    waves = waves[np.arange(batch) % len(waves)]
    views: dict[str, torch.Tensor] = {}
    for name in views_in_order(bundle.model.views):
        views[name] = VIEWS[name].compute(waves, config, views)
    inputs = {name: views[name].to(predictor.device) for name in bundle.model.views}
    autocast = predictor.autocast_dtype
    model = predictor.model

    def forward() -> None:
        with torch.inference_mode(), torch.autocast(predictor.device.type, dtype=autocast, enabled=autocast is not None):
            model(**inputs)

    for _ in range(3):
        forward()
    synchronize(predictor.device)
    reset_peak(predictor.device)
    started = time.perf_counter()
    for _ in range(repeats):
        forward()
    synchronize(predictor.device)
    elapsed = time.perf_counter() - started
    return {"excerpts_per_s": batch * repeats / elapsed, "ms_per_batch": 1000 * elapsed / repeats,
            "peak_mib": peak_mib(predictor.device)}


def largest_difference(values: dict, reference: dict) -> float:
    common = [key for key in reference if key in values]
    return max(abs(a - b) for key in common for a, b in zip(values[key], reference[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, cpu for a dry run")
    parser.add_argument("--presets", default="fast,default,base", help="bundles (fast, default) and encoder presets")
    parser.add_argument("--precisions", default="fp32,bf16", help="fp32, bf16, fp16 (int8: CPU only)")
    parser.add_argument("--batch-sizes", default="8,32,128", help="excerpts per model call, end to end")
    parser.add_argument("--model-batch-sizes", default="1,8,32,128", help="excerpts per call, model alone")
    parser.add_argument("--tracks", type=int, default=96, help="4-minute tracks timed per setting (default 96)")
    parser.add_argument("--check-tracks", type=int, default=8, help="tracks compared with fp32 on the CPU (default 8)")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2),
                        help="decoding threads (default: the cores minus 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed model calls per batch size (default 5)")
    parser.add_argument("--music", type=Path, default=REPO.parent / "shared" / "data" / "music")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    presets = args.presets.split(",")
    precisions = args.precisions.split(",")
    batches = [int(b) for b in args.batch_sizes.split(",")]
    model_batches = [int(b) for b in args.model_batch_sizes.split(",")]

    report: dict = {"command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]), "torch": torch.__version__,
                    "cpu_cores": os.cpu_count(), "workers": args.workers, "rows": []}
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        report["gpu"] = torch.cuda.get_device_name(torch.device(args.device))
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {args.workers} decoding workers, "
          f"{report.get('gpu', args.device)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="sentio-gpu-bench-") as folder:
        started = time.perf_counter()
        paths = build_tracks(args.music, Path(folder), args.tracks)
        print(f"built {len(paths)} x {TRACK_SECONDS // 60}-minute FLACs in {time.perf_counter() - started:.1f} s",
              flush=True)
        for preset in presets:
            bundle = random_bundle(preset)
            cpu = end_to_end(bundle, paths[:args.check_tracks], "cpu", "fp32", 8, args.workers)["values"]
            for precision in precisions:
                for batch in model_batches:
                    alone = model_alone(bundle, paths, args.device, precision, batch, args.repeats)
                    row = {"preset": preset, "precision": precision, "batch": batch, "stage": "model alone", **alone}
                    report["rows"].append(row)
                    print(f"{preset:7s} {precision} model alone  batch {batch:4d}: {alone['excerpts_per_s']:9.0f} "
                          f"excerpts/s, {alone['ms_per_batch']:8.2f} ms/batch, peak {alone['peak_mib'] or 0:8.0f} MiB",
                          flush=True)
                for batch in batches:
                    run = end_to_end(bundle, paths, args.device, precision, batch, args.workers)
                    difference = largest_difference(run.pop("values"), cpu)
                    row = {"preset": preset, "precision": precision, "batch": batch, "stage": "end to end",
                           "tracks_per_hour": 3600 * run["tracks_per_s"], "max_diff_vs_cpu_fp32": difference, **run}
                    report["rows"].append(row)
                    print(f"{preset:7s} {precision} end to end   batch {batch:4d}: {run['tracks_per_s']:9.1f} "
                          f"tracks/s ({3600 * run['tracks_per_s']:,.0f}/h), peak {run['peak_mib'] or 0:8.0f} MiB, "
                          f"max |diff| vs CPU fp32 {difference:.2e}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    def cell(row: dict, key: str, form: str) -> str:
        return "-" if row.get(key) is None else format(row[key], form)

    print("\n| preset | precision | stage | batch | excerpts/s | tracks/s | tracks/hour | peak MiB | max diff vs CPU fp32 |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in report["rows"]:
        print(f"| {r['preset']} | {r['precision']} | {r['stage']} | {r['batch']} | {cell(r, 'excerpts_per_s', '.0f')} | "
              f"{cell(r, 'tracks_per_s', '.1f')} | {cell(r, 'tracks_per_hour', ',.0f')} | {cell(r, 'peak_mib', '.0f')} | "
              f"{cell(r, 'max_diff_vs_cpu_fp32', '.1e')} |")
    print(f"\nreproduce: {report['command']}")


if __name__ == "__main__":
    main()
