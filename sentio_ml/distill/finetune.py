"""Valence/arousal heads on the distilled AST (and, for the ablation, on each teacher), cross-validated.

    python -m sentio_ml.distill.finetune --student cache/distill/student --out runs/student-cv \\
        [--probe-crops cache/distill/crops --probes musicnn_msd mn04] [--export sentio_ml/resources/models/default]

Each clip is represented by the excerpts the Predictor itself would take (`sentio_ml.audio.load_excerpts`,
the same placement function at training and at inference). For every fold of the dataset the head is fitted
on the training folds only: the ridge penalty by an inner artist-grouped cross-validation, and the spread
calibration so that the inner out-of-fold predictions have the labels' standard deviation (a ridge head
shrinks toward the mean; users threshold the values, so their spread must match the labels').
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from sentio_ml.composition import AstPart, Composition
from sentio_ml.datasets import Clip, Dataset
from sentio_ml.evaluation.crossval import CVResult, FoldOutput, run_cv
from sentio_ml.evaluation.spread import affine_calibration, spread_ratio

ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
INNER_FOLDS = 4


def excerpt_waves(dataset: Dataset, cache: Path, seconds: float, count: int) -> np.ndarray:
    """[clips, count, samples] float32 excerpts of every clip, as the Predictor places them, cached as int16. The
    first call returns what the cache will, so a run that decodes scores the same as one that reads the cache."""
    from sentio_ml.audio import load_excerpts

    if not cache.is_file():
        # a clip no longer than one excerpt gets one (as in the Predictor); repeating it keeps the clip's mean the same
        waves = np.stack([np.resize(w, (count, w.shape[1])) for w in
                          (load_excerpts(c.path, 16000, seconds, count).waves for c in dataset.clips)])
        partial = cache.with_name(cache.name + ".tmp")
        with open(partial, "wb") as handle:  # written whole, then renamed: a killed run leaves no broken cache
            np.save(handle, np.round(np.clip(waves, -1, 1) * 32767).astype(np.int16))
        partial.replace(cache)
    return np.load(cache).astype(np.float32) / 32767.0


class StudentOnFourQ(NamedTuple):
    part: AstPart  # the distilled encoder, head not fitted
    state: dict  # the student's training state
    dataset: Dataset
    waves: np.ndarray  # [clips, excerpts, samples] at 16 kHz, as the Predictor takes them
    fbank: torch.Tensor  # their fbank, normalised and pooled as the student was trained


def student_on_fourq(student_dir: Path, data: Path, excerpts_cache: Path, excerpts: int = 3) -> StudentOnFourQ:
    """The student (checked first, so a wrong folder fails before minutes of decoding), the 4Q clips' excerpts
    (cached in `excerpts_cache`) and their fbank: what `distill heads` and the research scripts start from."""
    from sentio_ml.datasets.fourq import load_fourq
    from sentio_ml.distill.tune import excerpt_fbank
    from sentio_ml.features import FeatureConfig

    part, state = load_student_part(student_dir)
    dataset = load_fourq(data)
    excerpts_cache.parent.mkdir(parents=True, exist_ok=True)
    waves = excerpt_waves(dataset, excerpts_cache, FeatureConfig().excerpt_seconds, excerpts)
    stats = state["stats"]["fbank"]
    return StudentOnFourQ(part, state, dataset, waves, excerpt_fbank(part, waves, stats["mean"], stats["std"]))


def read_student_state(student_dir: Path) -> dict:
    """A `distill student` folder's state.json, once its weights are known to be there too (else one sentence)."""
    if not (student_dir / "state.json").is_file() or not (student_dir / "student.safetensors").is_file():
        raise SystemExit(f"{student_dir} holds no distilled student (state.json and student.safetensors): "
                         "give the --out folder of `sentio-ml distill student`.")
    return json.loads((student_dir / "state.json").read_text())


def load_student_part(student_dir: Path) -> tuple[AstPart, dict]:
    """The distilled encoder as an AstPart (head not fitted yet) and the student's training state."""
    from safetensors.torch import load_file

    from sentio_ml.ast_encoder import EncoderConfig

    state = read_student_state(student_dir)
    part = AstPart(EncoderConfig.from_dict(state["encoder"]))
    weights = {k[len("encoder."):]: v for k, v in load_file(str(student_dir / "student.safetensors")).items()
               if k.startswith("encoder.")}
    part.encoder.load_state_dict(weights)
    return part.eval(), state


def teacher_clip_features(crop_dirs: list[Path], teacher: str, dataset: Dataset) -> np.ndarray:
    """[clips, D]: a teacher's outputs averaged over each clip's clean (variant-0) distillation crops — the
    features of the teacher's linear probe in the ablation (no extra teacher pass)."""
    from sentio_ml.distill.crops import shard_paths
    from sentio_ml.distill.targets import target_path

    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for shard in (shard for directory in crop_dirs for shard in shard_paths(directory)):
        if not target_path(shard, teacher).is_file():
            continue
        values = np.load(target_path(shard, teacher))
        for row, crop in enumerate(json.loads(shard.with_suffix(".json").read_text())["crops"]):
            if crop["variant"] == 0:
                sums[crop["file"]] = sums.get(crop["file"], 0) + values[row]
                counts[crop["file"]] = counts.get(crop["file"], 0) + 1
    missing = [c.path for c in dataset.clips if str(c.path.resolve()) not in sums]
    if missing:
        raise SystemExit(f"teacher {teacher} has no targets for {len(missing)} clips (e.g. {missing[0]})")
    return np.stack([sums[str(c.path.resolve())] / counts[str(c.path.resolve())] for c in dataset.clips])


def inner_predictions(x: np.ndarray, y: np.ndarray, groups: list[str], alpha: float) -> np.ndarray:
    """Out-of-fold ridge predictions over an artist-grouped split of the training clips."""
    from sklearn.model_selection import GroupKFold

    from sentio_ml.composition import LinearHead

    out = np.zeros_like(y)
    for train, test in GroupKFold(INNER_FOLDS).split(x, y, groups):
        head = LinearHead(x.shape[1]).fit(x[train], y[train], alpha)
        out[test] = head(torch.as_tensor(x[test], dtype=torch.float32)).numpy()
    return out


def fit_head(x: np.ndarray, y: np.ndarray, groups: list[str],
             calibrate_to: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """(alpha, offset, scale): the penalty with the best inner squared error and the calibration that gives the
    inner out-of-fold predictions the mean and standard deviation of `calibrate_to` (default: the targets y)."""
    inner = {a: inner_predictions(x, y, groups, a) for a in ALPHAS}
    alpha = min(ALPHAS, key=lambda a: float(((inner[a] - y) ** 2).mean()))
    offset, scale = affine_calibration(y if calibrate_to is None else calibrate_to, inner[alpha])
    return alpha, offset, scale


def probe_fit_predict(features: np.ndarray, dataset: Dataset):
    """A CV model (`run_cv`) of a linear head with spread calibration on fixed per-clip features."""
    from sentio_ml.composition import LinearHead

    index = {c.path: i for i, c in enumerate(dataset.clips)}

    def fit_predict(train: list[Clip], test: list[Clip], fold: int) -> FoldOutput:
        rows = [index[c.path] for c in train]
        x, y = features[rows], dataset.labels(train)
        alpha, offset, scale = fit_head(x, y, [c.split_key for c in train])
        head = LinearHead(x.shape[1]).fit(x, y, alpha)
        raw = head(torch.as_tensor(features[[index[c.path] for c in test]], dtype=torch.float32)).numpy()
        return FoldOutput(np.clip(offset + scale * raw, 0, 1), [{"alpha": alpha, "scale": scale.tolist()}])

    return fit_predict


def tuned_fit_predict(part: AstPart, fbank: torch.Tensor, features: np.ndarray, dataset: Dataset, epochs: int):
    """A CV model: the AST fine-tuned end to end on the training folds (sentio_ml.distill.tune)."""
    from sentio_ml.distill.tune import embed_fbank, tuned_head

    index = {c.path: i for i, c in enumerate(dataset.clips)}

    def fit_predict(train: list[Clip], test: list[Clip], fold: int) -> FoldOutput:
        rows = [index[c.path] for c in train]
        y, groups = dataset.labels(train), [c.split_key for c in train]
        alpha = fit_head(features[rows], y, groups)[0]
        tuned, offset, scale = tuned_head(part, fbank[rows], y, groups, alpha, epochs, seed=fold)
        with torch.inference_mode():
            raw = tuned.head(torch.as_tensor(embed_fbank(tuned, fbank[[index[c.path] for c in test]]))).numpy()
        return FoldOutput(np.clip(offset + scale * raw, 0, 1), [{"alpha": alpha, "scale": scale.tolist()}])

    return fit_predict


def fitted_part(part: AstPart, features: np.ndarray, dataset: Dataset, tune_epochs: int,
                fbank: torch.Tensor) -> tuple[AstPart, np.ndarray, np.ndarray, dict]:
    """The part with its head fitted on every clip (fine-tuned first when `tune_epochs`), and its calibration."""
    y, groups = dataset.labels(), [c.split_key for c in dataset.clips]
    alpha, offset, scale = fit_head(features, y, groups)
    if tune_epochs:
        from sentio_ml.distill.tune import tuned_head

        part, offset, scale = tuned_head(part, fbank, y, groups, alpha, tune_epochs)
    else:
        part.head.fit(features, y, alpha)
    return part, offset, scale, {"alpha": alpha, "fine_tune_epochs": tune_epochs}


def export(part: AstPart, offset: np.ndarray, scale: np.ndarray, head: dict, dataset: Dataset, state: dict,
           out: Path, metrics: dict, crop_dirs: list[Path], corpus: Path, *, version: str) -> None:
    """Save the one-part composition (the AST and its head) as a bundle with a generated card (listing what the
    crops took from the `corpus` manifest, when it is there)."""
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.distill.build import BUILDS_FILE, corpus_use
    from sentio_ml.features import FeatureConfig

    crop_builds = {d.name: json.loads((d / BUILDS_FILE).read_text()) for d in crop_dirs if (d / BUILDS_FILE).is_file()}
    model = Composition({"ast": part})
    model.weights.fill_(1.0)
    model.offset.copy_(torch.as_tensor(offset, dtype=torch.float32))
    model.scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
    fbank = state["stats"]["fbank"]
    bundle = Bundle.from_composition(
        model, name="sentio-fourq-ast", version=version, features=FeatureConfig(mean=fbank["mean"], std=fbank["std"]),
        normalisation_source="log-mel mean/std of the distillation corpus",
        training_data={"dataset": dataset.name, "clips": len(dataset), "head": head,
                       "distillation": {**{k: state[k] for k in ("teachers", "crops", "step") if k in state},
                                        "stages": state.get("stages", []), "crop_builds": crop_builds,
                                       **({"corpus": corpus_use(corpus, crop_dirs)} if corpus.is_file() else {})}},
        metrics=metrics)
    save_bundle(bundle, out)


def bundle_version(text: str) -> str:
    """`--version`: MAJOR.MINOR.PATCH, as every shipped bundle's version (it is part of the model id in users' tags)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a version like 2.2.0 (MAJOR.MINOR.PATCH)")
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--excerpts", type=int, default=3)
    parser.add_argument("--export", type=Path, help="also fit on every clip and write the bundle here")
    parser.add_argument("--version", type=bundle_version, default="2.0.0",
                        help="the exported bundle's version, part of its model id (default: %(default)s)")
    parser.add_argument("--corpus", type=Path, default=Path("cache/corpus/manifest.csv"), metavar="MANIFEST",
                        help="the corpus manifest the crops came from, for the exported card's corpus table "
                             "(default: %(default)s)")
    parser.add_argument("--probes", nargs="*", default=[], help="teachers to probe linearly (ablation)")
    parser.add_argument("--crops", type=Path, nargs="+", default=[],
                        help="the distillation crop folders (for --probes and --mood-epochs)")
    parser.add_argument("--tune-epochs", type=int, default=0,
                        help="also fine-tune the AST end to end for this many epochs per fold (0: frozen only)")
    parser.add_argument("--mood-epochs", type=int, default=0,
                        help="also train the AST on the --probes teachers' valence/arousal over every crop for this many "
                             "epochs per fold (sentio_ml.distill.moods); the exported variant when given")
    parser.add_argument("--random-control", action="store_true",
                        help="also score the same AST with random weights (the no-distillation control)")
    parser.add_argument("--scratch-epochs", type=int, default=0,
                        help="also train the same AST from random weights on the labels alone for this many epochs "
                             "per fold, with the --tune-epochs recipe (the from-scratch control)")
    args = parser.parse_args(argv)
    if (args.probes or args.mood_epochs) and not args.crops:
        parser.error("--probes and --mood-epochs need --crops (the folders the teachers' outputs are stored in)")
    if args.mood_epochs and not args.probes:
        parser.error("--mood-epochs needs --probes: the teachers whose valence/arousal the AST learns")
    return args


def cv(dataset: Dataset, fit_predict, name: str) -> CVResult:
    """`run_cv` with a progress bar over the folds (with ETA) and each fold's macro-F1 printed above it."""
    from sentio_ml.console import ProgressBar

    folds = sorted(set(dataset.folds or []))
    with ProgressBar(name, unit="fold") as bar:
        bar(0, len(folds))

        def report(result) -> None:
            bar.write(f"{name}: fold {result.fold} macro-F1 {result.metrics['quadrant']['macro_f1']:.3f}")
            bar(folds.index(result.fold) + 1, len(folds))

        return run_cv(dataset, fit_predict, name=name, on_fold=report)


def random_part(part: AstPart) -> AstPart:
    """The same AST with fresh random weights (ViT's initialisation), seeded: the no-distillation control."""
    from sentio_ml.ast_encoder import init_like_vit

    torch.manual_seed(0)
    control = AstPart(part.encoder.config).eval()
    init_like_vit(control.encoder)
    return control


def random_controls(part: AstPart, fbank: torch.Tensor, dataset: Dataset, probe: bool,
                    scratch_epochs: int) -> list[CVResult]:
    """The no-distillation controls: the random AST's frozen embedding + linear head (`probe`), and the same
    AST trained from those random weights on the labels for `scratch_epochs` (the fine-tuning recipe)."""
    from sentio_ml.distill.tune import embed_fbank

    control = random_part(part)
    features = embed_fbank(control, fbank)
    results = []
    if probe:
        results.append(cv(dataset, probe_fit_predict(features, dataset), "AST, random weights (no distillation)"))
    if scratch_epochs:
        results.append(cv(dataset, tuned_fit_predict(control, fbank, features, dataset, scratch_epochs),
                          f"AST from scratch: trained {scratch_epochs} epochs on the labels only + linear head"))
    return results


def main(argv: list[str] | None = None) -> int:
    from sentio_ml.distill.tune import embed_fbank
    from sentio_ml.evaluation.report import write_report

    args = parse_args(argv)
    torch.set_num_threads(2)
    # the excerpts' fbank once, for the frozen embeddings, the control and the fine-tuning alike
    part, state, dataset, _, fbank = student_on_fourq(args.student, args.data, args.out.parent / "fourq-excerpts.npy",
                                                      args.excerpts)
    args.out.mkdir(parents=True, exist_ok=True)
    features = embed_fbank(part, fbank)
    results = [cv(dataset, probe_fit_predict(features, dataset), "distilled AST + linear head")]
    probes = {teacher: teacher_clip_features(args.crops, teacher, dataset) for teacher in args.probes}
    for teacher, probe in probes.items():
        results.append(cv(dataset, probe_fit_predict(probe, dataset), f"teacher {teacher} (linear probe)"))
    if args.random_control or args.scratch_epochs:
        results.extend(random_controls(part, fbank, dataset, args.random_control, args.scratch_epochs))
    if args.tune_epochs:
        results.append(cv(dataset, tuned_fit_predict(part, fbank, features, dataset, args.tune_epochs),
                          f"distilled AST, fine-tuned {args.tune_epochs} epochs + linear head"))
    crops = None
    if args.mood_epochs:
        from sentio_ml.distill.moods import load_crops, moods_fit_predict

        crops = load_crops(args.crops, args.probes, part.encoder.config.pooled_frames, dataset)
        results.append(cv(dataset, moods_fit_predict(part, crops, probes, fbank, dataset, state["stats"]["fbank"],
                                                     args.mood_epochs),
                          f"distilled AST, trained on the teachers' moods {args.mood_epochs} epochs"))
    for item in results:
        print(json.dumps({"model": item.name, "macro_f1": item.summary()["quadrant.macro_f1"], "spread": spread_ratio(item)}),
              flush=True)
    command = " ".join(["sentio-ml distill heads", *(argv or sys.argv[1:])])
    write_report(results, args.out, command=command)
    if args.export:
        shipped = results[-1] if args.tune_epochs or args.mood_epochs else results[0]  # the variant that is exported
        if crops is not None:
            from sentio_ml.distill.moods import fit_moods

            every = np.arange(len(dataset))
            fitted, offset, scale = fit_moods(part, crops, probes, fbank, every, dataset.labels(),
                                              [c.split_key for c in dataset.clips], state["stats"]["fbank"], args.mood_epochs)
            head = {"mood_distillation": {"teachers": args.probes, "epochs": args.mood_epochs, "crops": len(crops),
                                          "crop_dirs": [f"cache/distill/{d.name}" for d in args.crops]}}
        else:
            fitted, offset, scale, head = fitted_part(part, features, dataset, args.tune_epochs, fbank)
        metrics = {"cv": shipped.to_dict()["summary"], "cv_name": shipped.name, "spread_ratio": spread_ratio(shipped),
                   "ablation": {r.name: r.summary()["quadrant.macro_f1"] for r in results}}
        if not args.corpus.is_file():
            print(f"No corpus manifest at {args.corpus}: the card will not list the corpus (see --corpus).")
        export(fitted, offset, scale, head, dataset, state, args.export, metrics, args.crops, args.corpus,
               version=args.version)
        write_report(results, args.export / "cv", command=command)  # the bundle's CV report matches its card
    return 0


if __name__ == "__main__":
    sys.exit(main())
