"""End-to-end latency of the shipped default bundle on one track (decode 3 excerpts, fbank, model).

    .venv/bin/python bench/default_model_latency.py [TRACK] [--repeats 5] [--bundle DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentio_ml.audio import probe_duration  # noqa: E402
from sentio_ml.bundle import load_bundle  # noqa: E402
from sentio_ml.predictor import Predictor  # noqa: E402

DEFAULT_TRACK = ROOT.parent / "shared" / "data" / "music" / "Karissa_Hobbs_-_Let's_Go_Fishin'.ogg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("track", nargs="?", type=Path, default=DEFAULT_TRACK)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bundle", type=Path, help="a bundle folder (default: the shipped default model)")
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)
    predictor = Predictor(bundle)
    predictor.predict([args.track])  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        [result] = predictor.predict([args.track])
        times.append(time.perf_counter() - start)
    print(f"bundle {predictor.model_id} on {predictor.device_name} ({predictor.precision}); "
          f"track {args.track.name}, {probe_duration(args.track):.0f} s")
    print(f"median {statistics.median(times):.3f} s, min {min(times):.3f} s over {args.repeats} runs; "
          f"valence {result.valence:.3f}, arousal {result.arousal:.3f} ({result.mood})")
    extra = f"{args.track if args.track != DEFAULT_TRACK else ''}{f' --bundle {args.bundle}' if args.bundle else ''}"
    print(f"command: .venv/bin/python bench/default_model_latency.py {extra}".rstrip())


if __name__ == "__main__":
    main()
