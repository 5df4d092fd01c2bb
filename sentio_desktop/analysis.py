"""The analysis service: scan → predict (sentio_ml's Predictor) → store → write tags.

Shared by the CLI and the GUI. ``AnalysisService(library, settings).run(...)`` is a blocking call
meant for a worker thread; it reports through a plain ``progress`` callback (``AnalysisProgress``,
at most every ``PROGRESS_INTERVAL_S`` plus a final event, carrying the results since the previous
event so a GUI can move points in batches), stops cleanly when ``cancel.is_set()`` and waits while
``pause.is_set()``.

Guarantees:
- Results are committed in small transactions (``COMMIT_EVERY`` tracks or ``COMMIT_INTERVAL_S``):
  a killed process loses at most the batch in flight and the next run resumes where it stopped.
- Tracks already analysed by the same model (``model_id``) are skipped unless ``force``; starting a
  run with a different model marks older analyses stale (still shown, re-analysed by this run).
- Failed files get an analysis row with the reason and are not retried until they change or ``force``.
- Tags are written by ONE writer thread (``tagsync.TagWriter``), crash-safely; a file that cannot be
  written is reported and its analysis stays in the library. A file changed, replaced or deleted
  while it was analysed is not written (its identity is taken before the analysis starts).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.orm import aliased

from sentio_desktop.db import TRACK_OK, Analysis, Track, is_current
from sentio_desktop.errors import AnalysisError
from sentio_desktop.library import Library, under_roots
from sentio_desktop.model_ids import cached_model_id, remember_model_id
from sentio_desktop.scanner import ScanProgress, ScanReport, scan
from sentio_desktop.settings import Settings
from sentio_desktop.tags import FileIdentity, file_identity
from sentio_desktop.tagsync import TagJob, TagResult, TagWriter, mood_tags_for, record_tag_results

COMMIT_EVERY = 16
COMMIT_INTERVAL_S = 2.0
PROGRESS_INTERVAL_S = 0.25

STAGE_SCANNING = "scanning"
STAGE_LOADING = "loading model"
STAGE_ANALYSING = "analysing"
STAGE_DONE = "done"


@dataclass(frozen=True)
class TrackResult:
    """One analysed track, as sent to the GUI in ``AnalysisProgress.recent``."""

    track_id: int
    path: str
    valence: float | None
    arousal: float | None
    mood: str | None
    error: str | None
    music: float | None = None  # P(Music); None: unknown (counts as music)


@dataclass(frozen=True)
class AnalysisProgress:
    """``done`` of ``total`` tracks, ``rate`` in tracks/s, ``eta`` in seconds (None while unknown)."""

    stage: str
    done: int
    total: int
    rate: float
    eta: float | None
    current: str | None
    failures: int
    recent: tuple[TrackResult, ...] = ()
    scanned: int = 0
    #: (path, reason) of the files and folders the scan could not read or skipped (unreadable files,
    #: symlink loops), sent once when the scan ends so a GUI lists them as they are found.
    problems: tuple[tuple[str, str], ...] = ()


@dataclass
class AnalysisSummary:
    model_id: str = ""
    device: str = ""
    analysed: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    tags_written: int = 0
    tag_failures: list[tuple[str, str]] = field(default_factory=list)
    marked_stale: int = 0
    #: Tracks this run set out to analyse; 0 means there was nothing to do and the model was not loaded.
    pending: int = 0
    cancelled: bool = False
    #: Whole run, including scan and model loading.
    elapsed: float = 0.0
    #: The analysis phase alone: first file submitted to the predictor until the last tag is written.
    analysis_seconds: float = 0.0
    scan: ScanReport | None = None

    @property
    def rate_per_hour(self) -> float:
        """Steady-state throughput of the analysis phase (tracks analysed or failed per hour)."""
        handled = self.analysed + len(self.failed) - (len(self.scan.unreadable) if self.scan else 0)
        return handled / self.analysis_seconds * 3600 if self.analysis_seconds > 0 else 0.0


PredictorFactory = Callable[[Settings], Any]


def default_predictor_factory(settings: Settings) -> Any:
    """Load the bundle named by ``settings.model`` and build a ``sentio_ml`` Predictor on its device."""
    from sentio_ml.bundle import load_bundle
    from sentio_ml.errors import SentioMLError
    from sentio_ml.predictor import Predictor

    try:
        bundle = load_bundle(None if settings.model in ("", "default") else settings.model)
        return Predictor(bundle, device=settings.device, batch_size=settings.batch_size or None,
                         excerpts=settings.excerpts or None)
    except SentioMLError as exc:
        raise AnalysisError(str(exc)) from exc
    except (RuntimeError, OSError, ValueError) as exc:  # e.g. a CUDA device that is not there
        raise AnalysisError(f"Cannot start the model on device {settings.device!r}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}.") from exc


class AnalysisService:
    """Runs analyses against one library; keeps the loaded predictor between runs of the same settings."""

    def __init__(self, library: Library, settings: Settings | None = None,
                 predictor_factory: PredictorFactory | None = None) -> None:
        self.library = library
        self.settings = settings or Settings()
        self._factory = predictor_factory or default_predictor_factory
        self._predictor: Any = None
        self._predictor_key: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def predictor(self, settings: Settings | None = None) -> Any:
        """The predictor for ``settings`` (loaded once and reused while the model settings stay the same)."""
        settings = settings or self.settings
        key = (settings.model, settings.device, settings.batch_size, settings.excerpts)
        if self._predictor is None or self._predictor_key != key:
            self._predictor = self._factory(settings)
            self._predictor_key = key
        return self._predictor

    def _predictor_and_todo(self, settings: Settings, force: bool, scope: list[str],
                            track_ids: Sequence[int] | None, emit: Callable[[AnalysisProgress], None],
                            ) -> tuple[Any, dict[int, str], int]:
        """(predictor or None, {track id: path} to analyse, tracks skipped as done).

        The model is loaded only when there is something to analyse: with no playable track in scope, or with
        every one already analysed by the model whose id is cached for these settings, it is not."""
        if not self._pending_in(scope, "", True, track_ids)[0]:
            return None, {}, 0
        known = cached_model_id(self.library.db_path, settings.model)
        if known is not None and not force:
            todo, skipped = self._pending_in(scope, known, force, track_ids)
            if not todo:
                return None, {}, skipped
        emit(AnalysisProgress(STAGE_LOADING, 0, 0, 0.0, None, None, 0))
        predictor = self.predictor(settings)
        bundle_dir = getattr(getattr(predictor, "bundle", None), "path", None)
        remember_model_id(self.library.db_path, settings.model, bundle_dir, str(predictor.model_id))
        todo, skipped = self._pending_in(scope, str(predictor.model_id), force, track_ids)
        return predictor, todo, skipped

    def _pending_in(self, roots: list[str], model_id: str, force: bool,
                    track_ids: Sequence[int] | None) -> tuple[dict[int, str], int]:
        """``pending`` over several roots (every playable track when ``roots`` is empty)."""
        todo: dict[int, str] = {}
        skipped = 0
        for root in roots or [None]:
            part, skipped_here = self.pending(model_id, force, root, track_ids)
            todo.update(part)
            skipped += skipped_here
        return todo, skipped

    def pending(self, model_id: str, force: bool = False, folder: str | None = None,
                track_ids: Sequence[int] | None = None) -> tuple[list[tuple[int, str]], int]:
        """(track id, path) of playable tracks to analyse with ``model_id``, and how many are skipped."""
        done = aliased(Analysis)
        has_result = select(done.id).where(
            done.track_id == Track.id, done.model_id == model_id, done.stale.is_(False)).exists()
        stmt = select(Track.id, Track.path, has_result).where(Track.status == TRACK_OK).order_by(Track.path)
        if track_ids is not None:
            wanted = {int(t) for t in track_ids}
            rows = [r for r in self.library.rows(stmt) if r[0] in wanted]
        else:
            rows = self.library.rows(stmt)
        if folder:
            rows = [r for r in rows if under_roots(r[1], [folder])]
        todo = [(tid, path) for tid, path, analysed in rows if force or not analysed]
        return todo, len(rows) - len(todo)

    def run(self, roots: Iterable[str | os.PathLike[str]] | None = None, *, force: bool = False,
            write_tags: bool | None = None, settings: Settings | None = None,
            track_ids: Sequence[int] | None = None, only_under_roots: bool = True,
            progress: Callable[[AnalysisProgress], None] | None = None,
            cancel: Any = None, pause: Any = None) -> AnalysisSummary:
        """Scan ``roots`` (if given), then analyse what is pending under them (the whole library when
        no roots or ``only_under_roots=False``; just ``track_ids`` when given) and write tags
        (``write_tags`` defaults to the setting)."""
        if not self._lock.acquire(blocking=False):
            raise AnalysisError("An analysis is already running on this library; wait for it or cancel it.")
        try:
            return self._run(roots, force, write_tags, settings or self.settings, track_ids, only_under_roots,
                             progress, cancel, pause)
        finally:
            self._lock.release()

    def _run(self, roots, force, write_tags, settings, track_ids, only_under_roots,  # noqa: ANN001
             progress, cancel, pause) -> AnalysisSummary:  # noqa: ANN001
        started = time.monotonic()
        summary = AnalysisSummary()
        write_tags = settings.write_tags if write_tags is None else write_tags
        emit = progress or (lambda _event: None)
        root_list = [str(r) for r in roots] if roots else []
        if root_list:
            def on_scan(event: ScanProgress) -> None:
                emit(AnalysisProgress(STAGE_SCANNING, 0, 0, event.rate, None, event.current, 0,
                                      scanned=event.audio_files))
            summary.scan = scan(self.library, root_list, progress=on_scan, cancel=cancel)
            summary.failed.extend((p.path, p.reason) for p in summary.scan.unreadable)
            found = tuple((p.path, p.reason) for p in summary.scan.unreadable + summary.scan.problems)
            emit(AnalysisProgress(STAGE_SCANNING, 0, 0, 0.0, None, None, len(summary.failed),
                                  scanned=summary.scan.audio_files, problems=found))
            if summary.scan.cancelled:
                summary.cancelled = True
                summary.elapsed = time.monotonic() - started
                return summary
        scope = root_list if only_under_roots else []
        predictor, todo, summary.skipped = self._predictor_and_todo(settings, force, scope, track_ids, emit)
        summary.pending = len(todo)
        if predictor is not None:
            summary.model_id = str(predictor.model_id)
            summary.device = str(getattr(predictor, "device_name", settings.device))
        else:  # nothing to analyse: the model was not loaded (its id, if known, came from the cache)
            summary.model_id = cached_model_id(self.library.db_path, settings.model) or ""
        if summary.model_id:
            summary.marked_stale = self.library.mark_stale_except(summary.model_id)
        run = _Run(self.library, summary, emit, settings, write_tags, len(todo))
        paths = list(todo.values())
        by_path = {str(Path(path)): tid for tid, path in todo.items()}
        if write_tags:  # one stat per file: what the analysis reads, so its tags go into nothing else
            run.identities = {key: file_identity(key) for key in by_path}
        analyse_started = time.monotonic()
        try:
            if write_tags:
                run.queue_unwritten_tags(root_list if only_under_roots else [])
            run.send(STAGE_ANALYSING)  # "0 of N" at once: the total is known before the first result
            for prediction in predictor.predict_iter(paths, cancel=cancel) if paths else ():
                while pause is not None and pause.is_set() and not (cancel is not None and cancel.is_set()):
                    time.sleep(0.1)
                run.add(by_path[str(Path(prediction.path))], prediction, time.monotonic() - analyse_started)
                if cancel is not None and cancel.is_set():
                    break
            summary.cancelled = bool(cancel is not None and cancel.is_set())
        finally:
            run.finish()
            summary.analysis_seconds = time.monotonic() - analyse_started
        summary.elapsed = time.monotonic() - started
        return summary


class _Run:
    """The bookkeeping of one run: batching commits, queueing tag writes, progress events."""

    def __init__(self, library: Library, summary: AnalysisSummary, emit: Callable[[AnalysisProgress], None],
                 settings: Settings, write_tags: bool, total: int) -> None:
        self.library, self.summary, self.emit, self.total = library, summary, emit, total
        self.writer = TagWriter(keep_mtime=settings.keep_mtime) if write_tags else None
        self.batch: list[tuple[int, Any]] = []
        self.recent: list[TrackResult] = []
        self.last_commit = self.last_event = time.monotonic()
        self.done = 0
        self.elapsed = 0.0
        self.current: str | None = None
        self.identities: dict[str, FileIdentity | None] = {}

    def queue_unwritten_tags(self, roots: Sequence[str]) -> None:
        """Catch up on tags an earlier (killed or --no-tags) run did not write."""
        with self.library.session() as session:
            rows = session.execute(
                select(Analysis, Track.path).join(Track, Track.id == Analysis.track_id).where(
                    is_current(), Analysis.model_id == self.summary.model_id,
                    Analysis.tags_written.is_(None), Track.status == TRACK_OK)).all()
        for analysis, path in rows:
            if not roots or under_roots(path, roots):
                self.writer.submit(TagJob(analysis.track_id, analysis.id, path, mood_tags_for(analysis)))

    def add(self, track_id: int, prediction: Any, elapsed: float) -> None:
        self.done += 1
        self.elapsed = elapsed
        self.current = str(prediction.path)
        self.batch.append((track_id, prediction))
        error = getattr(prediction, "error", None)
        if error:
            self.summary.failed.append((str(prediction.path), str(error)))
        else:
            self.summary.analysed += 1
        self.recent.append(TrackResult(track_id, str(prediction.path), None if error else prediction.valence,
                                       None if error else prediction.arousal, None if error else prediction.mood,
                                       str(error) if error else None,
                                       None if error else getattr(prediction, "music", None)))
        now = time.monotonic()
        if len(self.batch) >= COMMIT_EVERY or now - self.last_commit >= COMMIT_INTERVAL_S:
            self.commit()
        if now - self.last_event >= PROGRESS_INTERVAL_S:
            self.send(STAGE_ANALYSING)

    def commit(self) -> None:
        """Store the batch in one transaction, then hand its tag writes to the writer thread."""
        self.last_commit = time.monotonic()
        jobs: list[TagJob] = []
        if self.batch:
            with self.library.session() as session:
                for track_id, prediction in self.batch:
                    analysis = _analysis_row(track_id, prediction, self.summary)
                    if analysis.error is None:
                        session.execute(update(Analysis).where(
                            and_(Analysis.track_id == track_id, is_current())).values(current=False))
                        analysis.current = True
                    session.add(analysis)
                    session.flush()
                    if analysis.error is None and self.writer is not None:
                        path = str(prediction.path)
                        jobs.append(TagJob(track_id, analysis.id, path, mood_tags_for(analysis),
                                           self.identities.get(str(Path(path)))))
            self.batch.clear()
        for job in jobs:
            self.writer.submit(job)
        if self.writer is not None:
            self._record(self.writer.drain())

    def _record(self, results: list[TagResult]) -> None:
        for result in results:
            if result.error:
                self.summary.tag_failures.append((result.job.path, result.error))
            else:
                self.summary.tags_written += 1
        record_tag_results(self.library, results)

    def send(self, stage: str) -> None:
        self.last_event = time.monotonic()
        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        self.emit(AnalysisProgress(stage, self.done, self.total, rate, eta, self.current,
                                   len(self.summary.failed), tuple(self.recent)))
        self.recent.clear()

    def finish(self) -> None:
        self.commit()
        if self.writer is not None:
            self._record(self.writer.close())
        self.current = None
        self.send(STAGE_DONE)


def _analysis_row(track_id: int, prediction: Any, summary: AnalysisSummary) -> Analysis:
    error = getattr(prediction, "error", None)
    model_id = summary.model_id
    version = model_id.split("@", 1)[1].split("+", 1)[0] if "@" in model_id else None
    if error:
        return Analysis(track_id=track_id, model_id=model_id, model_version=version, error=str(error),
                        device=summary.device)
    timeline = [{"start": float(e.start), "end": float(e.end), "valence": float(e.valence),
                 "arousal": float(e.arousal)} for e in (getattr(prediction, "excerpts", None) or [])]
    return Analysis(track_id=track_id, model_id=model_id, model_version=version,
                    valence=float(prediction.valence), arousal=float(prediction.arousal), mood=prediction.mood,
                    quadrant=getattr(prediction, "quadrant", None), timeline=timeline, device=summary.device,
                    seconds=getattr(prediction, "seconds", None), music=getattr(prediction, "music", None))
