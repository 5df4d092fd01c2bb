"""Teacher targets and student inputs for the rendered crop shards, computed once and stored beside them.

For a shard `shard-X-000.npy` (int16 waves at 16 kHz):
    shard-X-000.<teacher>.npy   float32 [N, embedding_dim + logits] — the teacher on the same augmented wave
    shard-X-000.fbank.npy       float16 [N, frames / pool_time, mel] — the student's log-mel, un-normalised,
                                average-pooled in time exactly as `AstEncoder` pools (so the cache is the
                                encoder's input after pooling)

    python -m sentio_ml.distill.targets --crops cache/distill/crops --teachers musicnn_msd mn04 ...

Missing files are filled; existing ones are kept, so a teacher added later costs only its own pass.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sentio_ml.distill.crops import SAMPLE_RATE, iter_batches, load_waves, shard_paths
from sentio_ml.features import log_mel_fbank

BATCH = 32


def target_path(shard: Path, teacher: str) -> Path:
    return shard.with_name(f"{shard.stem}.{teacher}.npy")


def fbank_path(shard: Path) -> Path:
    return shard.with_name(f"{shard.stem}.fbank.npy")


def pooled_fbank(waves: np.ndarray | torch.Tensor, pool_time: int, frames: int = 1024) -> torch.Tensor:
    """Un-normalised log-mel [B, frames / pool_time, mel] of 16-kHz excerpts, pooled like the encoder does."""
    fbank = log_mel_fbank(torch.as_tensor(waves))[:, :frames]
    return F.avg_pool1d(fbank.transpose(1, 2), pool_time).transpose(1, 2) if pool_time > 1 else fbank


def resample(waves: torch.Tensor, rate: int) -> torch.Tensor:
    """16 kHz → `rate` (sentio_ml.audio.resample_rows, as the Predictor's teacher views)."""
    from sentio_ml.audio import resample_rows

    return torch.from_numpy(resample_rows(waves.numpy(), SAMPLE_RATE, rate))


def fill_teacher(shard: Path, name: str) -> None:
    from sentio_ml.teachers import load_teacher

    teacher = load_teacher(name)
    waves = load_waves(shard)
    rows = []
    with torch.inference_mode():
        for _, batch in iter_batches(waves, BATCH):
            embedding, logits = teacher(resample(torch.from_numpy(batch), teacher.sample_rate))
            rows.append(torch.cat([embedding, logits], dim=1).float().numpy())
    np.save(target_path(shard, name), np.concatenate(rows))


def fill_fbank(shard: Path, pool_time: int) -> None:
    waves = load_waves(shard)
    rows = [pooled_fbank(batch, pool_time).half().numpy() for _, batch in iter_batches(waves, BATCH)]
    np.save(fbank_path(shard), np.concatenate(rows))


def fill(crops: Path, teachers: list[str], pool_time: int, only: str = "*") -> None:
    from sentio_ml.console import ProgressBar

    shards = [shard for shard in shard_paths(crops) if shard.match(only)]
    if not shards:
        raise SystemExit(f"There are no crop shards{'' if only == '*' else f' matching {only!r}'} in {crops}: "
                         "`sentio-ml distill crops --out` that folder renders them.")
    with ProgressBar("teacher targets", unit="shard") as bar:
        bar(0, len(shards))
        for done, shard in enumerate(shards, 1):
            started = time.time()
            if not fbank_path(shard).is_file():
                fill_fbank(shard, pool_time)
                bar.write(f"{shard.name}: fbank ({time.time() - started:.0f} s)")
            for name in teachers:
                if not target_path(shard, name).is_file():
                    started = time.time()
                    fill_teacher(shard, name)
                    bar.write(f"{shard.name}: {name} ({time.time() - started:.0f} s)")
            bar(done, len(shards))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, required=True)
    parser.add_argument("--teachers", nargs="+", required=True)
    parser.add_argument("--pool-time", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="*", help="shards whose file name matches this pattern (parallel runs)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    fill(args.crops, args.teachers, args.pool_time, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
