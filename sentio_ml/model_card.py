"""The model card of a composition bundle, generated from the bundle's own config and metrics (never by hand).

Sections appear when the bundle carries what they need: the composition table (always), the distillation
(teachers with licences, corpus), the cross-validation summary with spread ratios and each part's share.
"""
from __future__ import annotations

from typing import Any

HEADLINE_METRICS = (
    "quadrant.macro_f1", "quadrant.accuracy", "valence.ccc", "valence.pearson_r", "valence.rmse",
    "arousal.ccc", "arousal.pearson_r", "arousal.rmse",
)
CORPUS_COMMANDS = (
    "sentio-ml distill corpus  --out cache/corpus",
    "python scripts/convert_teachers.py",
    "grep -e '^file,' -e ',fourq,' cache/corpus/manifest.csv > cache/fourq.csv",
    "grep -v ',fourq,' cache/corpus/manifest.csv > cache/rest.csv",
)
# every card of a model whose head learned from the 4Q labels says so under "Limits"
FOURQ_LABELS_LIMIT = ("- Trained on 720 30-s previews of the 4Q set (AllMusic mood words mapped to Warriner norms); "
                      "labels describe a clip's tags, not a listener's ratings.")
# bundles exported before the crop builds and the student's stages were recorded were made this way
FIRST_BUILDS = {"crops": [{"manifest": "fourq.csv", "variants": 3, "max_per_file": 12, "seed": 0},
                          {"manifest": "rest.csv", "variants": 2, "max_per_file": 1, "seed": 0}]}


def rebuild_commands(distillation: dict[str, Any], head_options: str) -> str:
    """The command sequence that made the bundle: corpus, crops per folder, targets, the student's stages, heads."""
    teachers = " ".join(distillation["teachers"])
    lines = list(CORPUS_COMMANDS)
    for folder, builds in (distillation.get("crop_builds") or FIRST_BUILDS).items():
        lines += [f"sentio-ml distill crops   --manifest cache/{b['manifest']} --out cache/distill/{folder} "
                  f"--variants {b['variants']} --max-per-file {b['max_per_file']} --seed {b['seed']}" for b in builds]
        lines.append(f"sentio-ml distill targets --crops cache/distill/{folder} --teachers {teachers}")
    for stage in distillation.get("stages") or [{"crops": ["crops"], "steps": distillation["step"], "lr": 5e-4}]:
        folders = " ".join(f"cache/distill/{c}" for c in stage["crops"])
        options = "".join(f" --{name} {stage[name]}" for name in ("preset", "masks", "mixup", "whiten") if name in stage)
        lines.append(f"sentio-ml distill student --crops {folders} --out cache/distill/student --teachers {teachers} "
                     f"--steps {stage['steps']} --lr {stage['lr']:g}{options}")
    lines.append(f"sentio-ml distill heads   --student cache/distill/student --out runs/heads {head_options} --export BUNDLE_DIR")
    return "\n".join(["```", *lines, "```", "(docs/distillation.md explains each step; each further `student` line "
                       "continues the run before it with a longer schedule, as this bundle's student was trained.)"])


def cv_table(summary: dict[str, Any]) -> list[str]:
    lines = ["| metric (5 fixed artist-disjoint 4Q folds) | mean ± std |", "|---|---|"]
    for key in HEADLINE_METRICS:
        if key in summary:
            value = summary[key]
            mean, std = (value["mean"], value["std"]) if isinstance(value, dict) else value
            lines.append(f"| {key} | {mean:.3f} ± {std:.3f} |")
    return lines


def _teacher_lines(teachers: list[str]) -> list[str]:
    from sentio_ml.teachers import load_teacher

    lines = []
    for name in teachers:
        try:
            licence = load_teacher(name).licence
        except Exception:  # noqa: BLE001 - a card is still written without the teacher's weights at hand
            licence = "licence: see sentio_ml/resources/pretrained"
        lines.append(f"- `{name}`: {licence}")
    return lines


def _corpus_table(rows: list[dict[str, Any]]) -> list[str]:
    """What the corpus held per package and what the crops took from it (sentio_ml.distill.build.corpus_use)."""
    lines = ["| corpus package | licence | files | hours | crop positions taken (files) | hours heard |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['package']} | {row['licence']} | {row['files']} | {row['hours']:.2f} | "
                     f"{row['positions']} ({row['files_used']}) | {row['hours_used']:.2f} |")
    total = {key: sum(row[key] for row in rows) for key in ("files", "hours", "positions", "files_used", "hours_used")}
    lines.append(f"| **total** | | {total['files']} | {total['hours']:.2f} | {total['positions']} ({total['files_used']}) "
                 f"| {total['hours_used']:.2f} |")
    return lines + ["", "Each crop position is one 10.26-s excerpt, rendered clean and augmented (docs/distillation.md); "
                        "the corpus stays on the machine that built it."]


def _head_text(training: dict[str, Any]) -> str:
    head, clips = training.get("head", {}), f"{training.get('clips', '?')} clips of `{training['dataset']}`"
    moods = head.get("mood_distillation")
    if moods:
        return (f"The AST and a linear layer were then trained for {moods['epochs']} epochs on {moods['crops']} crops, "
                f"each with a target from the teachers' own valence/arousal probes ({', '.join(moods['teachers'])}, "
                f"fitted on the {clips}; labels on 1–9 mapped by (x − 1) / 8), averaged with the label on crops "
                "of labelled clips (sentio_ml.distill.moods). The spread calibration comes from artists held out of "
                "that training.")
    return f"Fitted on {clips} (labels on 1–9 mapped by (x − 1) / 8): {head}."


def _head_options(head: dict[str, Any]) -> str:
    moods = head.get("mood_distillation")
    if moods:
        return (f"--probes {' '.join(moods['teachers'])} --crops {' '.join(moods.get('crop_dirs', ['cache/distill/crops']))} "
                f"--mood-epochs {moods['epochs']}")
    return f"--tune-epochs {head.get('fine_tune_epochs', 0)}"


def composition_card(bundle) -> str:
    """Markdown card for a version-2 (composition) bundle."""
    config, metrics = bundle.config, bundle.metrics
    features, training = config["features"], config.get("training_data", {})
    lines = [
        f"# {bundle.name} {bundle.version}",
        "",
        "Predicts valence (sad ↔ happy) and arousal (calm ↔ energetic) on [0, 1] (0.5 = neutral) from audio: "
        f"{bundle.excerpts} excerpts of {bundle.excerpt_seconds:.2f} s per track, averaged.",
        "",
        "## Composition",
        "",
        bundle.model.describe(),
        "",
        f"Input: {features['num_mel_bins']}-bin Kaldi log-mel at {features['sample_rate']} Hz, normalised with "
        f"mean {features['mean']:.3f}, std {features['std']:.3f} ({config['normalisation']['source']}).",
    ]
    distillation = training.get("distillation")
    if distillation:
        lines += ["", "## Distillation", "",
                  f"The AST was trained from scratch to predict the outputs of {len(distillation['teachers'])} pretrained "
                  f"taggers on {distillation['crops']} augmented crops of unlabelled music ({distillation['step']} steps); "
                  "no labels were used in this stage.", "", *_teacher_lines(distillation["teachers"])]
        if distillation.get("corpus"):
            lines += ["", *_corpus_table(distillation["corpus"])]
    if training.get("dataset"):
        lines += ["", "## Valence/arousal head", "", _head_text(training)]
    if metrics.get("cv"):
        lines += ["", "## Cross-validation", "", *cv_table(metrics["cv"])]
    if metrics.get("spread_ratio"):
        lines += ["", f"Spread of held-out predictions over the labels' (valence, arousal): {metrics['spread_ratio']}."]
    if metrics.get("shares"):
        lines += ["", f"Share of the output's variance per part on held-out folds: {metrics['shares']}."]
    elif len(bundle.model.parts) == 1:
        lines += ["", f"One part: `{next(iter(bundle.model.parts))}` supplies all of the output."]
    if distillation:
        lines += ["", "## Rebuild from nothing", "",
                  rebuild_commands(distillation, f"{_head_options(training.get('head', {}))} --version {bundle.version}")]
    lines += ["", "## Limits", "", FOURQ_LABELS_LIMIT,
              "- Speech, nature sounds and other non-music get values too; they mean nothing there (the Predictor's music "
              "check flags such tracks 'not music' and playlists leave them out: sentio_ml.music_detector).",
              "- Western popular and game music dominate the corpus; other traditions are less well covered."]
    return "\n".join(lines) + "\n"


def update_internals_doc(doc, bundle, name: str) -> None:
    """Replace the `name` composition block of docs/internals.md with the bundle's own description."""
    start, end = f"<!-- composition:{name}:start -->", f"<!-- composition:{name}:end -->"
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    doc.write_text(f"{head}{start}\n{bundle.model.describe()}\n{end}{tail}", encoding="utf-8")


def record_corpus(bundle, manifest, crop_dirs) -> None:
    """Store the corpus use (sentio_ml.distill.build.corpus_use) in a distilled bundle's config.json; the weights,
    and so the model id, stay as they are."""
    import json

    from sentio_ml.bundle import CONFIG_FILE, write_atomic
    from sentio_ml.distill.build import corpus_use

    distillation = bundle.config.get("training_data", {}).get("distillation")
    if distillation is None:
        raise SystemExit(f"'{bundle.path}' is not a distilled bundle: it has no corpus to record.")
    if not manifest.is_file():
        raise SystemExit(f"There is no corpus manifest at '{manifest}' (sentio-ml distill corpus writes one).")
    distillation["corpus"] = corpus_use(manifest, crop_dirs)
    write_atomic(bundle.path / CONFIG_FILE, (json.dumps(bundle.config, indent=2, default=float) + "\n").encode())


def main(argv: list[str] | None = None) -> int:
    """python -m sentio_ml.model_card [--bundle NAME|DIR] [--internals]: rewrite a distilled bundle's card (a
    `sentio-ml train` bundle's card is written by its training) and, with --internals, the doc's block for it."""
    import argparse
    from pathlib import Path

    from sentio_ml.bundle import CARD_FILE, load_bundle

    parser = argparse.ArgumentParser(description="Regenerate a composition bundle's MODEL_CARD.md from its metadata.")
    parser.add_argument("--bundle", type=Path, help="bundle folder or shipped name (default: the shipped default)")
    parser.add_argument("--internals", action="store_true",
                        help="also update docs/internals.md's composition block named after the bundle's folder")
    parser.add_argument("--corpus", type=Path, metavar="MANIFEST",
                        help="record what the distillation took from this corpus manifest (with --crops) in the "
                             "bundle's config first, for a bundle exported without it")
    parser.add_argument("--crops", type=Path, nargs="+", default=[], help="the student's crop folders (with --corpus)")
    args = parser.parse_args(argv)
    if bool(args.corpus) != bool(args.crops):
        parser.error("--corpus and --crops go together")
    bundle = load_bundle(args.bundle)
    if bundle.path is None:
        raise SystemExit("no bundle folder")
    if args.corpus:
        record_corpus(bundle, args.corpus, args.crops)
    if bundle.config.get("training_data", {}).get("distillation"):
        (bundle.path / CARD_FILE).write_text(composition_card(bundle), encoding="utf-8")
    if args.internals:
        update_internals_doc(Path(__file__).resolve().parents[1] / "docs" / "internals.md", bundle, bundle.path.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
