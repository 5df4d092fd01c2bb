"""Find audio files under folders and keep the library in step with the disk.

- Recursive; follows symlinked folders but reports and skips symlink loops; unreadable folders are
  reported and skipped; a folder that is gone raises ``ScanError`` before anything changes.
- Incremental: a known file with unchanged size and mtime costs one ``stat`` and no database write.
- Non-audio files are ignored by extension; files with an audio extension whose header is not audio
  (a text file named ``.mp3``, a zero-byte file) are recorded as ``unreadable`` with the reason.
- Moved/renamed files are recognised by a content fingerprint and re-linked, keeping their analyses.
- Files that disappeared are marked ``missing`` (never deleted), and come back when they return.
- Sentio's own temporary copies (``.NAME.sentio-tmp-XXXXXXXX``, left by a tag write that was killed)
  are never taken for music; the scan removes them, or reports one whose original is missing.
- Work is committed in small batches: a killed scan keeps what it committed and the next one resumes.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import select, update

from sentio_desktop.db import TRACK_MISSING, TRACK_OK, TRACK_UNREADABLE, Analysis, ScanRun, Track, is_current, utcnow
from sentio_desktop.errors import ScanError, TagError, UnsupportedFormatError
from sentio_desktop.library import Library, absolute, under_roots
from sentio_desktop.tags import TrackInfo, clean_leftovers, is_temp_name, read_track_info, supported_extensions
from sentio_ml.errors import SentioMLError, os_error_reason

FINGERPRINT_CHUNK = 64 * 1024
COMMIT_EVERY = 200
MOVE_CANDIDATES = 16
PROGRESS_INTERVAL_S = 0.2


def audio_extensions() -> frozenset[str]:
    """Extensions the scanner picks up: what the model can decode plus what Sentio can tag."""
    from sentio_ml.audio import SUPPORTED_EXTENSIONS

    return frozenset(SUPPORTED_EXTENSIONS) | supported_extensions()


@dataclass(frozen=True)
class ScanProblem:
    """A folder, link or file the scan skipped or could not read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ScanProgress:
    """Sent to the ``progress`` callback at most every ``PROGRESS_INTERVAL_S`` and once at the end."""

    files_seen: int
    audio_files: int
    current: str | None
    elapsed: float

    @property
    def rate(self) -> float:
        return self.audio_files / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class ScanReport:
    roots: list[str]
    run_id: int | None = None
    added: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    missing: int = 0
    returned: int = 0
    unreadable: list[ScanProblem] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    cancelled: bool = False
    elapsed: float = 0.0
    #: temporary copies of interrupted tag writes that this scan removed
    leftovers_removed: int = 0

    @property
    def audio_files(self) -> int:
        return self.added + self.updated + self.moved + self.unchanged + self.returned

    def summary(self) -> str:
        parts = [f"{self.audio_files} audio files", f"{self.added} new", f"{self.updated} changed",
                 f"{self.moved} moved", f"{self.missing} missing", f"{len(self.unreadable)} unreadable"]
        if self.problems:
            parts.append(f"{len(self.problems)} folders/links skipped")
        if self.leftovers_removed:
            parts.append(f"{self.leftovers_removed} leftover temporary files removed")
        return ", ".join(parts) + (" (cancelled)" if self.cancelled else "")


def fingerprint(path: str | os.PathLike[str], size: int | None = None) -> str:
    """A content fingerprint: BLAKE2b of the size, the first and the last 64 KiB.

    Cheap on huge libraries and stable across moves and renames. Tag writes by Sentio change it, so
    the analysis service re-fingerprints a file after writing its tags.
    """
    size = os.stat(path).st_size if size is None else size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_CHUNK))
        if size > 2 * FINGERPRINT_CHUNK:
            handle.seek(-FINGERPRINT_CHUNK, os.SEEK_END)
            digest.update(handle.read(FINGERPRINT_CHUNK))
    return digest.hexdigest()


def walk_audio(roots: Iterable[Path], extensions: frozenset[str], problems: list[ScanProblem],
               cancel: object | None = None,
               leftovers: dict[str, list[str]] | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """Yield (path, stat) of files with an audio extension; loops and unreadable folders go to problems,
    Sentio's temporary copies to ``leftovers`` (folder -> names), never to the caller."""
    visited: set[tuple[int, int]] = set()
    stack: list[str] = []
    for root in roots:
        if os.path.isfile(root):  # a single file named on the command line
            yield str(root), os.stat(root)
        else:
            stack.append(str(root))
    stack.reverse()
    while stack:
        if cancel is not None and cancel.is_set():
            return
        folder = stack.pop()
        try:
            info = os.stat(folder)
        except OSError as exc:
            problems.append(ScanProblem(folder, f"cannot open the folder ({os_error_reason(exc)})"))
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            problems.append(ScanProblem(folder, "symlink loop: this folder was already scanned"))
            continue
        visited.add(key)
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            problems.append(ScanProblem(folder, f"cannot read the folder ({os_error_reason(exc)})"))
            continue
        subfolders: list[str] = []
        for entry in listing:
            try:
                if entry.is_dir():  # follows symlinks; loops are caught by the visited set
                    subfolders.append(entry.path)
                    continue
                if is_temp_name(entry.name):
                    if leftovers is not None:
                        leftovers.setdefault(folder, []).append(entry.name)
                    continue
                if os.path.splitext(entry.name)[1].lower() not in extensions:
                    continue
                if not entry.is_file():
                    if entry.is_symlink():
                        problems.append(ScanProblem(entry.path, "broken symbolic link"))
                    continue
                yield entry.path, entry.stat()
            except OSError as exc:
                if entry.is_symlink() and not os.path.exists(entry.path):
                    problems.append(ScanProblem(entry.path, "broken symbolic link"))
                else:
                    problems.append(ScanProblem(entry.path, f"cannot read ({os_error_reason(exc)})"))
        stack.extend(reversed(subfolders))


def scan(library: Library, roots: Iterable[str | os.PathLike[str]],
         progress: Callable[[ScanProgress], None] | None = None, cancel: object | None = None) -> ScanReport:
    """Scan ``roots`` into ``library``; see the module docstring for what happens to each file."""
    root_paths = [Path(absolute(r)) for r in roots]
    extensions = audio_extensions()
    _check_roots(root_paths, extensions)
    started = time.monotonic()
    report = ScanReport(roots=[str(r) for r in root_paths])
    with library.session() as session:
        run = ScanRun(roots=report.roots)
        session.add(run)
        session.flush()
        report.run_id = run.id
    with library.session() as session:
        known = {row.path: row for row in session.execute(
            select(Track.id, Track.path, Track.size, Track.mtime, Track.status))
            if under_roots(row.path, root_paths)}
    leftovers: dict[str, list[str]] = {}
    seen, files_seen = _store_changed_files(library, root_paths, extensions, known, report, leftovers, progress, cancel,
                                            started)
    _clean_leftovers(leftovers, report)
    report.cancelled = bool(cancel is not None and cancel.is_set())
    if not report.cancelled:
        _mark_missing(library, [row for path, row in known.items() if path not in seen], report)
    report.elapsed = time.monotonic() - started
    _record_run(library, report)
    if progress is not None:
        progress(ScanProgress(files_seen, files_seen, None, report.elapsed))
    return report


def _check_roots(root_paths: list[Path], extensions: frozenset[str]) -> None:
    """Refuse, in one sentence, a scan with no root or with a root that is missing, unreadable or not audio."""
    if not root_paths:
        raise ScanError("No music folder given: name at least one folder to scan.")
    for root in root_paths:
        if not root.exists():
            raise ScanError(f"The folder {root} does not exist.")
        if root.is_file():
            if root.suffix.lower() not in extensions:
                raise ScanError(f"{root} is not an audio file Sentio reads ({', '.join(sorted(extensions))}).")
        elif not root.is_dir():
            raise ScanError(f"{root} is neither a folder nor a file.")
        elif not os.access(root, os.R_OK | os.X_OK):
            raise ScanError(f"The folder {root} cannot be read (permission denied).")


def _store_changed_files(library: Library, root_paths: list[Path], extensions: frozenset[str], known: dict, report: ScanReport,
                         leftovers: dict[str, list[str]], progress: Callable[[ScanProgress], None] | None,
                         cancel: object | None, started: float) -> tuple[set[str], int]:
    """Walk the roots and store every new or changed file, COMMIT_EVERY at a time; (the paths seen, files seen)."""
    seen: set[str] = set()
    files_seen = 0
    last_report = 0.0
    pending: list[tuple[str, os.stat_result]] = []

    def flush() -> None:
        if pending:
            _store_batch(library, pending, known, report)
            pending.clear()

    for path, st in walk_audio(root_paths, extensions, report.problems, cancel, leftovers):
        files_seen += 1
        seen.add(path)
        row = known.get(path)
        if row is not None and row.size == st.st_size and row.mtime == st.st_mtime and row.status != TRACK_MISSING:
            report.unchanged += 1
        else:
            pending.append((path, st))
            if len(pending) >= COMMIT_EVERY:
                flush()
        now = time.monotonic()
        if progress is not None and now - last_report >= PROGRESS_INTERVAL_S:
            last_report = now
            progress(ScanProgress(files_seen, files_seen, path, now - started))
        if cancel is not None and cancel.is_set():
            break
    flush()
    return seen, files_seen


def _record_run(library: Library, report: ScanReport) -> None:
    """Close the scan's ScanRun row with its counts and problems."""
    with library.session() as session:
        session.execute(update(ScanRun).where(ScanRun.id == report.run_id).values(
            finished_at=utcnow(), added=report.added, updated=report.updated, moved=report.moved,
            unchanged=report.unchanged, missing=report.missing, unreadable=len(report.unreadable),
            cancelled=report.cancelled,
            problems=[{"path": p.path, "reason": p.reason} for p in report.problems + report.unreadable]))


def _clean_leftovers(leftovers: dict[str, list[str]], report: ScanReport) -> None:
    """Remove the temporary copies of killed tag writes (tags/atomic.py); report those kept."""
    for folder, names in leftovers.items():
        result = clean_leftovers(folder, names)
        report.leftovers_removed += len(result.removed)
        report.problems.extend(ScanProblem(path, reason) for path, reason in result.kept)


def _read_info(path: str) -> tuple[TrackInfo | None, str | None]:
    """Tags and duration, or (None, reason) for a file that is not readable audio."""
    try:
        return read_track_info(path), None
    except UnsupportedFormatError:
        pass  # audio the model decodes but Sentio cannot tag (e.g. WMA, raw AAC): probe it instead
    except TagError as exc:
        return None, str(exc)
    from sentio_ml.audio import probe_duration

    try:
        duration = probe_duration(path)
    except SentioMLError as exc:
        return None, str(exc)
    return TrackInfo(format=Path(path).suffix.lower().lstrip("."), duration=duration), None


def _store_batch(library: Library, batch: list[tuple[str, os.stat_result]], known: dict, report: ScanReport) -> None:
    """Insert, update or re-link the new and changed files of one batch in one transaction."""
    read: list[tuple[str, os.stat_result, TrackInfo | None, str | None, str | None]] = []
    for path, st in batch:  # file I/O first, outside the transaction
        info, reason = _read_info(path)
        try:
            print_ = fingerprint(path, st.st_size) if info is not None else None
        except OSError as exc:
            info, reason, print_ = None, f"Cannot read {path}: {os_error_reason(exc)}.", None
        read.append((path, st, info, reason, print_))
    with library.session() as session:
        prints = [item[4] for item in read if item[4] is not None and item[0] not in known]
        # One query tells which new files could be moved ones; the rest skip the per-file lookup.
        known_prints = set(session.scalars(select(Track.fingerprint).where(Track.fingerprint.in_(prints)))) \
            if prints else set()
        for path, st, info, reason, print_ in read:
            row = known.get(path)
            track = session.get(Track, row.id) if row is not None else None
            if track is None:
                track = _moved_track(session, print_, path) if print_ in known_prints else None
                if track is not None:
                    report.moved += 1
                    known.pop(track.path, None)  # the old path is not "missing": it moved
                    track.path = path
                else:
                    report.added += 1
            else:
                if track.status == TRACK_MISSING and track.size == st.st_size and track.mtime == st.st_mtime:
                    report.returned += 1
                elif info is not None and _own_unrecorded_tag_write(session, track.id, info):
                    report.unchanged += 1  # Sentio wrote these tags but was stopped before noting it
                else:
                    report.updated += 1
                    # The content changed: keep showing the old result but analyse again.
                    session.execute(update(Analysis).where(Analysis.track_id == track.id).values(stale=True))
            if track is None:
                track = Track(path=path)
                session.add(track)
            track.size, track.mtime, track.fingerprint = st.st_size, st.st_mtime, print_
            if info is None:
                track.status, track.problem = TRACK_UNREADABLE, reason
                report.unreadable.append(ScanProblem(path, reason or "unreadable"))
                continue
            track.status, track.problem = TRACK_OK, None
            track.format, track.duration = info.format, info.duration
            track.title, track.artist, track.album = info.title, info.artist, info.album
            track.genre, track.year = info.genre, info.year


def _own_unrecorded_tag_write(session, track_id: int, info: TrackInfo) -> bool:  # noqa: ANN001
    """Whether the file's change is Sentio's own tag write that a killed run did not record: its
    current analysis has tags pending and the file's Sentio tags hold exactly those values."""
    analysis = session.scalar(select(Analysis).where(Analysis.track_id == track_id, is_current()))
    if analysis is None or analysis.tags_written is not None or analysis.valence is None:
        return False
    tags = info.mood_tags
    if (tags.valence, tags.arousal, tags.model) != (round(analysis.valence, 3), round(analysis.arousal, 3),
                                                    analysis.model_id):
        return False
    analysis.tags_written = True
    return True


def _moved_track(session, print_: str, new_path: str) -> Track | None:  # noqa: ANN001
    """A known track with this fingerprint whose old file is gone (a move or rename)."""
    # Missing tracks first; the limit keeps libraries full of identical copies from going quadratic.
    stmt = (select(Track).where(Track.fingerprint == print_, Track.path != new_path)
            .order_by((Track.status == TRACK_MISSING).desc(), Track.id).limit(MOVE_CANDIDATES))
    for candidate in session.scalars(stmt):
        if candidate.path != new_path and not os.path.exists(candidate.path):
            return candidate
    return None


def _mark_missing(library: Library, gone: list, report: ScanReport) -> None:
    ids = [row.id for row in gone if row.status != TRACK_MISSING and not os.path.exists(row.path)]
    for start in range(0, len(ids), 500):
        with library.session() as session:
            session.execute(update(Track).where(Track.id.in_(ids[start:start + 500])).values(status=TRACK_MISSING))
    report.missing = len(ids)
