"""Each teacher alone, for the ablation table: a linear probe on its embedding ⊕ logits, 5 fixed 4Q folds.

    sentio-ml distill probes --out runs/probes [--teachers musicnn_msd musicnn_mtt mn04 vgg_msd vgg_mtt]
    sentio-ml distill probes --out runs/probes --teachers mn04 --export runs/mn04 --version 1.0.0

Every teacher sees the same input: the excerpts the Predictor takes from each clip (3 x 10.26 s, placed by
`sentio_ml.audio.excerpt_starts`, the cache `sentio-ml distill heads` shares), resampled to its own rate; a clip's
feature is the mean over its excerpts. The head is `finetune.probe_fit_predict`'s (ridge with inner-CV alpha and
spread calibration, fitted on the training folds only), so the rows compare with the heads report's.

`--export DIR` (one teacher) also fits that head and its calibration on every clip and writes a bundle: the teacher
(its pretrained weights included) and the head, one part of a composition that the Predictor runs on its own
excerpts, all in torch; its cv/report.json is the probe's CV above, so `sentio-ml distill compose` can blend it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from sentio_ml.bundle import Bundle
    from sentio_ml.composition import TeacherPart
    from sentio_ml.datasets.base import Dataset
    from sentio_ml.evaluation.crossval import CVResult


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


def export_probe(teacher_name: str, features: np.ndarray, dataset: Dataset, result: CVResult, out: Path, *,
                 version: str, excerpts: int, command: str) -> None:
    """The probe fitted on every clip (ridge alpha by inner CV over artists, spread calibration from the inner
    out-of-fold predictions, `finetune.fit_head`) as a one-part composition bundle, with its CV report."""
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.composition import Composition, TeacherPart
    from sentio_ml.distill.finetune import fit_head
    from sentio_ml.evaluation.report import write_report
    from sentio_ml.evaluation.spread import spread_ratio
    from sentio_ml.features import FeatureConfig
    from sentio_ml.teachers import load_teacher

    y, groups = dataset.labels(), [c.split_key for c in dataset.clips]
    alpha, offset, scale = fit_head(features, y, groups)
    part = TeacherPart(teacher_name)
    part.teacher.network.load_state_dict(load_teacher(teacher_name).network.state_dict())
    part.head.fit(features, y, alpha)
    model = Composition({teacher_name: part})
    model.weights.fill_(1.0)
    model.offset.copy_(torch.as_tensor(offset, dtype=torch.float32))
    model.scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
    summary = result.to_dict()["summary"]
    bundle = Bundle.from_composition(
        model.eval(), name=f"sentio-fourq-{teacher_name.replace('_', '-')}-probe", version=version,
        features=FeatureConfig(), normalisation_source="not read: the teacher has its own mel front-end",
        excerpts=excerpts,
        training_data={"dataset": dataset.name, "clips": len(dataset),
                       "head": {"teacher": teacher_name, "alpha": alpha, "offset": offset.tolist(), "scale": scale.tolist()}},
        metrics={"cv": summary, "cv_name": result.name, "spread_ratio": spread_ratio(result)})
    bundle.card = probe_card(bundle, part, command)
    save_bundle(bundle, out)
    write_report([result], out / "cv", command)


def probe_card(bundle: Bundle, part: TeacherPart, command: str) -> str:
    from sentio_ml.model_card import FOURQ_LABELS_LIMIT, cv_table
    from sentio_ml.teachers import licence_paths

    teacher, metrics = part.teacher, bundle.metrics
    head = bundle.config["training_data"]["head"]
    notices = [path.read_text(encoding="utf-8").strip() for path in licence_paths(part.teacher_name)]
    return "\n".join([
        f"# {bundle.name} {bundle.version}", "",
        "Predicts valence (sad ↔ happy) and arousal (calm ↔ energetic) on [0, 1] (0.5 = neutral) from audio: "
        f"{bundle.excerpts} excerpts of {bundle.excerpt_seconds:.2f} s per track, averaged.", "",
        "## Composition", "", bundle.model.describe(), "",
        f"The pretrained tagger `{part.teacher_name}` ({teacher.embedding_dim}-value embedding ⊕ "
        f"{len(teacher.logit_names)} logits, its own mel front-end, on each excerpt resampled from 16 to "
        f"{teacher.sample_rate // 1000} kHz with soxr), kept frozen, and a linear head: a linear probe.", "",
        "## Valence/arousal head", "",
        f"Ridge regression (alpha {head['alpha']:g}, chosen by inner cross-validation over artists) on the mean of the "
        f"tagger's outputs over each clip's excerpts, fitted on the {bundle.config['training_data']['clips']} clips of "
        f"`{bundle.config['training_data']['dataset']}` (labels on 1–9 mapped by (x − 1) / 8); then stretched so that "
        "the inner out-of-fold predictions have the labels' mean and spread (sentio_ml.distill.finetune.fit_head).", "",
        "## Cross-validation", "", f"Command: `{command}`", "", *cv_table(metrics["cv"]), "",
        f"Spread of held-out predictions over the labels' (valence, arousal): {metrics['spread_ratio']}.", "",
        "## Limits", "", FOURQ_LABELS_LIMIT,
        f"- The tagger hears what its pretraining taught it ({teacher.licence}); the head is linear, so it maps "
        "what the tagger already tells apart and nothing more.", "",
        "## Third-party weights", "", *notices, ""])


def main(argv: list[str] | None = None) -> int:
    from sentio_ml.datasets.fourq import load_fourq
    from sentio_ml.distill.finetune import bundle_version, cv, excerpt_waves, probe_fit_predict
    from sentio_ml.evaluation.report import format_table, write_report
    from sentio_ml.features import FeatureConfig
    from sentio_ml.teachers import TEACHER_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for report.json/report.md")
    parser.add_argument("--teachers", nargs="+", default=list(TEACHER_NAMES), choices=TEACHER_NAMES)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"), help="the 4Q dataset folder")
    parser.add_argument("--excerpts", type=int, default=3, help="excerpts per clip (default: 3, as the Predictor)")
    parser.add_argument("--export", type=Path, metavar="DIR",
                        help="with one teacher: also fit its probe on every clip and write it as a bundle here")
    parser.add_argument("--version", type=bundle_version, default="1.0.0",
                        help="the exported bundle's version, part of its model id (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.export and len(args.teachers) != 1:
        parser.error("--export writes one teacher's probe: name exactly one with --teachers")
    torch.set_num_threads(2)
    dataset = load_fourq(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    waves = excerpt_waves(dataset, args.out.parent / "fourq-excerpts.npy", FeatureConfig().excerpt_seconds, args.excerpts)
    features = {name: teacher_features(name, waves) for name in args.teachers}
    results = [cv(dataset, probe_fit_predict(features[name], dataset), f"teacher {name} (linear probe)")
               for name in args.teachers]
    command = "sentio-ml distill probes " + " ".join(argv if argv is not None else sys.argv[1:])
    write_report(results, args.out, command)
    if args.export:
        export_probe(args.teachers[0], features[args.teachers[0]], dataset, results[0], args.export,
                     version=args.version, excerpts=args.excerpts, command=command)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
