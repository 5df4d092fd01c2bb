"""Each teacher alone, for the ablation table: a linear probe on its embedding ⊕ logits, 5 fixed 4Q folds.

    sentio-ml distill probes --out runs/probes [--teachers musicnn_msd musicnn_mtt mn04 vgg_msd vgg_mtt]

Every teacher sees the same input: the excerpts the Predictor takes from each clip (3 x 10.26 s, placed by
`sentio_ml.audio.excerpt_starts`, the cache `sentio-ml distill heads` shares), resampled to its own rate; a clip's
feature is the mean over its excerpts. The head is `finetune.probe_fit_predict`'s (ridge with inner-CV alpha and
spread calibration, fitted on the training folds only), so the rows compare with the heads report's.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


def teacher_features(teacher_name: str, waves: np.ndarray, batch: int = 16) -> np.ndarray:
    """[clips, D]: the teacher's embedding ⊕ logits of each excerpt of `waves` [clips, excerpts, samples] (16 kHz),
    averaged over the clip's excerpts."""
    from sentio_ml.console import ProgressBar
    from sentio_ml.distill.targets import resample
    from sentio_ml.teachers import load_teacher

    teacher = load_teacher(teacher_name).eval()
    flat = waves.reshape(-1, waves.shape[-1])
    rows = []
    with torch.inference_mode(), ProgressBar(f"{teacher_name} excerpts", unit="excerpt") as bar:
        for start in range(0, len(flat), batch):
            chunk = resample(torch.from_numpy(flat[start:start + batch]), teacher.sample_rate)
            rows.append(torch.cat(teacher(chunk), dim=1).numpy())
            bar(min(len(flat), start + batch), len(flat))
    return np.concatenate(rows).reshape(waves.shape[0], waves.shape[1], -1).mean(axis=1)


def main(argv: list[str] | None = None) -> int:
    from sentio_ml.datasets.fourq import load_fourq
    from sentio_ml.distill.finetune import cv, excerpt_waves, probe_fit_predict
    from sentio_ml.evaluation.report import format_table, write_report
    from sentio_ml.features import FeatureConfig
    from sentio_ml.teachers import TEACHER_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for report.json/report.md")
    parser.add_argument("--teachers", nargs="+", default=list(TEACHER_NAMES), choices=TEACHER_NAMES)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"), help="the 4Q dataset folder")
    parser.add_argument("--excerpts", type=int, default=3, help="excerpts per clip (default: 3, as the Predictor)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    dataset = load_fourq(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    waves = excerpt_waves(dataset, args.out.parent / "fourq-excerpts.npy", FeatureConfig().excerpt_seconds, args.excerpts)
    results = [cv(dataset, probe_fit_predict(teacher_features(name, waves), dataset), f"teacher {name} (linear probe)")
               for name in args.teachers]
    command = "sentio-ml distill probes " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    write_report(results, args.out, command)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
