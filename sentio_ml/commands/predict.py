"""`sentio-ml predict`: valence/arousal for audio files or folders, as a table, JSON or CSV."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import threading
from pathlib import Path
from typing import Iterable

from sentio_ml.console import ProgressBar, positive_float, positive_int
from sentio_ml.devices import DEVICE_HELP, PRECISIONS, device_argument
from sentio_ml.errors import os_error_reason

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
output:
  valence (sad 0 .. 1 happy) and arousal (calm 0 .. 1 energetic) on [0, 1], 0.5 = neutral, averaged
  over --excerpts excerpts spread over each track; plus a mood word and the Russell quadrant
  (1 happy/excited, 2 tense/angry, 3 sad/depressed, 4 calm/relaxed). --json also gives each
  excerpt's start/end and values (the track's timeline) and the model id.
  music is the probability (0..1) that the track is music at all (AudioSet's "Music" class, EfficientAT
  mn04 on the middle excerpt); below 0.5 the table shows the mood as "not music" (speech, animal
  sounds, field recordings). --no-music-check skips it (the column stays empty).

model:
  --model DIR is a bundle folder (config.json + model.safetensors); without it Sentio uses
  $SENTIO_MODEL or the shipped default (the distilled AST with an mn04 probe). --model fast is the
  distilled AST alone: about 1.5x the bulk rate, a little less accurate. Train your own with
  `sentio-ml train ...`.

exit status: 0 all files predicted, 1 some files failed (each reported on stderr), 2 bad usage,
  3 could not run (no model, unavailable device ...), 130 interrupted.

examples:
  sentio-ml predict song.mp3
  sentio-ml predict ~/Music --recursive --csv -o moods.csv
  sentio-ml predict a.flac b.ogg --model runs/small-v1 --device cpu --json
"""

def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict valence/arousal for audio files or folders",
        description="Predict each track's valence and arousal with a Sentio model bundle.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE|DIR", help="audio files and/or folders of audio files")
    parser.add_argument("-r", "--recursive", action="store_true", help="also look in sub-folders of DIRs")
    parser.add_argument("--model", metavar="BUNDLE",
                        help="model bundle folder, or fast (default: $SENTIO_MODEL or the bundled default)")
    parser.add_argument("--device", type=device_argument, default="auto", help=f"{DEVICE_HELP}; default auto")
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="excerpts per model call (default: 32 on a GPU, 8 on the CPU, the measured best of each)")
    parser.add_argument("--excerpts", type=positive_int, metavar="N",
                        help="excerpts per track (default: the bundle's, usually 3)")
    parser.add_argument("--excerpt-seconds", type=positive_float, metavar="S",
                        help="length of each excerpt (default: the model's input length)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto = int8 on the CPU and bf16 on a GPU for large models only (20 M+ Linear weights, "
                             "e.g. base), fp32 for the shipped ones, which gain little from it and would have their "
                             "values tied to the batch; int8 runs on the CPU only, fp16 on GPUs only (default auto)")
    # before --precision existed: --quantize int8|none|auto, kept working for scripts
    parser.add_argument("--quantize", dest="precision", choices=["auto", "int8", "none"], help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=positive_int, default=2, metavar="N",
                        help="decoding threads (default 2)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="CPU threads for the model (default: the cores minus --workers, at least 1)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="JSON output (with timelines)")
    fmt.add_argument("--csv", dest="format", action="store_const", const="csv", help="CSV output, one row per file")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the results to FILE (format from --json/--csv or the .json/.csv extension)")
    parser.add_argument("--no-music-check", dest="detect_music", action="store_false",
                        help="do not rate whether each track is music at all (a little faster)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run, format=None)


def collect_inputs(inputs: Iterable[str], recursive: bool) -> tuple[list[Path], list[str], list[str]]:
    """Files to predict (explicit files as given, folders expanded to supported audio), problems found (they make
    the exit status 1) and notes (they do not: sub-folders left out without --recursive)."""
    from sentio_ml.audio import SUPPORTED_EXTENSIONS

    files: list[Path] = []
    problems: list[str] = []
    notes: list[str] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            try:
                # --recursive walks a whole library lazily; one folder's entries are kept to count its sub-folders
                entries = path.rglob("*") if recursive else list(path.iterdir())
                found = sorted(p for p in entries if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
                folders = 0 if recursive else sum(1 for p in entries if p.is_dir())
            except OSError as exc:
                problems.append(f"Cannot list the folder '{path}': {os_error_reason(exc)}.")
                continue
            if not found:
                hint = "" if recursive else " (use --recursive to look in sub-folders)"
                problems.append(f"No supported audio files in '{path}'{hint}.")
            elif folders:
                notes.append(f"'{path}' has {folders} sub-folder{'s' if folders > 1 else ''}, not searched "
                             "(add --recursive to include them).")
            files.extend(found)
        else:
            files.append(path)  # missing or unreadable files are reported per file by the predictor
    return files, problems, notes


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render_table(results) -> str:
    from sentio_ml.music_detector import shown_mood

    rows = [("file", "valence", "arousal", "mood", "quadrant", "music", "duration")]
    for r in results:
        if r.ok:
            rows.append((str(r.path), _fmt(r.valence), _fmt(r.arousal), shown_mood(r.mood, r.music), f"Q{r.quadrant}",
                         _fmt(r.music, 2), f"{r.duration:.1f}s"))
        else:
            rows.append((str(r.path), "-", "-", "error", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i in (0, 3) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_csv(results) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "valence", "arousal", "mood", "quadrant", "music", "duration", "error"])
    for r in results:
        writer.writerow([str(r.path), _fmt(r.valence), _fmt(r.arousal), r.mood or "", r.quadrant or "",
                         _fmt(r.music), _fmt(r.duration, 2), r.error or ""])
    return buffer.getvalue()


def render_json(results, model_id: str, device: str, precision: str) -> str:
    tracks = []
    for r in results:
        data = r.to_dict()
        for key in ("valence", "arousal", "music"):
            data[key] = None if data[key] is None else round(data[key], 4)
        data["excerpts"] = [{k: round(v, 4) for k, v in e.items()} for e in data["excerpts"]]
        tracks.append(data)
    return json.dumps({"model_id": model_id, "device": device, "precision": precision, "tracks": tracks},
                      indent=2, ensure_ascii=False) + "\n"


def _unwritable(target: Path) -> str | None:
    """One sentence saying why `target` cannot be written, or None."""
    if target.is_dir():
        return f"Cannot write the results to '{target}': it is a folder."
    probe = target.with_name(target.name + ".partial")
    try:
        with open(probe, "w", encoding="utf-8"):
            pass
        probe.unlink()
    except OSError as exc:
        return f"Cannot write the results to '{target}': {os_error_reason(exc)}."
    return None


def _write_output(text: str, destination: str | None) -> None:
    if destination is None or destination == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from sentio_ml.errors import SentioMLError

    target = Path(destination).expanduser()
    tmp = target.with_name(target.name + ".partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise SentioMLError(f"Cannot write the results to '{target}': {os_error_reason(exc)}.") from exc


def _predict_all(predictor, files: list[Path], quiet: bool) -> tuple[list, bool]:
    """Every file's prediction (completion order) and whether Ctrl-C stopped it early; one `error:` line per
    failed file above the progress bar."""
    cancel = threading.Event()
    results = []
    bar = ProgressBar("", unit="file", quiet=quiet or len(files) < 2 or None)
    try:
        for prediction in predictor.predict_iter(files, cancel=cancel):
            results.append(prediction)
            if not prediction.ok:
                bar.write(f"error: {prediction.error}")
            bar(len(results), len(files))
    except KeyboardInterrupt:
        cancel.set()
        return results, True
    finally:
        bar.close()
    return results, False


def run(args: argparse.Namespace) -> int:
    from sentio_ml.bundle import load_bundle
    from sentio_ml.predictor import Predictor

    files, problems, notes = collect_inputs(args.inputs, args.recursive)
    for problem in problems:
        print(f"sentio-ml predict: {problem}", file=sys.stderr)
    for note in notes:
        print(f"sentio-ml predict: note: {note}", file=sys.stderr)
    if not files:
        print("sentio-ml predict: nothing to predict.", file=sys.stderr)
        return EXIT_USAGE
    fmt = args.format
    if fmt is None and args.output:
        fmt = {".json": "json", ".csv": "csv"}.get(Path(args.output).suffix.lower())
    fmt = fmt or "table"

    if args.output and args.output != "-":
        problem = _unwritable(Path(args.output).expanduser())
        if problem:  # checked before the (possibly long) run so no work is lost
            print(f"sentio-ml predict: {problem}", file=sys.stderr)
            return EXIT_USAGE

    bundle = load_bundle(args.model)  # BundleError (says how to get a model) is reported by sentio_ml.cli
    predictor = Predictor(bundle, device=args.device, batch_size=args.batch_size, precision=args.precision,
                          decode_workers=args.workers, excerpts=args.excerpts, excerpt_seconds=args.excerpt_seconds,
                          threads=args.threads, detect_music=args.detect_music)
    results, interrupted = _predict_all(predictor, files, quiet=args.quiet)
    order = {path: i for i, path in reversed(list(enumerate(files)))}
    results.sort(key=lambda r: order.get(r.path, len(files)))
    if fmt == "json":
        text = render_json(results, predictor.model_id, predictor.device_name, predictor.precision)
    elif fmt == "csv":
        text = render_csv(results)
    else:
        text = render_table(results)
    _write_output(text, args.output)

    failed = sum(not r.ok for r in results)
    if interrupted:
        print(f"sentio-ml predict: interrupted after {len(results)} of {len(files)} files; results so far were "
              "written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if failed:
        print(f"sentio-ml predict: {failed} of {len(files)} files failed.", file=sys.stderr)
    if args.output and not args.quiet:
        print(f"sentio-ml predict: wrote {len(results)} results to {args.output} ({fmt}).", file=sys.stderr)
    return EXIT_SOME_FAILED if failed or problems else EXIT_OK
