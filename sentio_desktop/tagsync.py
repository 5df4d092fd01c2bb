"""Writing the library's results into files' tags: ONE writer thread, never two writes to one file.

``TagWriter`` is the single queue the analysis service (and ``sentio tags write``) feeds; results
come back through ``drain()`` to be recorded on the caller's thread, in its own transaction.
``write_library_tags`` / ``remove_library_tags`` bring existing files in line with the library.
Writes are crash-safe (tags/atomic.py); the first time the writer touches a folder it removes the
temporary copies a killed run left there.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select, update

from sentio_desktop.db import TRACK_OK, Analysis, Track, is_current
from sentio_desktop.errors import TagError
from sentio_desktop.library import Library, under_roots
from sentio_desktop.scanner import fingerprint
from sentio_desktop.tags import (
    FileIdentity,
    MoodTags,
    clean_leftovers,
    file_identity,
    remove_mood_tags,
    write_mood_tags,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagJob:
    track_id: int
    analysis_id: int | None
    path: str
    tags: MoodTags | None  # None: remove Sentio's tags
    #: The file's identity when it was analysed: a file changed or replaced since is left alone.
    expected: FileIdentity | None = None


@dataclass(frozen=True)
class TagResult:
    job: TagJob
    error: str | None
    size: int | None = None
    mtime: float | None = None
    fingerprint: str | None = None
    changed: bool = True


class TagWriter:
    """A single background thread that writes (or removes) tags in queue order."""

    def __init__(self, keep_mtime: bool = False) -> None:
        self.keep_mtime = keep_mtime
        self._jobs: queue.Queue[TagJob | None] = queue.Queue()
        self._results: queue.Queue[TagResult] = queue.Queue()
        self._cleaned: set[str] = set()
        #: path -> (identity before this writer's first write, identity after its last one)
        self._own: dict[str, tuple[FileIdentity | None, FileIdentity | None]] = {}
        self._thread = threading.Thread(target=self._loop, name="sentio-tag-writer", daemon=True)
        self._thread.start()

    def submit(self, job: TagJob) -> None:
        self._jobs.put(job)

    def drain(self) -> list[TagResult]:
        """Results finished since the last call (non-blocking)."""
        out: list[TagResult] = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> list[TagResult]:
        """Finish every queued job, stop the thread and return the remaining results."""
        self._jobs.put(None)
        self._thread.join()
        return self.drain()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._results.put(self._run(job))

    def _run(self, job: TagJob) -> TagResult:
        self._clean_folder(os.path.dirname(os.path.realpath(job.path)))
        first, last = self._own.get(job.path) or (file_identity(job.path),) * 2
        # A file this writer rewrote since ``expected`` was taken changed only by Sentio's own hand.
        expected = last if job.expected is not None and job.expected == first else job.expected
        try:
            if job.tags is None:
                changed = remove_mood_tags(job.path, keep_mtime=self.keep_mtime, expected=expected)
            else:
                write_mood_tags(job.path, job.tags, keep_mtime=self.keep_mtime, expected=expected)
                changed = True
            st = os.stat(job.path)
            self._own[job.path] = (first, FileIdentity.of(st))
            return TagResult(job, None, st.st_size, st.st_mtime, fingerprint(job.path, st.st_size), changed)
        except TagError as exc:
            return TagResult(job, str(exc))
        except OSError as exc:  # the file vanished between writing and re-reading it
            return TagResult(job, f"Cannot read {job.path} after writing its tags: {exc.strerror or exc}.")

    def _clean_folder(self, folder: str) -> None:
        """Remove a killed run's temporary copies, once per folder and writer."""
        if folder in self._cleaned:
            return
        self._cleaned.add(folder)
        leftovers = clean_leftovers(folder)
        for path in leftovers.removed:
            log.info("removed %s, left by an interrupted tag write", path)
        for path, reason in leftovers.kept:
            log.warning("%s: %s", path, reason)


def record_tag_results(library: Library, results: Sequence[TagResult]) -> None:
    """Store outcomes: tag status on the analysis, new size/mtime/fingerprint on the track (so the next
    scan does not mistake Sentio's own tag write for a changed file)."""
    if not results:
        return
    with library.session() as session:
        for result in results:
            job = result.job
            if result.error is None:
                session.execute(update(Track).where(Track.id == job.track_id).values(
                    size=result.size, mtime=result.mtime, fingerprint=result.fingerprint))
            if job.analysis_id is not None:
                # True: written; None: removed (as if never written); False: failed, see tag_error.
                if result.error is not None:
                    written: bool | None = False
                else:
                    written = True if job.tags is not None else None
                session.execute(update(Analysis).where(Analysis.id == job.analysis_id).values(
                    tags_written=written, tag_error=result.error))


def mood_tags_for(analysis: Analysis) -> MoodTags:
    return MoodTags(valence=analysis.valence, arousal=analysis.arousal, mood=analysis.mood, model=analysis.model_id)


@dataclass
class TagSyncReport:
    written: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def _current_rows(library: Library, folder: str | None, only_unwritten: bool) -> list[tuple[Analysis, str]]:
    with library.session() as session:
        stmt = (select(Analysis, Track.path).join(Track, Track.id == Analysis.track_id)
                .where(is_current(), Track.status == TRACK_OK).order_by(Track.path))
        if only_unwritten:
            stmt = stmt.where(Analysis.tags_written.is_not(True))
        rows = [(a, p) for a, p in session.execute(stmt)]
    if folder:
        rows = [(a, p) for a, p in rows if under_roots(p, [folder])]
    return rows


def _sync(library: Library, jobs: list[TagJob], keep_mtime: bool, report: TagSyncReport,
          progress: Callable[[int, int, str | None], None] | None, cancel: object | None) -> TagSyncReport:
    writer = TagWriter(keep_mtime=keep_mtime)
    last = 0.0
    done = 0
    try:
        for job in jobs:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            writer.submit(job)
            results = writer.drain()
            done += len(results)
            _tally(results, report)
            record_tag_results(library, results)
            if progress is not None and time.monotonic() - last > 0.2:
                last = time.monotonic()
                progress(done, len(jobs), job.path)
    finally:
        results = writer.close()
        _tally(results, report)
        record_tag_results(library, results)
    if progress is not None:
        progress(len(jobs) if not report.cancelled else done + len(results), len(jobs), None)
    return report


def _tally(results: Sequence[TagResult], report: TagSyncReport) -> None:
    for result in results:
        if result.error:
            report.failed.append((result.job.path, result.error))
        elif result.job.tags is None:
            if result.changed:
                report.removed += 1
            else:
                report.unchanged += 1
        else:
            report.written += 1


def write_library_tags(library: Library, folder: str | None = None, only_unwritten: bool = False,
                       keep_mtime: bool = False, progress: Callable[[int, int, str | None], None] | None = None,
                       cancel: object | None = None) -> TagSyncReport:
    """Write every track's current analysis into its file (optionally only under ``folder``)."""
    jobs = [TagJob(a.track_id, a.id, path, mood_tags_for(a)) for a, path in _current_rows(library, folder, only_unwritten)]
    return _sync(library, jobs, keep_mtime, TagSyncReport(), progress, cancel)


def remove_library_tags(library: Library, folder: str | None = None, keep_mtime: bool = False,
                        progress: Callable[[int, int, str | None], None] | None = None,
                        cancel: object | None = None) -> TagSyncReport:
    """Remove Sentio's fields from every playable file (analyses stay in the library)."""
    with library.session() as session:
        rows = session.execute(select(Track.id, Track.path).where(Track.status == TRACK_OK).order_by(Track.path)).all()
        current = dict(session.execute(select(Analysis.track_id, Analysis.id).where(is_current())).all())
    if folder:
        rows = [r for r in rows if under_roots(r.path, [folder])]
    jobs = [TagJob(tid, current.get(tid), path, None) for tid, path in rows]
    return _sync(library, jobs, keep_mtime, TagSyncReport(), progress, cancel)
