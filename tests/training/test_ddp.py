"""Two-process DDP training on the gloo backend (CPU): ranks split every epoch and end with equal weights."""
from __future__ import annotations

import json
import os
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sentio_ml.training.cache import FeatureCache
from sentio_ml.training.config import TrainConfig

pytestmark = pytest.mark.slow  # two spawned processes each import torch and train (~25 s on 2 busy cores)


def _worker(rank: int, world: int, init_file: str, cache_dir: str, clips, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        from sentio_ml.training.loop import train

        steps = []
        config = TrainConfig(preset="tiny", epochs=1, batch_size=2, validation_fraction=0, patience=0, eval_crops=1)
        result = train(clips, [], FeatureCache(cache_dir), config, progress=lambda p: steps.append(p.step))
        checksum = float(sum(p.double().sum() for p in result.model.parameters()))
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
            json.dump({"checksum": checksum, "total": steps}, handle)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or sys.platform == "win32", reason="torch.distributed with gloo unavailable")
def test_two_process_gloo_training_keeps_ranks_in_sync(tiny_dataset, tmp_path):
    cache_dir = tmp_path / "cache"
    clips = tiny_dataset.clips[:8]
    FeatureCache(cache_dir).ensure(clips)  # fill the cache once, before the ranks read it
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(cache_dir), clips, str(tmp_path)), nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["checksum"] == pytest.approx(r1["checksum"], rel=1e-6)  # gradients were all-reduced
    # 8 clips, batch 2 per rank, 2 ranks -> 2 steps per epoch (not 4 as on one process)
    assert r0["total"] and r0["total"][-1] == 2 and r1["total"] == []  # only rank 0 reports progress
