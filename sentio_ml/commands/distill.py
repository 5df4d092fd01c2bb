"""`sentio-ml distill STEP ...`: the steps that rebuild the shipped model, each a `sentio_ml.distill` module.

    sentio-ml distill corpus  --out cache/corpus                  # unlabelled music (+ --unlabeled DIR)
    sentio-ml distill crops   --manifest cache/corpus/manifest.csv --out cache/distill/crops
    sentio-ml distill targets --crops cache/distill/crops --teachers musicnn_msd mn04
    sentio-ml distill student --crops cache/distill/crops --out cache/distill/student --teachers musicnn_msd mn04
    sentio-ml distill heads   --student cache/distill/student --out runs/heads --export DIR
    sentio-ml distill probes  --out runs/probes                   # each teacher alone (ablation)
    sentio-ml distill probes  --out runs/probes-mn04 --teachers mn04 --export runs/mn04   # one probe as a bundle
    sentio-ml distill blend   runs/heads/report.json --blend moods=0.5 mn04=0.5   # would an ensemble help?
    sentio-ml distill compose --ast runs/fast --with runs/mn04 --out runs/default  # the AST + the probe: the default

`sentio-ml distill STEP --help` shows each step's options.
"""
from __future__ import annotations

import argparse
import importlib

STEPS = {
    "corpus": ("sentio_ml.distill.corpus", "build the unlabelled corpus manifest (Debian soundtracks, 4Q, your folders)"),
    "crops": ("sentio_ml.distill.build", "render augmented 10-s crops of the corpus into shards"),
    "targets": ("sentio_ml.distill.targets", "compute the teachers' outputs and the student's input for every crop"),
    "student": ("sentio_ml.distill.student", "train the AST on the teachers' outputs (resumable)"),
    "heads": ("sentio_ml.distill.finetune", "fit valence/arousal heads, cross-validate, export a bundle"),
    "probes": ("sentio_ml.distill.probes", "each teacher alone: a linear probe on its outputs, cross-validated; "
                                           "--export writes one as a bundle"),
    "blend": ("sentio_ml.distill.blend", "score fixed-weight blends of a heads report's models (would an ensemble help?)"),
    "compose": ("sentio_ml.distill.compose",
                "one bundle of the AST and another bundle at fixed weights, scored from their CV reports"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("distill", help="rebuild the model: corpus, crops, teacher targets, student, heads",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    for name, (module, text) in STEPS.items():
        step = steps.add_parser(name, help=text, add_help=False, prefix_chars="+")  # every option goes to the step
        step.add_argument("rest", nargs=argparse.REMAINDER)
        step.set_defaults(func=run, module=module)


def run(args: argparse.Namespace) -> int:
    import sys

    sys.argv[0] = f"sentio-ml distill {args.step}"  # the step's own parser names itself after argv[0]
    return int(importlib.import_module(args.module).main(args.rest) or 0)
