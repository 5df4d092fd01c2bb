"""`sentio`: the music library without a window (scan, analyse, tag, list, playlists, export, status).

`sentio` with no command starts the desktop app. Every command shares the service layer with the GUI.
Exit codes (documented in `sentio --help`): 0 success, 1 finished but some files failed,
2 bad command line, 3 could not run (no model, unusable database or folder ...), 130 interrupted.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sentio_desktop import desktop_entry
from sentio_desktop.cli_output import files_text, print_analysis_summary, print_failures, print_tracks, say
from sentio_desktop.columns import SORT_KEYS
from sentio_desktop.errors import AnalysisError, SentioError, SettingsError
from sentio_desktop.settings import FIELD_HELP, Settings, default_config_path, first_run_tag_notice, load_settings, save_settings
from sentio_ml.console import ProgressBar, cancel_on_ctrl_c, positive_int
from sentio_ml.devices import device_argument

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
exit codes: 0 success; 1 finished, but some files failed (listed in the summary);
            2 bad command line; 3 could not run (one sentence says why); 130 interrupted (work done is kept).
files:      settings  {config}  (SENTIO_CONFIG overrides; edit with `sentio config`)
            library   set by --db, SENTIO_DB or the db_path setting
Run `sentio COMMAND --help` for each command's options."""


class UsageError(SentioError):
    """Bad command-line input (exit code 2)."""


def _range(text: str) -> tuple[float, float]:
    """'LO:HI' on the [0, 1] scale; either side may be empty ('0.6:' = at least 0.6)."""
    try:
        lo_text, hi_text = text.split(":") if ":" in text else (text, text)
        lo = float(lo_text) if lo_text.strip() else 0.0
        hi = float(hi_text) if hi_text.strip() else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range like 0.6:1 (values from 0 to 1)") from None
    if not (0.0 <= lo <= hi <= 1.0):
        raise argparse.ArgumentTypeError(f"{text!r}: a range needs 0 <= LO <= HI <= 1")
    return lo, hi


def _point(text: str) -> tuple[float, float]:
    try:
        v, a = (float(x) for x in text.replace(";", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a point like 0.7,0.3 (valence,arousal)") from None
    return v, a


def _global_options(after_command: bool) -> argparse.ArgumentParser:
    """--db, --config and -q, accepted before the command and after it (`sentio analyze -q`).

    After the command they default to SUPPRESS, so an option given before it is not reset."""
    keep = argparse.SUPPRESS if after_command else None
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--db", metavar="FILE", default=keep, help="library database file (default: from settings)")
    options.add_argument("--config", metavar="FILE", default=keep or str(default_config_path()),
                         help="settings file (default: %(default)s)" if not after_command else "settings file")
    options.add_argument("-q", "--quiet", action="store_true", default=keep or False,
                         help="no progress bars, only the summary")
    return options


class _SubcommandsWithGlobalOptions:
    """`add_subparsers()` whose every command also accepts the global options after its name."""

    def __init__(self, actions: Any) -> None:
        self._actions = actions
        self._options = _global_options(after_command=True)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs["parents"] = [*kwargs.get("parents", ()), self._options]
        return self._actions.add_parser(name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line. Imports nothing heavy: each command imports its services when it runs."""
    parser = argparse.ArgumentParser(
        prog="sentio", parents=[_global_options(after_command=False)],
        description="Sentio tags your music with valence (sad-happy) and arousal (calm-energetic), keeps them "
                    "in a library and in the files' tags, and builds mood playlists. "
                    "Without a command it opens the desktop app.",
        epilog=EPILOG.format(config=default_config_path()), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = _SubcommandsWithGlobalOptions(parser.add_subparsers(dest="command", metavar="COMMAND"))
    _add_library_commands(sub)
    _add_playlist_commands(sub)
    _add_report_commands(sub)
    return parser


def _add_library_commands(sub: _SubcommandsWithGlobalOptions) -> None:
    p = sub.add_parser("scan", help="find music files and update the library (no analysis)",
                       description="Scan folders recursively; unchanged files are skipped, moved files keep "
                                   "their analyses, removed ones are marked missing.")
    p.add_argument("paths", nargs="*", metavar="FOLDER", help="folders to scan (default: the music_folders setting)")
    p.add_argument("--remember", action="store_true", help="add the folders to the music_folders setting")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("analyze", aliases=["analyse"], help="predict mood for every new or changed track",
                       description="Analyse tracks not yet analysed by the current model. With FOLDERs, scan them "
                                   "first and analyse what is under them; without, scan the music_folders setting "
                                   "(if any) and analyse everything pending in the library. Ctrl-C stops cleanly, "
                                   "keeping finished work; the next run resumes.")
    p.add_argument("paths", nargs="*", metavar="FOLDER", help="scan these folders first and analyse only them")
    p.add_argument("--device", type=device_argument, help=FIELD_HELP["device"])
    p.add_argument("--model", metavar="DIR", help=FIELD_HELP["model"])
    p.add_argument("--force", action="store_true", help="re-analyse tracks already analysed by this model")
    p.add_argument("--no-tags", action="store_true", help="keep results in the library only, do not touch files")
    p.add_argument("--keep-mtime", action="store_true", default=None, help=FIELD_HELP["keep_mtime"])
    p.add_argument("--batch-size", type=positive_int, help=FIELD_HELP["batch_size"])
    p.add_argument("--excerpts", type=positive_int, help=FIELD_HELP["excerpts"])
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("tags", help="write or remove Sentio's tags in the files",
                       description="write: put each track's current result into its file's tags (TXXX/TMOO, "
                                   "Vorbis comments, iTunes atoms). remove: delete Sentio's fields from files; "
                                   "results stay in the library.")
    # subcommands, not a positional ACTION: `tags write --only-missing FOLDER` then parses as it reads
    actions = _SubcommandsWithGlobalOptions(p.add_subparsers(dest="action", metavar="ACTION", required=True))
    for action, help_text in (("write", "put each track's current result into its file's tags"),
                              ("remove", "delete Sentio's fields from the files (results stay in the library)")):
        a = actions.add_parser(action, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        a.add_argument("folder", nargs="?", help="only files under this folder (default: the whole library)")
        a.add_argument("--keep-mtime", action="store_true", default=None, help=FIELD_HELP["keep_mtime"])
        if action == "write":
            a.add_argument("--only-missing", action="store_true",
                           help="only files whose current result is not in their tags yet (fast catch-up)")
        a.set_defaults(func=cmd_tags)

    p = sub.add_parser("list", help="list tracks, filtered by mood or text",
                       description="List tracks with their valence, arousal and mood word. Ranges are LO:HI on "
                                   "0..1, e.g. --valence 0.6: --arousal :0.4 for calm, happy songs.")
    p.add_argument("--valence", type=_range, metavar="LO:HI")
    p.add_argument("--arousal", type=_range, metavar="LO:HI")
    p.add_argument("--mood", metavar="WORD", help="mood word, e.g. calm")
    p.add_argument("-s", "--search", metavar="TEXT", help="text in title, artist, album, genre or path")
    p.add_argument("--pending", action="store_true", help="only tracks without an analysis")
    p.add_argument("--failed", action="store_true", help="only files that could not be read or analysed, with why")
    p.add_argument("--not-music", action="store_true",
                   help="only tracks judged not music (speech, animal sounds, field recordings; shown as 'not music')")
    p.add_argument("--all", action="store_true", help="include missing and unreadable files")
    p.add_argument("--sort", choices=SORT_KEYS, default="artist")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("-n", "--limit", type=positive_int)
    p.add_argument("--format", choices=["table", "tsv", "json"], default="table")
    p.set_defaults(func=cmd_list)


def _add_report_commands(sub: _SubcommandsWithGlobalOptions) -> None:
    p = sub.add_parser("export", help="export the library with its results as CSV or JSON")
    p.add_argument("format", choices=["csv", "json"])
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output)")
    p.add_argument("--all", action="store_true", help="include missing and unreadable files")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("status", help="library counts, failures and where things are")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("config", help="show or change settings",
                       description="Without arguments, show every setting. `sentio config KEY VALUE` changes one "
                                   "(lists: comma-separated; booleans: true/false).")
    p.add_argument("key", nargs="?", choices=[f.name for f in dataclasses.fields(Settings) if f.name != "schema_version"])
    p.add_argument("value", nargs="?")
    p.set_defaults(func=cmd_config)
    desktop_entry.add_parser(sub)  # `sentio install-desktop`


def _add_playlist_commands(sub: _SubcommandsWithGlobalOptions) -> None:
    p = sub.add_parser("playlist", help="build, save and export mood playlists",
                       description="Build a playlist from a region of the mood map, the songs nearest a seed "
                                   "song, or a mood path from one song to another. SONG is a track id, a path or "
                                   "a text matching one title/artist (see `sentio list`).")
    psub = _SubcommandsWithGlobalOptions(p.add_subparsers(dest="playlist_command", metavar="KIND", required=True))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", metavar="FILE",
                        help="write .m3u8 or .xspf (a folder: a file named after the playlist)")
    common.add_argument("--relative", action="store_true", help="paths relative to the playlist file")
    common.add_argument("--save", metavar="NAME", help="also save it in the library under NAME")
    common.add_argument("--replace", action="store_true", help="replace a saved playlist with the same name")
    common.add_argument("--include-non-music", action="store_true",
                        help="keep tracks judged not music (speech, animal sounds ...; left out by default)")
    r = psub.add_parser("region", parents=[common], help="songs inside a rectangle, circle or polygon",
                        description="Exactly one of --rect, --circle, --polygon. Most central songs first.")
    shape = r.add_mutually_exclusive_group(required=True)
    shape.add_argument("--rect", nargs=2, type=_range, metavar=("VALENCE", "AROUSAL"),
                       help="e.g. --rect 0.6:1 0:0.4 (happy and calm)")
    shape.add_argument("--circle", nargs=3, type=float, metavar=("V", "A", "R"), help="centre and radius")
    shape.add_argument("--polygon", nargs="+", type=_point, metavar="V,A", help="three or more corners")
    r.add_argument("-n", "--limit", type=positive_int)
    r.set_defaults(func=cmd_playlist)
    n = psub.add_parser("near", parents=[common], help="a seed song and its nearest neighbours")
    n.add_argument("seed", metavar="SONG")
    n.add_argument("-n", "--count", type=positive_int, default=20,
                   help="songs in the playlist, the seed first (default %(default)s)")
    n.set_defaults(func=cmd_playlist)
    m = psub.add_parser("path", parents=[common], help="a mood path from one song to another",
                        description="Songs spaced evenly along the line from FROM to TO (through --via points), "
                                    "never stepping back along it; says when the library has too few songs "
                                    "between for that many steps.")
    m.add_argument("start", metavar="FROM")
    m.add_argument("end", metavar="TO")
    m.add_argument("--steps", type=positive_int, default=10, help="songs in the path (default %(default)s)")
    m.add_argument("--via", type=_point, action="append", default=[], metavar="V,A", help="waypoint (repeatable)")
    m.set_defaults(func=cmd_playlist)
    s = psub.add_parser("saved", help="list saved playlists, or export/delete one")
    s.add_argument("name", nargs="?", help="a saved playlist (omit to list them)")
    s.add_argument("-o", "--output", metavar="FILE", help="export it as .m3u8 or .xspf")
    s.add_argument("--relative", action="store_true")
    s.add_argument("--delete", action="store_true", help="delete it")
    s.set_defaults(func=cmd_playlist_saved)


# ----- helpers ------------------------------------------------------------------------------------------
class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = load_settings(args.config)
        if args.db:
            self.settings.db_path = args.db
        self._library = None

    @property
    def library(self):  # noqa: ANN201 - sentio_desktop.library.Library
        if self._library is None:
            from sentio_desktop.library import Library

            self._library = Library(self.settings.database_path())
        return self._library

    def close(self) -> None:
        if self._library is not None:
            self._library.close()

    def bar(self, desc: str, unit: str) -> ProgressBar:
        return ProgressBar(desc, unit=unit, quiet=True if self.args.quiet else None)

    @staticmethod
    def cancel_on_ctrl_c():  # noqa: ANN205 - a context manager yielding a threading.Event
        return cancel_on_ctrl_c("sentio: stopping after the current files (Ctrl-C again to quit now)...")


# ----- commands -----------------------------------------------------------------------------------------
def cmd_scan(ctx: Context) -> int:
    from sentio_desktop.scanner import scan

    folders = ctx.args.paths or ctx.settings.music_folders
    if not folders:
        raise UsageError("No folder to scan: give one (sentio scan ~/Music) or set music_folders with sentio config.")
    with ctx.cancel_on_ctrl_c() as cancel, ctx.bar("Scanning", unit=" files") as bar:
        report = scan(ctx.library, folders, progress=lambda event: bar(event.audio_files), cancel=cancel)
    if ctx.args.remember:
        ctx.settings.music_folders = sorted(set(ctx.settings.music_folders) | {str(Path(f).resolve()) for f in folders})
        save_settings(ctx.settings, ctx.args.config)
    print(f"Scanned: {report.summary()} in {report.elapsed:.1f} s.")
    print_failures("Skipped folders and links", [(p.path, p.reason) for p in report.problems])
    print_failures("Unreadable files", [(p.path, p.reason) for p in report.unreadable])
    if report.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if report.unreadable or report.problems else EXIT_OK


def cmd_analyze(ctx: Context) -> int:
    from sentio_desktop.analysis import AnalysisService

    args, settings = ctx.args, ctx.settings
    for name in ("device", "model", "batch_size", "excerpts", "keep_mtime"):
        if getattr(args, name, None) is not None:
            setattr(settings, name, getattr(args, name))
    settings.validate()
    if args.device not in (None, "auto", "cpu"):  # asked for by name: checked even when nothing is pending
        _check_device(args.device)
    service = AnalysisService(ctx.library, settings)
    with ctx.cancel_on_ctrl_c() as cancel, ctx.bar("Scanning", unit=" files") as scan_bar, \
            ctx.bar("Analysing", unit=" tracks") as bar:
        # No FOLDER: scan the remembered music folders for new files, then analyse the whole library.
        roots = args.paths or settings.music_folders or None
        summary = service.run(roots, force=args.force, write_tags=False if args.no_tags else None,
                              only_under_roots=bool(args.paths), progress=_analysis_progress(ctx, scan_bar, bar),
                              cancel=cancel)
    print_analysis_summary(summary, args.paths or settings.music_folders)
    if summary.cancelled:
        say("sentio: stopped early; run the same command again to finish (finished work is kept).")
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if summary.failed or summary.tag_failures else EXIT_OK


def _check_device(word: str) -> None:
    from sentio_ml.devices import resolve_device
    from sentio_ml.errors import DeviceUnavailableError

    try:
        resolve_device(word)
    except DeviceUnavailableError as exc:
        raise AnalysisError(str(exc)) from exc


def _analysis_progress(ctx: Context, scan_bar: ProgressBar, bar: ProgressBar):  # noqa: ANN202
    """The analysis service's progress events drawn as a scan bar, then an analysis bar."""
    from sentio_desktop.analysis import STAGE_ANALYSING, STAGE_LOADING, STAGE_SCANNING

    told = []

    def progress(event: Any) -> None:
        if event.stage == STAGE_SCANNING:
            scan_bar(event.scanned)
            return
        scan_bar.close()
        if event.stage == STAGE_LOADING:
            if not ctx.args.quiet and sys.stderr.isatty():  # like the bars: for people, not for logs
                say(f"Loading the model ({ctx.settings.model}) on {ctx.settings.device}...")
            return
        if not told:  # when the analysis starts, not before an error: what will be written, and how to undo it
            told.append(True)
            first_run_tag_notice(ctx.settings, ctx.args.config, not ctx.args.no_tags, say=lambda t: say(f"sentio: {t}"))
        if event.total:
            current = Path(event.current).name[:40] if event.stage == STAGE_ANALYSING and event.current else None
            bar(event.done, event.total, postfix=f"{current}, {event.failures} failed" if current else None)

    return progress


def cmd_tags(ctx: Context) -> int:
    from sentio_desktop.tagsync import remove_library_tags, write_library_tags

    keep = ctx.settings.keep_mtime if ctx.args.keep_mtime is None else ctx.args.keep_mtime
    desc = "Writing tags" if ctx.args.action == "write" else "Removing tags"
    with ctx.cancel_on_ctrl_c() as cancel, ctx.bar(desc, unit=" files") as bar:
        def progress(done: int, total: int, _current: str | None) -> None:
            bar(done, total)
        if ctx.args.action == "write":
            report = write_library_tags(ctx.library, folder=ctx.args.folder, only_unwritten=ctx.args.only_missing,
                                        keep_mtime=keep, progress=progress, cancel=cancel)
        else:
            report = remove_library_tags(ctx.library, folder=ctx.args.folder, keep_mtime=keep,
                                         progress=progress, cancel=cancel)
    if ctx.args.action == "write":
        print(f"Tags written to {files_text(report.written)}, {len(report.failed)} failed.")
    else:
        print(f"Sentio's tags removed from {files_text(report.removed)} ({report.unchanged} had none), "
              f"{len(report.failed)} failed.")
    print_failures("Failed", report.failed)
    if report.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_list(ctx: Context) -> int:
    from sentio_desktop.library import TrackFilter

    args = ctx.args
    if args.failed:
        failures = ctx.library.failures()
        for failure in failures[: args.limit or None]:
            print(f"{failure.track_id}\t{failure.stage}\t{failure.path}\t{failure.reason}")
        return EXIT_OK
    flt = TrackFilter(valence=args.valence, arousal=args.arousal, mood=args.mood, text=args.search,
                      statuses=() if args.all else ("ok",), analysed=False if args.pending else None,
                      music=False if args.not_music else None)
    tracks = ctx.library.tracks(flt, order_by=args.sort, descending=args.desc, limit=args.limit)
    print_tracks(tracks, args.format)
    if args.format == "table":
        say(f"{len(tracks)} tracks" + (" (* = stale: re-analysed on the next run)" if any(t.stale for t in tracks)
                                        else ""))
    return EXIT_OK


def cmd_playlist(ctx: Context) -> int:
    from sentio_desktop import playlists as pl

    args, lib = ctx.args, ctx.library
    kind, keep_non_music = args.playlist_command, args.include_non_music
    if kind == "region":
        if args.rect:
            region: Any = pl.Rect(args.rect[0], args.rect[1])
        elif args.circle:
            region = pl.Circle(*args.circle)
        else:
            region = pl.Polygon(tuple(args.polygon))
        draft = pl.region_playlist(lib, region, limit=args.limit, include_non_music=keep_non_music)
        ids, params = draft.track_ids, draft.params
    elif kind == "near":
        seed = lib.find_track(args.seed)
        ids = pl.build_nearest(lib, seed.id, count=args.count, include_non_music=keep_non_music)
        params = {"seed": seed.id, "count": args.count}
    else:
        start, end = lib.find_track(args.start), lib.find_track(args.end)
        path = pl.mood_path(lib, start.id, end.id, steps=args.steps, waypoints=args.via, include_non_music=keep_non_music)
        ids = path.ids
        params = {"start": start.id, "end": end.id, "steps": args.steps, "via": args.via}
        if path.stalled_steps:
            say(f"sentio: {path.stalled_steps} of the {args.steps} steps cannot move on along the path: the library "
                 "has too few songs between them (fewer --steps give a steadier path).")
    tracks = lib.tracks_by_ids(ids)
    if not tracks:
        say("sentio: no analysed songs match; try a larger region (see `sentio list`).")
        return EXIT_PARTIAL
    if args.save:
        pl.save_playlist(lib, args.save, ids, kind=kind, params=params, replace=args.replace)
        say(f"Saved as playlist {args.save!r}.")
    return _write_or_show(tracks, args, title=args.save or f"{kind} {' '.join(map(str, params.values()))}")


def _write_or_show(tracks, args: argparse.Namespace, title: str | None) -> int:
    """Export the playlist to `-o FILE` (M3U8/XSPF by extension; a folder gets a file named after the
    title) or print it as a table."""
    from sentio_desktop import playlists as pl

    if args.output:
        target = Path(args.output).expanduser()
        if target.is_dir():
            target = target / pl.playlist_file_name(title)
        path = pl.export_playlist(tracks, target, relative=args.relative, title=title)
        print(f"Wrote {len(tracks)} songs to {path}.")
    else:
        print_tracks(tracks, "table")
    return EXIT_OK


def cmd_playlist_saved(ctx: Context) -> int:
    from sentio_desktop import playlists as pl

    args, lib = ctx.args, ctx.library
    if not args.name:
        for info in pl.list_playlists(lib):
            print(f"{info.id:>4}  {info.name:<30} {info.kind:<7} {info.size:>5} songs  {info.created_at:%Y-%m-%d}")
        return EXIT_OK
    if args.delete:
        pl.delete_playlist(lib, args.name)
        print(f"Deleted playlist {args.name!r}.")
        return EXIT_OK
    tracks = pl.playlist_tracks(lib, args.name)
    return _write_or_show(tracks, args, title=args.name)


EXPORT_FIELDS = ["id", "path", "title", "artist", "album", "genre", "year", "duration", "format", "status",
                 "problem", "valence", "arousal", "mood", "music", "model_id", "stale", "analysed_at"]


def cmd_export(ctx: Context) -> int:
    from sentio_desktop.library import TrackFilter

    tracks = ctx.library.tracks(TrackFilter(statuses=() if ctx.args.all else ("ok",)), order_by="path")
    rows = [{k: getattr(t, k) for k in EXPORT_FIELDS} for t in tracks]
    for row in rows:
        if isinstance(row["analysed_at"], datetime):
            row["analysed_at"] = row["analysed_at"].isoformat(timespec="seconds")
    out = open(ctx.args.output, "w", encoding="utf-8", newline="") if ctx.args.output else sys.stdout
    try:
        if ctx.args.format == "json":
            json.dump(rows, out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if out is not sys.stdout:
            out.close()
    if ctx.args.output:
        say(f"Exported {len(rows)} tracks to {ctx.args.output}.")
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    status = ctx.library.status()
    if ctx.args.json:
        print(json.dumps(dataclasses.asdict(status), indent=2, default=str))
        return EXIT_OK
    print(f"Library:    {status.db_path}")
    print(f"Tracks:     {status.tracks} playable, {status.missing} missing, {status.unreadable} unreadable")
    print(f"Analysed:   {status.analysed}, pending {status.pending}, stale {status.stale}, failed {status.failed}")
    for model, count in sorted(status.models.items()):
        print(f"  model {model}: {count} tracks")
    print(f"Playlists:  {status.playlists}")
    print(f"Last scan:  {status.last_scan:%Y-%m-%d %H:%M} UTC" if status.last_scan else "Last scan:  never")
    print(f"Settings:   {ctx.args.config} (model {ctx.settings.model}, device {ctx.settings.device}, "
          f"write tags {'on' if ctx.settings.write_tags else 'off'})")
    return EXIT_OK


def _parse_setting(name: str, text: str) -> Any:
    current = getattr(Settings(), name)
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise UsageError(f"Setting {name} takes true or false, not {text!r}.")
        return text.lower() in ("true", "yes", "on", "1")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"Setting {name} takes a whole number, not {text!r}.") from None
    if isinstance(current, list):
        return [str(Path(p.strip()).expanduser().resolve()) for p in text.split(",") if p.strip()]
    return text


def cmd_config(ctx: Context) -> int:
    args = ctx.args
    if args.key is None:
        for f in dataclasses.fields(Settings):
            if f.name != "schema_version":
                print(f"{f.name:<14} {json.dumps(getattr(ctx.settings, f.name))}    # {FIELD_HELP.get(f.name, '')}")
        print(f"(file: {args.config})")
        return EXIT_OK
    if args.value is None:
        print(json.dumps(getattr(ctx.settings, args.key)))
        return EXIT_OK
    stored = load_settings(args.config)
    setattr(stored, args.key, _parse_setting(args.key, args.value))
    try:
        stored.validate()
    except SettingsError as exc:
        raise UsageError(str(exc)) from exc
    save_settings(stored, args.config)
    print(f"{args.key} = {json.dumps(getattr(stored, args.key))}")
    return EXIT_OK


def start_gui(parser: argparse.ArgumentParser) -> int:
    try:
        from sentio_desktop.ui.app import main as gui_main
    except ImportError as exc:
        say(f"sentio: the desktop app cannot start ({exc}); the commands below work without it.")
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    return int(gui_main() or 0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the message (or --help)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        return start_gui(parser)
    ctx: Context | None = None
    try:
        ctx = Context(args)
        return int(args.func(ctx))
    except UsageError as exc:
        say(f"sentio: {exc}")
        return EXIT_USAGE
    except SentioError as exc:
        say(f"sentio: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        say("sentio: interrupted; finished work is kept.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `sentio export csv | head`: the reader left, which is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the interpreter from failing at exit
        return EXIT_OK
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
