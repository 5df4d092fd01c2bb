"""End-to-end prediction throughput: seconds per 4-minute track (decode + features + model).

Builds 4-minute 44.1 kHz stereo MP3s from ../shared/data/music (the Ogg recordings concatenated and
looped, encoded with PyAV's libmp3lame; cached in the user cache folder and reused), then times
`sentio_ml.predictor.Predictor.predict` for the shipped `student` encoder and the AST `base` config as
compositions (random weights: timing only), or the shipped bundles (`default`, `fast`) or any bundle folder given as a
preset, fp32 and int8, batch sizes 1 and 8, on the CPU (or --device).

    .venv/bin/python bench/predict_throughput.py                 # default: 8 tracks student, 2 base
    .venv/bin/python bench/predict_throughput.py --base-tracks 0 # student only
    .venv/bin/python bench/predict_throughput.py --presets default --tracks 24   # the shipped bundle
    .venv/bin/python bench/predict_throughput.py --presets fast --base-tracks 0 --music-check both  # its cost
    .venv/bin/python bench/predict_throughput.py --presets default,runs/hybrid,default,runs/hybrid --base-tracks 0  # A B A B
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sentio_ml.ast_encoder import PRESETS as ENCODER_PRESETS  # noqa: E402
from sentio_ml.audio import load_excerpts  # noqa: E402
from sentio_ml.bundle import Bundle, load_bundle  # noqa: E402
from sentio_ml.composition import AstPart, Composition  # noqa: E402
from sentio_ml.features import FeatureConfig, compute_fbank  # noqa: E402
from sentio_ml.predictor import Predictor  # noqa: E402

SHIPPED = ("default", "fast")  # the bundles shipped with Sentio, timed as they are
PRESETS = [*ENCODER_PRESETS, *SHIPPED]

RATE = 44100
TRACK_SECONDS = 240


def music_pool(music_dir: Path, seconds_needed: float) -> np.ndarray:
    """All Ogg files in music_dir decoded to [2, samples] float32 at 44.1 kHz, concatenated."""
    import av  # here, not at the top: bench/gpu_throughput.py reuses this module where PyAV is not installed

    files = sorted(music_dir.glob("*.ogg"))
    if not files:
        sys.exit(f"no .ogg files in {music_dir} (needs ../shared/data/music)")
    pieces = []
    total = 0
    for path in files:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray())
                    total += out.samples
        if total >= seconds_needed * RATE:
            break
    return np.concatenate(pieces, axis=1).astype(np.float32)


def encode_mp3(data: np.ndarray, path: Path) -> None:
    import av

    tmp = path.with_suffix(".partial.mp3")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libmp3lame", rate=RATE, layout="stereo")
        stream.bit_rate = 192_000
        step = 1152 * 32
        for i in range(0, data.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, i:i + step]), format="fltp", layout="stereo")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    os.replace(tmp, path)


def make_tracks(music_dir: Path, out_dir: Path, count: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"track_{i:02d}.mp3" for i in range(count)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"encoding {len(missing)} x {TRACK_SECONDS // 60}-minute MP3s into {out_dir} ...", file=sys.stderr)
        pool = music_pool(music_dir, TRACK_SECONDS * 2)
        n = TRACK_SECONDS * RATE
        for i, path in enumerate(paths):
            if path.exists():
                continue
            start = (i * 37 * RATE) % pool.shape[1]  # a different stretch of the looped pool per track
            idx = (start + np.arange(n)) % pool.shape[1]
            encode_mp3(pool[:, idx], path)
    return paths


def random_bundle(preset: str) -> Bundle:
    """A one-part composition of the encoder preset with random weights, a shipped bundle by name, or a bundle folder."""
    if preset in SHIPPED or Path(preset).is_dir():
        return load_bundle(preset)
    torch.manual_seed(0)
    model = Composition({"ast": AstPart(ENCODER_PRESETS[preset])}).eval()
    return Bundle.from_composition(model, name=f"bench-{preset}", features=FeatureConfig(), normalisation_source="-")


def describe(bundle: Bundle) -> str:
    parts = [f"{name}: {part.network() if part.kind != 'composition' else 'blend of ' + ', '.join(part.parts)}"
             for name, part in bundle.model.parts.items()]
    return f"{'; '.join(parts)}; {bundle.excerpts} x {bundle.excerpt_seconds:.2f}s excerpts"


def time_predictor(bundle: Bundle, paths: list[Path], device: str, precision: str, batch_size: int,
                   threads: int | None, detect_music: bool = True) -> float:
    predictor = Predictor(bundle, device=device, precision=precision, batch_size=batch_size, threads=threads,
                          detect_music=detect_music)
    predictor.predict(paths[:1])  # warm-up (allocations, first-call kernels)
    started = time.perf_counter()
    results = predictor.predict(paths)
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results if not r.ok]
    if failed:
        sys.exit(f"prediction failed: {failed[0]}")
    return elapsed / len(paths)


def time_decode_features(bundle: Bundle, paths: list[Path]) -> float:
    """Decode + fbank in one thread with one torch thread, as each of the predictor's decoding workers does."""
    cfg = bundle.feature_config
    compute_fbank(np.zeros((1, cfg.excerpt_samples), np.float32), cfg)  # build the mel banks once
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    for path in paths:
        ex = load_excerpts(path, cfg.sample_rate, bundle.excerpt_seconds, bundle.excerpts)
        compute_fbank(ex.waves, cfg)
    elapsed = time.perf_counter() - started
    torch.set_num_threads(threads)
    return elapsed / len(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=8, help="tracks per preset but base (default 8)")
    parser.add_argument("--base-tracks", type=int, default=2, help="tracks for the base config; 0 skips it (default 2)")
    parser.add_argument("--presets", default="student,base",
                        help="comma-separated encoder presets, shipped bundles (default, fast) or bundle folders "
                             "(default student,base); base uses --base-tracks")
    parser.add_argument("--batch-sizes", default="1,8", help="comma-separated batch sizes (default 1,8)")
    parser.add_argument("--precisions", default="fp32,int8", help="fp32, int8, bf16, fp16 (default fp32,int8)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps; int8 runs on the CPU only")
    parser.add_argument("--threads", type=int, default=0,
                        help="model threads (default: the Predictor's, i.e. cores minus its 2 decoding threads)")
    parser.add_argument("--music-check", choices=["on", "off", "both"], default="on",
                        help="the Predictor's is-it-music check (mn04 on one excerpt per track); both: time each "
                             "configuration with and without it, alternating (default on, as sentio-ml predict)")
    parser.add_argument("--music", type=Path, default=REPO.parent / "shared" / "data" / "music")
    parser.add_argument("--audio-dir", type=Path, default=Path(user_cache_dir("sentio")) / "bench-mp3",
                        help="where the generated MP3s are cached and reused (default: the user cache folder)")
    args = parser.parse_args(argv)

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRESETS and not Path(p).is_dir()]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    paths = make_tracks(args.music, args.audio_dir, max(args.tracks, args.base_tracks))
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    precisions = [p.strip() for p in args.precisions.split(",")]
    model_threads = args.threads or Predictor(random_bundle("tiny"), device="cpu").threads
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {len(paths)} x {TRACK_SECONDS}s 44.1 kHz stereo MP3 (192 kb/s); device {args.device}; "
          f"torch {torch.__version__}, {model_threads} model thread(s) + 2 decoding threads, {os.cpu_count()} CPUs; "
          f"load average at start {load:.1f}")
    music_checks = {"on": [True], "off": [False], "both": [False, True]}[args.music_check]
    rows = []
    for preset, count in ((p, args.base_tracks if p == "base" else args.tracks) for p in presets):
        if count <= 0:
            continue
        bundle = random_bundle(preset)
        subset = paths[:count]
        desc = describe(bundle)
        decode_s = time_decode_features(bundle, subset)
        rows.append((preset, desc, "decode+fbank only, 1 thread", "-", "-", count, decode_s))
        print(f"{preset:6s} decode+fbank only: {decode_s:.3f} s/track", file=sys.stderr, flush=True)
        for precision in precisions:
            if precision == "int8" and args.device != "cpu":
                continue
            for batch, check in ((b, c) for b in batch_sizes for c in music_checks):
                per_track = time_predictor(bundle, subset, args.device, precision, batch,
                                           args.threads or None, detect_music=check)
                check_text = "on" if check else "off"
                rows.append((preset, desc, precision, batch, check_text, count, per_track))
                print(f"{preset:6s} {precision} batch {batch} music check {check_text}: {per_track:.3f} s/track",
                      file=sys.stderr, flush=True)

    print()
    print("| preset | architecture | precision | batch | music check | tracks | s / track | tracks / min |")
    print("|---|---|---|---:|---|---:|---:|---:|")
    for preset, desc, precision, batch, check, count, per_track in rows:
        print(f"| {preset} | {desc} | {precision} | {batch} | {check} | {count} | {per_track:.3f} | {60 / per_track:.0f} |")
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/predict_throughput.py", *(argv or sys.argv[1:])])
    print(f"\nreproduce: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
