"""Library benchmarks: scanning, playlist queries at scale, end-to-end `sentio analyze` throughput.

    .venv/bin/python bench/library.py                       # everything, default sizes
    .venv/bin/python bench/library.py --skip-analyze        # scan + playlists only (no model needed)

1. Initial scan and no-change rescan of --files (10,000) real MP3 files (copies of the 4-s fixture,
   each with a unique ID3v1 trailer so every fingerprint differs) in nested folders.
   Target: rescan of 10,000 unchanged files <= 3 s.
2. Region query (rectangle, circle, polygon), nearest neighbours and a 20-step mood path on a
   --tracks (100,000) track library (random valence/arousal rows inserted directly). Reported for the
   first call on a fresh Library with no cache (regions read their box from the index; neighbours and
   paths read all points and build a KD-tree), the first call with the points cache on disk (a
   `sentio playlist` run after any earlier one), and with the points in memory (the GUI, median of 20).
   Targets: region <= 50 ms, path <= 200 ms.
3. `sentio analyze FOLDER` as a subprocess on --analyze-tracks 4-minute MP3s with the small preset.
   Until a trained default bundle exists, a randomly initialised small-preset bundle is used
   (throughput does not depend on the weights). Target: >= 7,200 tracks/hour.
"""
from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sentio_desktop.db import Analysis, Track  # noqa: E402
from sentio_desktop.library import Library  # noqa: E402
from sentio_desktop.playlists import Circle, Polygon, Rect, build_nearest, build_path, build_region  # noqa: E402
from sentio_desktop.scanner import scan  # noqa: E402

FIXTURE_MP3 = REPO / "tests" / "data" / "vibe_ace.mp3"


def id3v1(title: str) -> bytes:
    return b"TAG" + title.encode()[:30].ljust(30, b"\0") + b"Bench".ljust(30, b"\0") + b"\0" * 64 + b"\xff"


def bench_scan(work: Path, files: int) -> dict[str, float]:
    music = work / "scan_music"
    data = FIXTURE_MP3.read_bytes()
    for i in range(files):
        folder = music / f"artist{i // 500:03d}" / f"album{i // 25:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d} track.mp3").write_bytes(data + id3v1(f"Track {i}"))
    lib = Library(work / "scan.db")
    t0 = time.perf_counter()
    first = scan(lib, [music])
    initial = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        again = scan(lib, [music])
        times.append(time.perf_counter() - t0)
    assert first.added == files and again.unchanged == files, (first.summary(), again.summary())
    lib.close()
    return {"initial scan (s)": initial, "no-change rescan, median of 3 (s)": statistics.median(times)}


def build_big_library(path: Path, tracks: int) -> Library:
    lib = Library(path)
    rng = np.random.default_rng(0)
    va = rng.beta(2.0, 2.0, size=(tracks, 2))
    with lib.engine.begin() as conn:
        conn.execute(Track.__table__.insert(), [
            {"id": i + 1, "path": f"/music/a{i // 1000:03d}/t{i:06d}.mp3", "size": 1000 + i, "mtime": 1.0,
             "status": "ok", "title": f"Track {i}", "artist": f"Artist {i % 997}", "duration": 240.0,
             "added_at": _now(), "updated_at": _now()} for i in range(tracks)])
        conn.execute(Analysis.__table__.insert(), [
            {"track_id": i + 1, "model_id": "bench@1", "valence": float(va[i, 0]), "arousal": float(va[i, 1]),
             "mood": "calm", "current": True, "stale": False, "created_at": _now()} for i in range(tracks)])
    return lib


def _now():  # noqa: ANN202
    from sentio_desktop.db import utcnow

    return utcnow()


def timed(fn, repeats: int = 20) -> tuple[float, float]:  # noqa: ANN001
    """(first call, median of the following calls) in milliseconds."""
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1000
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - t0) * 1000)
    return cold, statistics.median(warm)


def bench_playlists(work: Path, tracks: int) -> dict[str, tuple[float, float]]:
    t0 = time.perf_counter()
    lib = build_big_library(work / "big.db", tracks)
    print(f"  (built a {tracks:,}-track library in {time.perf_counter() - t0:.1f} s)")
    lib.close()
    operations = {
        "region rect (limit 200)": lambda lib: build_region(lib, Rect((0.6, 0.9), (0.1, 0.4)), limit=200),
        "region circle": lambda lib: build_region(lib, Circle(0.3, 0.7, 0.1)),
        "region polygon": lambda lib: build_region(lib, Polygon(((0.1, 0.1), (0.5, 0.2), (0.3, 0.6)))),
        "nearest 50": lambda lib: build_nearest(lib, 1234, count=50),
        "mood path 20 steps": lambda lib: build_path(lib, 10, 99_000 % tracks or 2, steps=20),
        "mood path 20 steps + 2 waypoints": lambda lib: build_path(
            lib, 10, 99_000 % tracks or 2, steps=20, waypoints=[(0.9, 0.9), (0.1, 0.9)]),
    }
    results = {}
    for name, operation in operations.items():
        row = []
        for disk_cache in (False, True):
            lib = Library(work / "big.db")  # a fresh Library, as a `sentio playlist ...` process has
            if not disk_cache:
                lib.points_cache_path.unlink(missing_ok=True)
            else:
                lib.mood_points()
                lib.close()
                lib = Library(work / "big.db")
            t0 = time.perf_counter()
            operation(lib)
            row.append((time.perf_counter() - t0) * 1000)
            lib.close()
        lib = Library(work / "big.db")
        lib.mood_points()  # what the GUI holds once its map is drawn
        _, warm = timed(lambda: operation(lib))  # noqa: B023 - called before the next iteration
        results[name] = (*row, warm)
        lib.close()
    return results


def make_long_mp3s(folder: Path, count: int, seconds: float = 240.0, distinct: int = 3) -> None:
    """``count`` real 4-minute 192 kb/s MP3s: ``distinct`` encodings (different start offsets of a real
    song, looped), copied with a unique title tag each, so every file is decoded and fingerprinted on
    its own while the benchmark does not spend minutes in the MP3 encoder."""
    import av
    import soundfile as sf
    from mutagen.id3 import ID3, TIT2

    folder.mkdir(parents=True, exist_ok=True)
    source = REPO.parent / "shared" / "data" / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg"
    audio, rate = sf.read(source if source.exists() else REPO / "tests" / "data" / "vibe_ace.flac", dtype="int16")
    if audio.ndim == 1:
        audio = np.stack([audio, audio], axis=1)
    total = int(seconds * rate)
    masters = []
    for n in range(min(distinct, count)):
        reps = int(np.ceil(total / len(audio))) + 1
        pcm = np.roll(np.tile(audio, (reps, 1)), -n * 7 * rate, axis=0)[:total]
        master = folder / f"master_{n}.mp3"
        with av.open(str(master), "w") as container:
            stream = container.add_stream("libmp3lame", rate=rate, layout="stereo")
            stream.bit_rate = 192_000
            for start in range(0, total, rate * 10):
                chunk = np.ascontiguousarray(pcm[start:start + rate * 10].T.reshape(1, -1))
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
                frame.sample_rate = rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        masters.append(master)
    for n in range(count):
        target = folder / f"long_{n:03d}.mp3"
        shutil.copy(masters[n % len(masters)], target)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=[f"Long track {n}"]))
        tags.save(target)
    for master in masters:
        master.unlink()


def bench_analyze(work: Path, count: int, bundle: str | None, device: str) -> dict[str, float]:
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    music = work / "long_music"
    t0 = time.perf_counter()
    make_long_mp3s(music, count)
    print(f"  (encoded {count} four-minute MP3s in {time.perf_counter() - t0:.1f} s)")
    if bundle is None:
        import torch

        torch.manual_seed(0)
        bundle_dir = work / "random-small-bundle"
        save_bundle(Bundle.from_model(build_model("small"), name="sentio-small-random", version="0.0.0"), bundle_dir)
        bundle = str(bundle_dir)
    env = dict(os.environ, SENTIO_CONFIG=str(work / "settings.json"), SENTIO_DB=str(work / "analyze.db"))
    command = [sys.executable, "-m", "sentio_desktop.cli", "-q", "analyze", str(music), "--model", bundle,
               "--device", device]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    print("  " + done.stdout.strip().replace("\n", "\n  "))
    if done.returncode != 0:
        print(done.stderr[-2000:])
        raise SystemExit(f"sentio analyze failed with exit code {done.returncode}")
    # The same files straight through sentio_ml's Predictor (no scan, database or tags), same settings,
    # to show what the library pipeline costs on top of the model.
    from sentio_ml.predictor import Predictor

    predictor = Predictor(bundle, device=device)
    t0 = time.perf_counter()
    predictions = predictor.predict(sorted(music.glob("*.mp3")))
    raw = time.perf_counter() - t0
    assert all(p.error is None for p in predictions)
    return {"tracks": count, "wall time incl. start-up (s)": wall, "tracks per hour": count / wall * 3600,
            "Predictor alone, tracks per hour (model loaded, no DB/tags)": count / raw * 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--analyze-tracks", type=int, default=60)
    parser.add_argument("--bundle", help="model bundle for the analyze benchmark (default: random small preset)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--skip-playlists", action="store_true")
    parser.add_argument("--skip-analyze", action="store_true")
    parser.add_argument("--workdir", help="keep the generated files here (default: a temp dir, removed)")
    args = parser.parse_args()
    random.seed(0)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sentio-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"command: {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPUs visible, Python {sys.version.split()[0]}")
    try:
        if not args.skip_scan:
            print(f"[scan] {args.files:,} MP3 files (target: rescan <= 3 s)")
            for name, value in bench_scan(work, args.files).items():
                print(f"  {name}: {value:.2f}")
        if not args.skip_playlists:
            print(f"[playlists] {args.tracks:,} analysed tracks (targets: region <= 50 ms, path <= 200 ms)")
            results = bench_playlists(work, args.tracks)
            print("  (ms) first call, no cache | first call, points cache on disk | points in memory, median of 20")
            for name, (cold, disk, warm) in results.items():
                print(f"  {name}: {cold:.1f} | {disk:.1f} | {warm:.1f}")
        if not args.skip_analyze:
            print(f"[analyze] `sentio analyze` on {args.analyze_tracks} four-minute MP3s, device {args.device} "
                  f"(target >= 7,200 tracks/hour)"
                  + ("" if args.bundle else "; randomly initialised small-preset bundle (no trained default yet)"))
            for name, value in bench_analyze(work, args.analyze_tracks, args.bundle, args.device).items():
                print(f"  {name}: {value:,.1f}")
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
