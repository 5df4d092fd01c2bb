"""The one helper for background work: functions run on a thread pool, results come back as signals.

Workers never touch widgets: they return a value (or raise), and the result is delivered on the GUI
thread through a queued signal. Tests swap the pool for a synchronous runner (`synchronous=True`).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(object)  # the exception


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _TaskSignals) -> None:
        super().__init__()
        self._fn = fn
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:  # runs on a pool thread
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the GUI, never lost
            log.debug("background task failed", exc_info=True)
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


class BackgroundRunner(QObject):
    """Runs callables off the GUI thread and calls `on_done(result)` / `on_error(exc)` on the GUI thread."""

    def __init__(self, max_threads: int = 2, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._live: set[_TaskSignals] = set()

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        if self.synchronous:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001
                if on_error is None:
                    raise
                on_error(exc)
            else:
                if on_done:
                    on_done(result)
            return
        signals = _TaskSignals()  # lives on the GUI thread, so its slots run there
        self._live.add(signals)

        def finished(_: Any = None) -> None:
            self._live.discard(signals)

        if on_done:
            signals.done.connect(on_done)
        if on_error:
            signals.failed.connect(on_error)
        else:
            signals.failed.connect(lambda exc: log.error("background task failed: %s", exc))
        signals.done.connect(finished)
        signals.failed.connect(finished)
        self._pool.start(_Task(fn, signals))

    def active(self) -> int:
        return len(self._live)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until every task has finished (used at shutdown and in tests)."""
        return self._pool.waitForDone(timeout_ms)

