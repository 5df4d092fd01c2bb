"""What `sentio` prints: track tables, failure lists and the analysis summary (stdout for results,
stderr for messages, so `sentio list --format tsv > file` stays clean)."""
from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any, Sequence


def say(text: str = "") -> None:
    print(text, file=sys.stderr)


def print_failures(title: str, failures: Sequence[tuple[str, str]], limit: int = 20) -> None:
    if not failures:
        return
    say(f"{title} ({len(failures)}):")
    for path, reason in failures[:limit]:
        say(f"  {reason}" if path in reason else f"  {path}: {reason}")  # most reasons already name the file
    if len(failures) > limit:
        say(f"  ... and {len(failures) - limit} more (see `sentio list --failed`)")


def files_text(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def fmt_value(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def print_tracks(tracks: Sequence[Any], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([track_dict(t) for t in tracks], indent=2, ensure_ascii=False, default=str))
        return
    if fmt == "tsv":
        print("id\tvalence\tarousal\tmood\tmusic\tartist\ttitle\tpath")
        for t in tracks:
            print("\t".join([str(t.id), fmt_value(t.valence), fmt_value(t.arousal), t.shown_mood or "",
                             fmt_value(t.music), t.artist or "", t.display_title, t.path]))
        return
    print(f"{'id':>6}  {'val':>5}  {'aro':>5}  {'mood':<12} {'artist':<24} title")
    for t in tracks:
        flag = "*" if t.stale else " "
        print(f"{t.id:>6}  {fmt_value(t.valence):>5}  {fmt_value(t.arousal):>5}{flag} {(t.shown_mood or '-'):<12} "
              f"{(t.artist or '')[:24]:<24} {t.display_title}")


def track_dict(track: Any) -> dict[str, Any]:
    data = dataclasses.asdict(track)
    data["title"] = track.title
    return data


def print_analysis_summary(summary: Any, folders: Sequence[str]) -> None:
    if summary.scan is not None:
        print(f"Scanned: {summary.scan.summary()}.")
    if not summary.pending:
        where = f" under {', '.join(folders)}" if folders else " in the library"
        if summary.skipped:
            model = f" by {summary.model_id}" if summary.model_id else ""
            print(f"Nothing to analyse: all {summary.skipped} tracks{where} are already analysed{model}"
                  + (f"; {summary.tags_written} files tagged." if summary.tags_written else "."))
        else:
            print(f"Nothing to analyse: no playable audio files{where}.")
    else:
        counts = [f"{summary.analysed} analysed", f"{summary.skipped} already done", f"{len(summary.failed)} failed",
                  f"{summary.tags_written} files tagged"]
        if summary.tag_failures:
            counts.append(f"{len(summary.tag_failures)} tag writes failed")
        print(f"Model {summary.model_id} on {summary.device}: {', '.join(counts)} in {summary.elapsed:.1f} s "
              f"(analysis {summary.analysis_seconds:.1f} s, {summary.rate_per_hour:,.0f} tracks/hour).")
    if summary.marked_stale:
        print(f"{summary.marked_stale} results of other model versions are now stale and re-analysed.")
    print_failures("Failed", summary.failed)
    print_failures("Tags not written (results kept in the library)", summary.tag_failures)
