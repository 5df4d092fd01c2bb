"""`sentio-ml`: the model's headless command line (predict, train, cv, gan ...).

Each subcommand lives in its own module under `sentio_ml.commands` exposing
`register(subparsers) -> None`; the parser sets `func(args) -> int` on its namespace. Those modules
import nothing heavy at the top (torch, librosa, scikit-learn, the GAN package are imported inside the
command functions), so `sentio-ml --help` and argument errors are instant; tests/ml/test_cli_startup.py
checks it. Exit codes are the same as `sentio`'s.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules under sentio_ml.commands, in the order `--help` lists them.
COMMAND_MODULES = ["predict", "distill", "train", "cv", "evaluate", "gan"]
EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EPILOG = """\
exit codes: 0 success; 1 finished, but some files failed (each reported on stderr); 2 bad command line;
            3 could not run (one sentence says why: no model, unavailable device, bad dataset ...);
            130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-ml",
        description="Sentio's mood model: predict valence/arousal for audio files, train and evaluate models.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"sentio_ml.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from sentio_ml.errors import SentioMLError

    try:
        return int(args.func(args) or 0)
    except SentioMLError as exc:
        print(f"sentio-ml: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("sentio-ml: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
