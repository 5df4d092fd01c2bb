"""`sentio-ml`: the model's headless command line (predict, train, cv, gan ...).

Each subcommand lives in its own module under `sentio_ml.commands` exposing
`register(subparsers) -> None`; the parser sets `func(args) -> int` on its namespace.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules under sentio_ml.commands, in the order `--help` lists them.
COMMAND_MODULES = ["predict", "train", "cv", "evaluate", "gan"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-ml",
        description="Sentio's mood model: predict valence/arousal for audio files, train and evaluate models.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"sentio_ml.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"sentio_ml.commands.{name}":
                continue  # command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from sentio_ml.errors import SentioMLError

    try:
        return int(args.func(args) or 0)
    except SentioMLError as exc:
        print(f"sentio-ml: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sentio-ml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
