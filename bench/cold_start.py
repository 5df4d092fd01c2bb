"""Cold-process start-up: `sentio-ml predict` on one 4-minute MP3 and `--help`, each a fresh Python process.

    .venv/bin/python bench/cold_start.py [--runs 5] [--model DIR ...]

Each figure is the median wall time of RUNS fresh processes (after one warm-up run that fills the OS file
cache), measured from outside around `subprocess.run`, start-up, imports, model load, decoding and output
included. The MP3 is the first of bench/predict_throughput.py's generated tracks (192 kb/s, 44.1 kHz stereo).
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from predict_throughput import make_tracks  # noqa: E402


def wall(command: list[str], runs: int, cwd: str) -> tuple[float, float, float]:
    """(median, min, max) seconds of `runs` fresh runs after one warm-up; a failing command stops the bench."""
    times = []
    for index in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{shlex.join(command)} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        if index:
            times.append(elapsed)
    return statistics.median(times), min(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="bundle folder(s) to time besides the shipped default (repeatable)")
    parser.add_argument("--music", type=Path, default=REPO.parent / "shared" / "data" / "music")
    parser.add_argument("--audio-dir", type=Path, default=Path(user_cache_dir("sentio")) / "bench-mp3")
    args = parser.parse_args(argv)
    [track] = make_tracks(args.music, args.audio_dir, 1)
    python = sys.executable
    rows = [("sentio-ml --help", [python, "-m", "sentio_ml.cli", "--help"]),
            ("sentio --help", [python, "-m", "sentio_desktop.cli", "--help"]),
            ("sentio-ml predict (default model)", [python, "-m", "sentio_ml.cli", "predict", str(track)])]
    # a bundle folder given relative to here, resolved (the processes start elsewhere); a name such as fast as it is
    rows += [(f"sentio-ml predict --model {m}", [python, "-m", "sentio_ml.cli", "predict", str(track), "--model",
                                                 str(m.resolve()) if m.exists() else str(m)])
             for m in args.model]
    print("| command (fresh process, one 4-min MP3) | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    # each process starts in an empty folder: `python -m` puts the working folder first on sys.path, so a stray
    # sentio_ml folder there (an old bundle unpacked into /tmp, say) would shadow the real package
    with tempfile.TemporaryDirectory(prefix="sentio-cold-start-") as empty:
        for label, command in rows:
            median, low, high = wall(command, args.runs, empty)
            print(f"| {label} | {median:.2f} | {low:.2f} | {high:.2f} |", flush=True)
    print(f"\nreproduce: .venv/bin/python bench/cold_start.py {shlex.join(argv or sys.argv[1:])}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
