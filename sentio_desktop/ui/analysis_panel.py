"""Analysis control: music folders, scan + analyse with progress, rate, ETA, pause/cancel, failures.

`AnalysisController` adapts the headless `AnalysisService` (progress callback, cancel and pause
events) to Qt signals; the service runs on a worker thread and never touches a widget. Its progress
events are already batched (a few per second, each carrying the results since the previous one),
so the map fills in as results arrive without a repaint per track.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sentio_desktop.analysis import STAGE_DONE, STAGE_LOADING, STAGE_SCANNING, AnalysisProgress, AnalysisSummary
from sentio_desktop.errors import SentioError
from sentio_desktop.settings import TAG_WRITING_TEXT
from sentio_desktop.ui.context import AppContext
from sentio_desktop.ui.elided_label import ElidedLabel


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def failure_sentence(path: str, reason: str) -> str:
    """The reason as the sentence the CLI prints; a bare word ("error") becomes a full sentence."""
    reason = (reason or "").strip()
    if len(reason.split()) < 3:
        detail = f" ({reason})" if reason and reason.lower() != "error" else ""
        return f"Cannot analyse {Path(path).name}{detail}: the file could not be decoded; it may be damaged or cut short."
    return reason


class AnalysisController(QObject):
    """Starts, pauses and cancels one analysis run at a time on a worker thread."""

    progress = Signal(object)  # AnalysisProgress (on the GUI thread)
    modelReady = Signal(str, str)  # device name, model id
    finished = Signal(object)  # AnalysisSummary
    failed = Signal(str)  # one sentence: the run could not start or broke off

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self._active = False  # cleared by the worker before its last signal, so a slot of it may start the next run

    @property
    def running(self) -> bool:
        return self._active

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def cancelling(self) -> bool:
        return self.running and self._cancel.is_set()

    def start(self, roots: Sequence[str] | None = None, force: bool = False,
              track_ids: Sequence[int] | None = None) -> bool:
        if self.running:
            return False
        self._cancel.clear()  # the pause state is kept: a run can start paused
        settings = self.context.settings
        service = self.context.service
        announced = False

        def on_progress(event: AnalysisProgress) -> None:  # worker thread
            nonlocal announced
            if not announced and event.stage not in (STAGE_SCANNING, STAGE_LOADING):
                announced = True
                predictor = service.predictor(settings)  # already loaded: cached by the service
                self.modelReady.emit(str(getattr(predictor, "device_name", settings.device)),
                                     str(getattr(predictor, "model_id", "")))
            self.progress.emit(event)

        def work() -> None:  # worker thread
            try:
                summary = service.run(list(roots) if roots else None, force=force, track_ids=track_ids,
                                      settings=settings, progress=on_progress, cancel=self._cancel,
                                      pause=self._pause)
            except SentioError as exc:
                signal, outcome = self.failed, str(exc)
            except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
                signal, outcome = self.failed, f"The analysis stopped unexpectedly: {exc}."
            else:
                signal, outcome = self.finished, summary
            self._active = False
            signal.emit(outcome)

        self._active = True
        self._thread = threading.Thread(target=work, name="sentio-analysis", daemon=True)
        self._thread.start()
        return True

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._pause.set()
        else:
            self._pause.clear()

    def cancel(self) -> None:
        self._cancel.set()
        self._pause.clear()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running


class AnalysisPanel(QWidget):
    """Folders, the run controls and the failure list. Emits `resultsArrived` with batches of results."""

    resultsArrived = Signal(object)  # tuple[TrackResult, ...]
    runFinished = Signal(object)  # AnalysisSummary, or None when the run failed to start
    foldersChanged = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.controller = AnalysisController(context, self)

        folders_box = QGroupBox("Music folders", self)
        self.folder_list = QListWidget(folders_box)
        self.folder_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_button = QPushButton("Add folder…", folders_box)
        self.remove_button = QPushButton("Remove", folders_box)
        self.remove_button.setToolTip("Stop scanning the selected folders (the files are not touched)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        box_layout = QVBoxLayout(folders_box)
        box_layout.addWidget(self.folder_list)
        box_layout.addLayout(buttons)

        self.analyse_button = QPushButton("Scan && analyse", self)
        self.analyse_button.setToolTip("Find new and changed files in the folders and analyse them (Ctrl+R)")
        self.force_check = QCheckBox("Re-analyse everything", self)
        # Tool buttons: as wide as their text, so the row fits a narrow dock on a 1280 px screen.
        self.pause_button = QToolButton(self)
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setTextVisible(True)
        self.stage_label = QLabel("Idle", self)
        self.stage_label.setWordWrap(True)
        self.rate_label = ElidedLabel("", self)
        self.current_label = ElidedLabel("", self, mode=Qt.TextElideMode.ElideMiddle)
        self.model_label = QLabel("Model: checking…", self)
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_label = ElidedLabel("Device: not started", self)

        self.failure_list = QTreeWidget(self)
        self.failure_list.setHeaderLabels(["File", "Reason"])
        self.failure_list.setRootIsDecorated(False)
        self.failure_list.setAlternatingRowColors(True)
        self.failure_list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.failure_list.header().resizeSection(0, 130)
        self.failure_title = QLabel("Failures", self)

        controls = QHBoxLayout()
        controls.addWidget(self.analyse_button)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.cancel_button)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(folders_box)
        layout.addLayout(controls)
        layout.addWidget(self.force_check)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.rate_label)
        layout.addWidget(self.current_label)
        layout.addWidget(self.model_label)
        layout.addWidget(self.device_label)
        layout.addWidget(self.failure_title)
        layout.addWidget(self.failure_list, 1)

        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button.clicked.connect(self.remove_selected_folders)
        self.analyse_button.clicked.connect(lambda: self.start())
        self.pause_button.toggled.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.controller.progress.connect(self._on_progress)
        self.controller.modelReady.connect(self._on_model_ready)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.reload_folders()
        self._set_running(False)

    # -- folders -------------------------------------------------------------------------------
    def reload_folders(self) -> None:
        self.folder_list.clear()
        for folder in self.context.settings.music_folders:
            self.folder_list.addItem(folder)
        self.analyse_button.setEnabled(bool(self.context.settings.music_folders) and not self.controller.running)

    def choose_folder(self) -> None:
        """Ask for a folder, remember it and scan it at once (as the welcome card promises)."""
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(Path.home()))
        if folder and self.add_folder(folder) and not self.controller.running:
            self.start()

    def add_folder(self, folder: str) -> bool:
        """Remember a folder (saved in the settings at once); False when it was already there."""
        folder = str(Path(folder).expanduser().resolve())
        settings = self.context.settings
        if folder in settings.music_folders:
            return False
        self._save_folders(settings.music_folders + [folder])
        return True

    def remove_selected_folders(self) -> None:
        chosen = {item.text() for item in self.folder_list.selectedItems()}
        if chosen:
            self._save_folders([f for f in self.context.settings.music_folders if f not in chosen])

    def _save_folders(self, folders: list[str]) -> None:
        from dataclasses import replace

        try:
            self.context.save_settings(replace(self.context.settings, music_folders=folders))
        except SentioError as exc:
            self.stage_label.setText(str(exc))
            return
        self.reload_folders()
        self.foldersChanged.emit()

    # -- run control ---------------------------------------------------------------------------
    def start(self, track_ids: Sequence[int] | None = None) -> bool:
        folders = self.context.settings.music_folders
        if not folders and track_ids is None:
            self.stage_label.setText("Add a music folder first.")
            return False
        missing = [f for f in folders if not Path(f).is_dir()]
        roots = [f for f in folders if f not in missing] if track_ids is None else None
        if track_ids is None and not roots:
            self.stage_label.setText(f"The music folder {missing[0]} cannot be found; check that it is mounted.")
            return False
        if not self.settle_tag_question():
            return False
        self.failure_list.clear()
        self._update_failure_title()
        if missing:
            for folder in missing:
                self._add_failure(folder, "folder not found (skipped)")
        started = self.controller.start(roots, force=self.force_check.isChecked(), track_ids=track_ids)
        if started:
            self._set_running(True)
            self.stage_label.setText("Starting…")
            self.progress_bar.setRange(0, 0)
        return started

    def settle_tag_question(self) -> bool:
        """Before the first run that would write tags, ask once; the answer is saved in the settings.

        False when the settings could not be saved (the run does not start).
        """
        settings = self.context.settings
        if not settings.write_tags or settings.tags_asked:
            return True
        write = self.ask_tag_question()
        from dataclasses import replace

        try:
            self.context.save_settings(replace(settings, write_tags=write, tags_asked=True))
        except SentioError as exc:
            self.stage_label.setText(str(exc))
            return False
        return True

    def ask_tag_question(self) -> bool:
        """True: write tags into the files; False: keep the results in Sentio's library only."""
        box = QMessageBox(QMessageBox.Icon.Question, "Write mood tags into your files?",
                          "<b>Should Sentio also write its results into your music files?</b>", parent=self)
        box.setObjectName("tagQuestion")
        box.setInformativeText(TAG_WRITING_TEXT + " You can change this later in Settings.")
        write = box.addButton("Write tags", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Library only", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(write)
        box.exec()
        return box.clickedButton() is write

    def cancel(self) -> None:
        if self.controller.running:
            self.controller.cancel()
            self.stage_label.setText("Cancelling after the files in flight…")

    def _toggle_pause(self, paused: bool) -> None:
        self.controller.set_paused(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        if self.controller.running:
            self.stage_label.setText("Paused" if paused else "Resuming…")

    def _set_running(self, running: bool) -> None:
        self.analyse_button.setEnabled(not running and bool(self.context.settings.music_folders))
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.add_button.setEnabled(not running)
        self.remove_button.setEnabled(not running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)

    # -- feedback ------------------------------------------------------------------------------
    def _on_progress(self, event: AnalysisProgress) -> None:
        if event.stage == STAGE_SCANNING:
            self.stage_label.setText(f"Scanning folders… {event.scanned:,} audio files found")
            self.progress_bar.setRange(0, 0)
            self.rate_label.setText("")
        elif event.stage == STAGE_LOADING:
            self.stage_label.setText("Loading the model…")
            self.progress_bar.setRange(0, 0)
        else:
            self._show_counts(event)
        self.current_label.setText(Path(event.current).name if event.current else "")
        for path, reason in event.problems:
            self._add_failure(path, reason)
        for result in event.recent:
            if result.error:
                self._add_failure(result.path, result.error)
        if event.recent:
            self.resultsArrived.emit(event.recent)

    def _show_counts(self, event: AnalysisProgress) -> None:
        if self.controller.cancelling:
            self.stage_label.setText("Cancelling after the files in flight…")
        elif not self.controller.paused:
            self.stage_label.setText("Analysing" if event.stage != STAGE_DONE else "Finishing…")
        self.progress_bar.setRange(0, max(event.total, 1))
        self.progress_bar.setValue(event.done if event.total else 1)
        self.progress_bar.setFormat(f"{event.done:,} / {event.total:,}  (%p%)")
        if event.total:
            eta = "" if self.controller.cancelling else f" · ETA {format_eta(event.eta)}"
            self.rate_label.setText(f"{event.rate:.2f} tracks/s{eta} · {event.failures} failed")

    def _on_model_ready(self, device: str, model_id: str) -> None:
        self.device_label.setText(f"Device: {device}")
        self.model_label.setText(f"Model: {model_id}")

    def _on_finished(self, summary: AnalysisSummary) -> None:
        self._set_running(False)
        done = "Cancelled" if summary.cancelled else "Done"
        parts = [f"{done}: {summary.analysed:,} analysed", f"{summary.skipped:,} already up to date",
                 f"{len(summary.failed):,} failed"]
        if summary.tag_failures:
            parts.append(f"{len(summary.tag_failures):,} tag writes failed")
        self.stage_label.setText(", ".join(parts) + f" in {format_eta(summary.elapsed)}.")
        handled = summary.analysed + len(summary.failed)
        if summary.cancelled:  # what was done, not a full bar
            total = max(self.progress_bar.maximum(), handled, 1)
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(handled, total))
            self.progress_bar.setFormat(f"{handled:,} done, then cancelled")
        else:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
            self.progress_bar.setFormat("%p%")
        self.rate_label.setText("")  # no stale rate or ETA once the run is over
        seen = {self.failure_list.topLevelItem(i).toolTip(0) for i in range(self.failure_list.topLevelItemCount())}
        problems = [(p.path, p.reason) for p in summary.scan.problems] if summary.scan else []
        for path, reason in (list(summary.failed) + problems
                             + [(p, f"tags not written: {r}") for p, r in summary.tag_failures]):
            if path not in seen:
                self._add_failure(path, reason)
        self.current_label.setText("")
        self.runFinished.emit(summary)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.stage_label.setText(message)
        self.runFinished.emit(None)

    def _add_failure(self, path: str, reason: str) -> None:
        reason = failure_sentence(path, reason)
        item = QTreeWidgetItem([Path(path).name, reason])
        item.setToolTip(0, path)
        item.setToolTip(1, reason)
        self.failure_list.addTopLevelItem(item)
        self._update_failure_title()

    def _update_failure_title(self) -> None:
        n = self.failure_list.topLevelItemCount()
        self.failure_title.setText(f"Failures ({n})" if n else "Failures: none")

    def set_model_status(self, text: str) -> None:
        self.model_label.setText(text)
