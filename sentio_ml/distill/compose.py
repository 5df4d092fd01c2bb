"""Ship the distilled AST together with another bundle: one composition, the AST at a fixed weight of at least half.

    sentio-ml distill compose --ast sentio_ml/resources/models/fast --with runs/mn04 \\
        --ast-weight 0.55 --out runs/default --version 4.0.0

The two bundles' own CV reports (their `cv/report.json`) give the composite's held-out score without retraining
anything: with fixed weights, the blend of the parts' out-of-fold predictions *is* the composite's out-of-fold
prediction (`sentio_ml.distill.blend`). The weight is chosen before looking at any score; `--ast-weight` below
half is refused, because the AST must carry at least half of the output. The written bundle holds both parts'
weights, a CV report of the parts and the composite (with each part's own report and logs under cv/NAME and
logs/NAME), and a card that includes each part's own card.

The other bundle is a teacher's linear probe (`sentio-ml distill probes --export`; the default since 4.0.0) or the
hybrid of `sentio-ml train`; its part is named after its one part, or "hybrid" (`--with-name` to choose). When both
read the fbank but normalise it differently, the AST is rewritten to read the other bundle's fbank exactly (the
affine change of normalisation folded into its patch projection), so the composite computes one fbank.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import sys
from pathlib import Path

import torch

from sentio_ml.bundle import Bundle, load_bundle, model_id, save_bundle
from sentio_ml.composition import AstPart, Composition
from sentio_ml.distill.blend import blend, pick
from sentio_ml.distill.finetune import bundle_version
from sentio_ml.evaluation.crossval import CVResult, cv_result_from_dict
from sentio_ml.evaluation.report import write_report
from sentio_ml.evaluation.spread import spread_ratio
from sentio_ml.features import FeatureConfig


def renormalise(part: AstPart, trained_on: FeatureConfig, reads: FeatureConfig) -> None:
    """Make `part`, trained on fbank normalised with `trained_on`'s mean/std, give the same outputs on fbank
    normalised with `reads`' instead. Both are (log-mel − mean) / (2·std), so x_trained = a·x_read + b with
    a = std_read / std_trained and b = (mean_read − mean_trained) / (2·std_trained); time pooling is linear and the
    patch projection a convolution without padding, so W·(a·x + b) + c = (a·W)·x + (c + b·ΣW) is exact."""
    if (trained_on.num_mel_bins, trained_on.frames, trained_on.sample_rate) != (
            reads.num_mel_bins, reads.frames, reads.sample_rate):
        raise SystemExit("The two bundles' fbanks differ in shape or rate; only their normalisation may differ.")
    scale = reads.std / trained_on.std
    shift = (reads.mean - trained_on.mean) / (2.0 * trained_on.std)
    projection = part.encoder.backbone.embeddings.patch_embeddings.projection
    with torch.no_grad():
        projection.bias += shift * projection.weight.sum(dim=(1, 2, 3))
        projection.weight *= scale


def shipped_result(bundle: Bundle, fragment: str | None) -> CVResult:
    """The model of the bundle's cv/report.json that the bundle ships (its metrics name it), or the one named."""
    report = bundle.path / "cv" / "report.json"  # load_bundle always records where it read the bundle
    if not report.is_file():
        raise SystemExit(f"'{bundle.path}' has no cv/report.json: the composite's score comes from its parts' reports.")
    results = [cv_result_from_dict(m) for m in json.loads(report.read_text())["models"]]
    fragment = fragment or bundle.metrics.get("cv_name") or bundle.metrics.get("spread_calibration", {}).get("name")
    if not fragment:
        raise SystemExit(f"'{report}' does not say which of its models the bundle ships; name it with --ast-model/--with-model.")
    exact = [r for r in results if r.name == fragment]
    return exact[0] if exact else pick(results, fragment)


def fbank_source(ast: Bundle, other: Bundle) -> Bundle:
    """The bundle whose fbank normalisation the composite uses: the other's when it reads the fbank, else the AST's."""
    return other if "fbank" in other.model.views else ast


def compose(ast: Bundle, other: Bundle, ast_weight: float, name: str) -> Composition:
    """Composition {"ast": the AST bundle's model reading the composite's fbank, `name`: `other`'s model}, weighted."""
    if not isinstance(ast.model, Composition) or not isinstance(other.model, Composition):
        raise SystemExit("Both bundles must be compositions (format version 2).")
    if (ast.excerpts, ast.excerpt_seconds) != (other.excerpts, other.excerpt_seconds):
        raise SystemExit("The two bundles take different excerpts; a composite averages the same excerpts.")
    reader = copy.deepcopy(ast.model)
    parts = [part for part in reader.modules() if isinstance(part, AstPart)]
    if not parts:
        raise SystemExit(f"'{ast.path}' has no AST part.")
    for part in parts:
        renormalise(part, ast.feature_config, fbank_source(ast, other).feature_config)
    model = Composition({"ast": reader, name: copy.deepcopy(other.model)})
    model.weights.copy_(torch.tensor([[ast_weight] * 2, [1.0 - ast_weight] * 2]))
    return model.eval()


def card(bundle: Bundle, ast: Bundle, other: Bundle, name: str, results: list[CVResult], command: str) -> str:
    """The composite's card: what it computes and scores, how to rebuild it, then each part's own card."""
    from sentio_ml.model_card import cv_table

    metrics = bundle.metrics
    composite = results[-1]
    lines = [
        f"# {bundle.name} {bundle.version}", "",
        "Predicts valence (sad ↔ happy) and arousal (calm ↔ energetic) on [0, 1] (0.5 = neutral) for a music track: "
        f"the mean over {bundle.excerpts} evenly spread excerpts of {bundle.excerpt_seconds:.2f} s.", "",
        "## Composition", "",
        f"The distilled AST and `{name}`, averaged with fixed weights; generated from the bundle (`sentio_ml.composition`).",
        "", bundle.model.describe(), "",
        f"- `ast`: `{model_id(ast)}`" + (", its fbank normalisation folded into its patch projection so both parts read "
                                         "one fbank." if "fbank" in other.model.views else "."),
        f"- `{name}`: `{model_id(other)}`.", "",
        "## Cross-validation (5 fixed artist-disjoint 4Q folds, mean ± std over folds)", "",
        "The parts' out-of-fold predictions from their own CV reports, blended with the bundle's fixed weights: with "
        "fixed weights this is the composite's own held-out prediction (nothing was refitted).", "",
        f"Command: `{command}`", "",
        "| model | macro-F1 | valence CCC | arousal CCC | spread (valence, arousal) |", "|---|---|---|---|---|",
    ]
    sources = {"AST alone": model_id(ast), f"{name} alone": model_id(other)}
    for result in results:
        summary = result.summary()
        label = f"{result.name} (`{sources[result.name]}`)" if result.name in sources else result.name
        lines.append(f"| {label} | {summary['quadrant.macro_f1'][0]:.3f} ± {summary['quadrant.macro_f1'][1]:.3f} | "
                     f"{summary['valence.ccc'][0]:.3f} | {summary['arousal.ccc'][0]:.3f} | {spread_ratio(result)} |")
    lines += ["", f"The composite in full ({composite.name}):", "", *cv_table(metrics["cv"]), "",
              f"Share of the output's variance per part on the held-out folds (valence, arousal; Cov(contribution, "
              f"output) / Var(output), mean over folds): {metrics['shares']}.", "",
              "## Rebuild from nothing", "",
              f"Rebuild the AST as its card below says (`--export runs/fast`), `{name}` as its own card says "
              f"(writing to `runs/{name}`), then:", "",
              "```", f"sentio-ml distill compose --ast runs/fast --with runs/{name} --with-name {name} --ast-weight "
              f"{bundle.config['training_data']['ast_weight']} --out runs/default --version {bundle.version}", "```", "",
              "## Limits", "",
              "- It costs what its parts cost together (README \"Performance\"); `--model fast` is the AST alone.",
              "- Everything the parts' cards below say about their data and limits holds for it.", ""]
    for part_name, part in (("ast", ast), (name, other)):
        demoted = re.sub(r"^(#+) ", r"#\1 ", part.card.strip(), flags=re.MULTILINE)
        # a part's own rebuild command writes where the part goes now, never over the shipped default
        demoted = demoted.replace("--out sentio_ml/resources/models/default", f"--out runs/{part_name}")
        lines += [f"## Part `{part_name}`: {part.name} {part.version}", "", demoted.split("\n", 1)[1].strip(), ""]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sentio-ml distill compose", description=__doc__.splitlines()[0])
    parser.add_argument("--ast", type=Path, required=True, metavar="BUNDLE", help="the distilled AST's bundle folder")
    parser.add_argument("--with", dest="other", type=Path, required=True, metavar="BUNDLE",
                        help="the bundle to blend it with (a teacher's probe, or the hybrid)")
    parser.add_argument("--with-name", metavar="NAME",
                        help="its part's name in the composite (default: its one part's name, e.g. mn04; else 'hybrid')")
    parser.add_argument("--ast-weight", type=float, default=0.55,
                        help="the AST's weight, both dimensions, 0.5–1 (default %(default)s: the smallest 0.05 step "
                             "whose share of the output's variance was at least half on both dimensions)")
    parser.add_argument("--ast-model", help="the AST's model in its cv/report.json (default: the one it ships)")
    parser.add_argument("--with-model", help="the other bundle's model in its cv/report.json (default: the one it ships)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the composite bundle")
    parser.add_argument("--version", type=bundle_version, default="4.0.0",
                        help="the composite's version, part of its model id (default: %(default)s)")
    args = parser.parse_args(argv)
    if not 0.5 <= args.ast_weight <= 1.0:
        parser.error(f"--ast-weight must be between 0.5 and 1 (got {args.ast_weight}): the AST carries at least half")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ast, other = load_bundle(args.ast), load_bundle(args.other)
    name = args.with_name or (next(iter(other.model.parts)) if len(other.model.parts) == 1 else "hybrid")
    if name == "ast":
        raise SystemExit("--with-name: 'ast' is the AST's part; name the other part differently.")
    ast_result, other_result = shipped_result(ast, args.ast_model), shipped_result(other, args.with_model)
    composite = blend({"ast": (ast_result, args.ast_weight), name: (other_result, 1.0 - args.ast_weight)})
    composite.name = f"composite, {args.ast_weight:.2f} AST + {1 - args.ast_weight:.2f} {name}"
    results = [CVResult(name="AST alone", scale=ast_result.scale, folds=ast_result.folds),
               CVResult(name=f"{name} alone", scale=other_result.scale, folds=other_result.folds), composite]
    notes = (f"AST alone: '{ast_result.name}' of {model_id(ast)}'s report; {name} alone: '{other_result.name}' of "
             f"{model_id(other)}'s; the composite blends their out-of-fold predictions with the bundle's weights.")
    command = " ".join(["sentio-ml distill compose", *(argv if argv is not None else sys.argv[1:])])
    metrics = {"cv": composite.to_dict()["summary"], "cv_name": composite.name, "spread_ratio": spread_ratio(composite),
               "shares": composite.mean_shares(),
               "parts": {part_name: {"model_id": model_id(part), "cv_name": result.name, "metrics": part.metrics}
                         for part_name, part, result in (("ast", ast, ast_result), (name, other, other_result))}}
    fbank_from = fbank_source(ast, other)
    bundle = Bundle.from_composition(
        compose(ast, other, args.ast_weight, name), name=f"sentio-fourq-ast-{name.replace('_', '-')}",
        version=args.version, features=fbank_from.feature_config,
        normalisation_source=fbank_from.config["normalisation"]["source"], excerpts=other.excerpts,
        training_data={**{key: other.config.get("training_data", {}).get(key) for key in ("dataset", "clips")},
                       "composed_of": {part_name: {"model_id": model_id(part),
                                                   "training_data": part.config.get("training_data", {})}
                                       for part_name, part in (("ast", ast), (name, other))},
                       "ast_weight": args.ast_weight},
        metrics=metrics)
    bundle.card = card(bundle, ast, other, name, results, command)
    save_bundle(bundle, args.out)
    write_report(results, args.out / "cv", command=command, notes=notes)
    for part_name, part in (("ast", ast), (name, other)):  # each part's own CV report and training logs, kept
        for folder in ("cv", "logs"):
            if (part.path / folder).is_dir():
                shutil.copytree(part.path / folder, args.out / folder / part_name, dirs_exist_ok=True)
    f1 = metrics["cv"]["quadrant.macro_f1"]
    print(json.dumps({"bundle": str(args.out), "model_id": model_id(load_bundle(args.out)),
                      "macro_f1": [round(f1["mean"], 3), round(f1["std"], 3)], "shares": metrics["shares"],
                      "spread": metrics["spread_ratio"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
