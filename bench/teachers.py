"""Teacher inference speed: seconds per 10-s excerpt for each teacher, batch 16, front-end included.

Runs each teacher (`sentio_ml.teachers.load_teacher`) on a batch of 16 ten-second excerpts of the reference
wave (different gains, at the teacher's own sample rate) after one warm-up batch, and prints the median over
--repeats batches divided by 16, with the command that reproduced it.

    OMP_NUM_THREADS=1 .venv/bin/python bench/teachers.py                # 1 thread, CPU
    .venv/bin/python bench/teachers.py --threads 2 --device cuda        # other settings
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sentio_ml.teachers import TEACHER_NAMES, load_teacher  # noqa: E402
from sentio_ml.teachers.signals import reference_wave  # noqa: E402


def seconds_per_excerpt(name: str, batch: int, seconds: float, repeats: int, device: str) -> tuple[float, float]:
    """(median, max) seconds per excerpt over `repeats` timed batches."""
    teacher = load_teacher(name).to(device)
    wave = torch.from_numpy(reference_wave(teacher.sample_rate, seconds))
    waves = (wave[None] * torch.linspace(0.2, 1.0, batch)[:, None]).to(device)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 1):
            start = time.perf_counter()
            teacher(waves)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i:  # the first batch is a warm-up
                times.append((time.perf_counter() - start) / batch)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="*", default=list(TEACHER_NAMES))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"$ {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.device}, "
          f"batch {args.batch} x {args.seconds:g} s, median (max) of {args.repeats} batches")
    for name in args.teachers:
        median, worst = seconds_per_excerpt(name, args.batch, args.seconds, args.repeats, args.device)
        print(f"{name:12s} {median:.4f} s per excerpt ({worst:.4f})  = {args.seconds / median:7.1f}x real time")


if __name__ == "__main__":
    main()
