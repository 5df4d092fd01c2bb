"""The main window: mood map in the middle, library table, analysis and playlist docks, playback bar.

The window keeps one `TrackColumns` (the whole library) that the table and the map both index, and
keeps their selection in sync. Everything slow (loading the library, the model check, analysis,
timelines) runs through the background runner or the analysis controller.
"""
from __future__ import annotations

import base64

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QToolBar, QWidget

from sentio_desktop.analysis import STAGE_SCANNING, AnalysisProgress
from sentio_desktop.ui.analysis_panel import AnalysisPanel
from sentio_desktop.ui.context import AppContext
from sentio_desktop.ui.elided_label import ElidedLabel
from sentio_desktop.ui.library_loader import LoadedLibrary, load_library
from sentio_desktop.ui.library_panel import LibraryPanel
from sentio_desktop.ui.map_panel import MapPanel
from sentio_desktop.ui.model_info import ModelInfo, load_model_info
from sentio_desktop.ui.mood_map import ColourBy, SelectTool
from sentio_desktop.ui.player import PlayerBar
from sentio_desktop.ui.playlist_panel import PlaylistPanel
from sentio_desktop.ui.settings_dialog import SettingsDialog
from sentio_desktop.ui.track_data import TrackColumns

MAP_REFRESH_MS = 600  # new results are drawn at most this often
DEFAULT_SIZE = (1440, 900)  # first start; smaller screens get what fits
MINIMUM_SIZE = (960, 600)  # the layout still works here; 1280x720 and 1366x768 laptops fit comfortably
TABLE_HEADER_VERSION = 2  # column order/widths of older versions are not restored (mood columns moved)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tracks = TrackColumns.empty()
        self.current = -1
        self.loading = False
        self._reload_again = False
        self.model_info: ModelInfo | None = None
        self._last_stage = ""
        self._model_check_pending = False
        self._fit_after_load = True  # fit the map to the songs when the next load arrives
        self._offered_pending = False
        self.setWindowTitle("Sentio — music by mood")
        self.setObjectName("sentioMainWindow")
        self.setDockNestingEnabled(True)

        self.map_panel = MapPanel(self)
        self.map = self.map_panel.map
        self.setCentralWidget(self.map_panel)
        self.library_panel = LibraryPanel(self)
        self.analysis_panel = AnalysisPanel(context, self)
        self.playlist_panel = PlaylistPanel(context.library, self.describe_track_id, context.runner, self)
        self.playlist_panel.selection_provider = lambda: [int(self.tracks.track_id[i]) for i in self.map.selection]
        self.player = PlayerBar(self)

        self.library_dock = self._dock("Library", "libraryDock", self.library_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.analysis_dock = self._dock("Analysis", "analysisDock", self.analysis_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.playlist_dock = self._dock("Playlist", "playlistDock", self.playlist_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.analysis_dock, self.playlist_dock)
        self.analysis_dock.raise_()
        player_bar = QToolBar("Playback", self)
        player_bar.setObjectName("playbackToolbar")
        player_bar.setMovable(False)
        player_bar.addWidget(self.player)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, player_bar)
        self.status_label = ElidedLabel("Loading the library…", self, minimum_chars=20)
        self.statusBar().addPermanentWidget(self.status_label, 1)

        self._map_timer = QTimer(self, singleShot=True, interval=MAP_REFRESH_MS)
        self._map_timer.timeout.connect(self._refresh_map)
        self._build_actions()
        self._connect()
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(*self._default_size())
        self._layout_restored = False
        self._docks_sized = False
        self.restore_layout()

    def _default_size(self) -> tuple[int, int]:
        """1440x900, or the screen's free area when that is smaller (a 1280x720 or 1366x768 laptop)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return DEFAULT_SIZE
        free = screen.availableGeometry()
        return min(DEFAULT_SIZE[0], free.width()), min(DEFAULT_SIZE[1], free.height())

    def _default_dock_widths(self) -> list[int]:
        """Analysis and library docks for the window's width: the library gets room for Title, Artist
        and the mood columns, the map the rest."""
        width = self.width()
        return [max(220, int(width * 0.22)), max(300, int(width * 0.38))]

    def showEvent(self, event) -> None:  # noqa: N802
        """Size the docks for the real window width the first time it shows (no saved layout)."""
        super().showEvent(event)
        if not self._docks_sized and not self._layout_restored:
            self._docks_sized = True
            self.resizeDocks([self.analysis_dock, self.library_dock], self._default_dock_widths(),
                             Qt.Orientation.Horizontal)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        widget.setMinimumWidth(200)  # docks shrink on small screens; their labels elide
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- actions and shortcuts -----------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "Add Music &Folder…", self.analysis_panel.choose_folder, QKeySequence.StandardKey.Open)
        self.analyse_action = self._action(file, "Scan && &Analyse", lambda: self.analysis_panel.start(), "Ctrl+R",
                                           "Scan the music folders and analyse new songs")
        self._action(file, "&Cancel Analysis", self.analysis_panel.cancel, "Ctrl+.")
        file.addSeparator()
        self._action(file, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences if not QKeySequence(
            QKeySequence.StandardKey.Preferences).isEmpty() else "Ctrl+,")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self._action(edit, "&Find…", self.focus_search, QKeySequence.StandardKey.Find)
        self._action(edit, "Select All on Map", self.select_all_on_map, "Ctrl+Shift+A")
        self._action(edit, "Clear Search or Selection", self.escape, "Esc",
                     "Clear the search (or the map selection) and return to the map")

        view = bar.addMenu("&View")
        self._action(view, "&Pan Tool", lambda: self.map_panel.set_tool(SelectTool.PAN), "P")
        self._action(view, "&Rectangle Selection", lambda: self.map_panel.set_tool(SelectTool.RECT), "R")
        self._action(view, "&Lasso Selection", lambda: self.map_panel.set_tool(SelectTool.LASSO), "L")
        self._action(view, "Reset Map &View", self.map.reset_view, "Ctrl+0")
        self._action(view, "&Fit Map to Songs", self.map.fit_to_points, "F")
        view.addSeparator()
        self._action(view, "Colour by &Mood", lambda: self.map_panel.set_colour_by(ColourBy.MOOD), "M")
        self._action(view, "Colour by &Genre", lambda: self.map_panel.set_colour_by(ColourBy.GENRE), "G")
        view.addSeparator()
        for dock, key in ((self.library_dock, "Ctrl+1"), (self.analysis_dock, "Ctrl+2"), (self.playlist_dock, "Ctrl+3")):
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence(key))
            view.addAction(toggle)
            self.addAction(toggle)

        play = bar.addMenu("&Playback")
        self._action(play, "Play / &Pause", self.player.toggle, "Space")
        self._action(play, "&Next", self.player.next, "Ctrl+Right")
        self._action(play, "P&revious", self.player.previous, "Ctrl+Left")
        self._action(play, "Play &Current Song", lambda: self.play_track(self.current), "Ctrl+Return")

        playlist = bar.addMenu("Play&list")
        self._action(playlist, "From Map &Selection", self.playlist_from_selection, "Ctrl+P")
        self._action(playlist, "&Neighbours of Current Song", self.playlist_from_neighbours, "Ctrl+N")
        self._action(playlist, "&Mood Path Start = Current Song", lambda: self._path_endpoint("start"), "Ctrl+[")
        self._action(playlist, "Mood Path &End = Current Song", lambda: self._path_endpoint("end"), "Ctrl+]")
        self._action(playlist, "&Build Mood Path", self._build_path, "Ctrl+B")
        self._action(playlist, "&Save Playlist", lambda: self.playlist_panel.save(), QKeySequence.StandardKey.Save)
        self._action(playlist, "&Export Playlist…", self.playlist_panel.choose_export, "Ctrl+E")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)

    def show_shortcuts(self) -> None:
        rows = []
        for action in self.actions():
            if not action.shortcut().isEmpty():
                name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
                rows.append(f"<tr><td>{name}</td><td><b>{action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", "<table cellspacing=6>" + "".join(rows) + "</table>")

    # -- wiring --------------------------------------------------------------------------------
    def _connect(self) -> None:
        self.map.selectionChanged.connect(self._map_selection_changed)
        self.map.trackClicked.connect(self._map_clicked)
        self.map.trackActivated.connect(self.play_track)
        self.library_panel.selectionChanged.connect(self._table_selection_changed)
        self.library_panel.currentTrackChanged.connect(lambda i: self.set_current(i, from_table=True))
        self.library_panel.trackActivated.connect(self.play_track)
        self.library_panel.filterChanged.connect(lambda: self.map.set_visible(self.library_panel.model.mask))
        self.map_panel.addFolderRequested.connect(self.analysis_panel.choose_folder)
        self.map_panel.analysePendingRequested.connect(lambda: self.analysis_panel.start())
        self.analysis_panel.resultsArrived.connect(self.apply_results)
        self.analysis_panel.controller.progress.connect(self._on_progress)
        self.analysis_panel.runFinished.connect(self._run_finished)
        self.analysis_panel.controller.progress.connect(lambda _e: self.map_panel.show_pending(0))
        self.analysis_panel.foldersChanged.connect(self._update_welcome)
        self.playlist_panel.playlistChanged.connect(self._playlist_changed)
        self.playlist_panel.playRequested.connect(self.play_track_ids)
        self.playlist_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.player.nowPlaying.connect(lambda i: i >= 0 and self.set_current(i))

    # -- loading -------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the library, then check the model, in the background (the window is usable meanwhile).

        The model check imports torch; doing it after the library load keeps the two from fighting
        over the interpreter, so the table and the map fill as early as possible.
        """
        self._model_check_pending = True
        self.reload_library()

    def reload_library(self, fit: bool = False) -> None:
        """Load the library again in the background; `fit` zooms the map to the songs when it arrives."""
        self._fit_after_load = self._fit_after_load or fit
        if self.loading:
            self._reload_again = True
            return
        self.loading = True
        library = self.context.library
        self.context.runner.submit(lambda: load_library(library), self._library_loaded, self._library_failed)

    def _run_finished(self, summary) -> None:  # noqa: ANN001 - AnalysisSummary or None
        self.reload_library(fit=summary is not None and (summary.analysed > 0 or summary.marked_stale > 0))

    def _library_loaded(self, loaded: LoadedLibrary) -> None:
        self.loading = False
        tracks = loaded.tracks
        current_id = int(self.tracks.track_id[self.current]) if 0 <= self.current < len(self.tracks) else None
        selected_ids = self.tracks.track_id[self.map.selection] if len(self.map.selection) else []
        self.tracks = tracks
        self.library_panel.set_tracks(tracks)
        self.map.set_tracks(tracks, self.library_panel.model.mask)
        self.map_panel.update_legend()
        selection = [i for i in (tracks.index_of(t) for t in selected_ids) if i is not None]
        self.map.set_selection(selection)
        self.library_panel.select_tracks(selection)
        found = None if current_id is None else tracks.index_of(current_id)
        self.current = -1 if found is None else found
        self.map.set_current(self.current)
        if self.current >= 0:
            self._load_timeline(self.current)  # a reload keeps the current song's excerpt path
        self.map.set_excerpt_extent(loaded.excerpt_extent)
        if self._fit_after_load and not self._reload_again:
            self._fit_after_load = False
            self.map.fit_to_points()
        self._update_status()
        self._update_welcome()
        self._offer_pending(loaded.pending)
        # The search index is built right after, off the GUI thread, not on the first keystroke.
        self.context.runner.submit(lambda: tracks.search_text, None, lambda _exc: None)
        if self._reload_again:
            self._reload_again = False
            self.reload_library()
        if self._model_check_pending:
            self._model_check_pending = False
            self.check_model()

    def _library_failed(self, exc: BaseException) -> None:
        self.loading = False
        self.status_label.setText(str(exc))
        if self._model_check_pending:
            self._model_check_pending = False
            self.check_model()

    def _offer_pending(self, pending: int) -> None:
        """Once per session: a library with songs not analysed yet offers to analyse them."""
        if self._offered_pending or self.analysis_panel.controller.running:
            return
        if pending and self.context.settings.music_folders:
            self._offered_pending = True
        self.map_panel.show_pending(pending if self.context.settings.music_folders else 0)

    def check_model(self) -> None:
        settings = self.context.settings
        self.context.runner.submit(lambda: load_model_info(settings), self._model_checked,
                                   lambda exc: self._model_checked(ModelInfo(False, str(exc), "")))

    def _model_checked(self, info: ModelInfo) -> None:
        self.model_info = info
        if info.ok:
            self.map_panel.set_banner(None)
            self.analysis_panel.set_model_status(f"Model: {info.title} ({info.model_id})")
            self.analysis_panel.device_label.setText(f"Device: {info.device}")
        else:
            self.map_panel.set_banner(f"<b>No model is installed, so songs cannot be analysed yet.</b> {info.title} "
                                      "Browsing the library, the map and playlists still work.")
            self.analysis_panel.set_model_status(f"Model: none. {info.title}")
        self._update_status()

    def _update_status(self) -> None:
        n = len(self.tracks)
        analysed = int(self.tracks.analysed.sum()) if n else 0
        if self.model_info is None:
            model = "checking…"  # the model check runs after the library load; do not flash "no model"
        else:
            model = self.model_info.title if self.model_info.ok else "no model"
        self.status_label.setText(f"{n:,} tracks · {analysed:,} analysed · model: {model}")

    def _update_welcome(self) -> None:
        empty = len(self.tracks) == 0 and not self.context.settings.music_folders
        self.map_panel.show_welcome(empty)

    # -- analysis results ----------------------------------------------------------------------
    def _on_progress(self, event: AnalysisProgress) -> None:
        if self._last_stage == STAGE_SCANNING and event.stage != STAGE_SCANNING:
            self.reload_library()  # the scan added or changed tracks: show them before results arrive
        self._last_stage = event.stage

    def apply_results(self, results) -> None:
        """Move the points of freshly analysed songs (batched: the map redraws at most every 0.6 s)."""
        changed, unknown = [], False
        for result in results:
            if result.error or result.valence is None:
                index = self.tracks.index_of(result.track_id)
                if index is not None:
                    self.tracks.status = _assign(self.tracks.status, index, f"failed: {result.error}")
                    changed.append(index)
                else:
                    unknown = True
                continue
            index = self.tracks.update_analysis(result.track_id, result.valence, result.arousal,
                                                result.mood or "", "analysed", music=getattr(result, "music", None))
            if index is None:
                unknown = True
            else:
                changed.append(index)
        if unknown:
            self.reload_library()
        if changed:
            self.library_panel.tracks_changed(changed)
            if not self._map_timer.isActive():
                self._map_timer.start()

    def _refresh_map(self) -> None:
        self.map.refresh()
        self.map_panel.update_legend()
        self._update_status()

    # -- selection and current song ------------------------------------------------------------
    def _map_selection_changed(self, indices: np.ndarray) -> None:
        self.library_panel.select_tracks(indices, current=indices[0] if len(indices) == 1 else None)
        self.map_panel.set_selection_count(len(indices))

    def _table_selection_changed(self, indices: np.ndarray) -> None:
        self.map.set_selection(indices)
        self.map_panel.set_selection_count(len(indices))

    def _map_clicked(self, index: int) -> None:
        if not (self.map.selection == index).any():
            self.map.set_selection([index])
            self.library_panel.select_tracks([index], current=index)
            self.map_panel.set_selection_count(1)
        self.set_current(index)

    def set_current(self, index: int, from_table: bool = False) -> None:
        """Make a song current: marked on the map with its excerpt timeline, its row shown in the table."""
        if not 0 <= index < len(self.tracks):
            return
        self.current = index
        track_id = int(self.tracks.track_id[index])
        self.playlist_panel.set_current_track(track_id)
        self.map.set_current(index, centre=from_table)
        if not from_table:
            row = self.library_panel.model.row_of(index)
            if row is not None:
                self.library_panel.scroll_to_row(row)
        self.statusBar().showMessage(self.describe_track(index), 5000)
        self._load_timeline(index)

    def _load_timeline(self, index: int) -> None:
        """Draw a song's per-excerpt path once its timeline is read (if it is still the current song)."""
        library, track_id = self.context.library, int(self.tracks.track_id[index])

        def loaded(timeline: list) -> None:
            if self.current == index:
                self.map.set_current(index, [(float(p["valence"]), float(p["arousal"])) for p in timeline])

        self.context.runner.submit(lambda: library.timeline(track_id), loaded, lambda _exc: None)

    def describe_track(self, index: int) -> str:
        t = self.tracks
        artist = f" — {t.artist[index]}" if t.artist[index] else ""
        values = f"  (v {t.valence[index]:.2f}, a {t.arousal[index]:.2f})" if t.analysed[index] else ""
        return f"{t.title[index]}{artist}{values}"

    def describe_track_id(self, track_id: int) -> str:
        index = self.tracks.index_of(track_id)
        return self.describe_track(index) if index is not None else f"track {track_id}"

    def focus_search(self) -> None:
        self.library_dock.show()
        self.library_panel.search.setFocus()
        self.library_panel.search.selectAll()

    def select_all_on_map(self) -> None:
        self.map.set_selection(self.map.drawn_tracks, emit=True)

    def clear_selection(self) -> None:
        self.map.set_selection([], emit=True)

    def escape(self) -> None:
        """Esc: clear the search when there is one, else the map selection; the map gets the focus."""
        search = self.library_panel.search
        if search.text():
            search.clear()
            self.library_panel.apply_filter()
        else:
            self.clear_selection()
        self.map.plot.setFocus()

    # -- playlists and playback ----------------------------------------------------------------
    def playlist_from_selection(self) -> None:
        self.playlist_dock.show()
        self.playlist_dock.raise_()
        self.playlist_panel.build_from_selection(self.map.last_region)

    def playlist_from_neighbours(self) -> None:
        self.playlist_dock.show()
        self.playlist_dock.raise_()
        self.playlist_panel.build_neighbours()

    def _path_endpoint(self, which: str) -> None:
        self.playlist_dock.show()
        self.playlist_dock.raise_()
        (self.playlist_panel.set_start_button if which == "start" else self.playlist_panel.set_end_button).click()

    def _build_path(self) -> None:
        self.playlist_dock.show()
        self.playlist_dock.raise_()
        self.playlist_panel.build_path()

    def _playlist_changed(self, track_ids: list[int]) -> None:
        self.map.set_playlist_path([i for i in (self.tracks.index_of(t) for t in track_ids) if i is not None])

    def _queue_entry(self, index: int) -> tuple[int, str, str]:
        return (index, str(self.tracks.path[index]), self.describe_track(index))

    def play_track(self, index: int) -> None:
        """Play a song, then the rest of the table in its current order."""
        if not 0 <= index < len(self.tracks):
            return
        order = self.library_panel.model.track_indices()
        row = self.library_panel.model.row_of(index)
        queue = [index] if row is None else [int(i) for i in order[row:row + 500]]
        self.player.play_queue([self._queue_entry(i) for i in queue])
        self._playback_message()

    def play_track_ids(self, track_ids: list[int], start: int = 0) -> None:
        indices = [i for i in (self.tracks.index_of(t) for t in track_ids) if i is not None]
        if indices:
            self.player.play_queue([self._queue_entry(i) for i in indices], min(start, len(indices) - 1))
            self._playback_message()

    def _playback_message(self) -> None:
        if not self.player.available:
            self.statusBar().showMessage(self.player.unavailable_reason or "", 10000)

    # -- settings ------------------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.context.settings, self.context.runner, self)
        dialog.finished.connect(lambda code: self._settings_closed(dialog, code))
        dialog.open()
        return dialog

    def _settings_closed(self, dialog: SettingsDialog, code: int) -> None:
        if code != SettingsDialog.DialogCode.Accepted or dialog.result_settings is None:
            return
        new = dialog.result_settings
        old = self.context.settings
        try:
            self.context.save_settings(new)
        except Exception as exc:  # noqa: BLE001 - SettingsError: one sentence
            QMessageBox.warning(self, "Settings not saved", str(exc))
            return
        self.analysis_panel.reload_folders()
        self._update_welcome()
        if (new.model, new.device) != (old.model, old.device):
            self.check_model()

    # -- layout persistence --------------------------------------------------------------------
    def save_layout(self) -> None:
        header = self.library_panel.table.horizontalHeader()
        self.context.save_window_state({
            "geometry": _b64(self.saveGeometry()),
            "state": _b64(self.saveState()),
            "table_header": _b64(header.saveState()),
            "table_header_version": TABLE_HEADER_VERSION,
            "colour_by": self.map.colour_by.value,
            "map_range": self.map.view_range(),
            "volume": self.player.volume_slider.value(),
        })

    def restore_layout(self) -> None:
        state = self.context.load_window_state()
        if "geometry" in state:
            self.restoreGeometry(_unb64(state["geometry"]))
        if "state" in state:
            self._layout_restored = self.restoreState(_unb64(state["state"]))
        if "table_header" in state and state.get("table_header_version") == TABLE_HEADER_VERSION:
            self.library_panel.table.horizontalHeader().restoreState(_unb64(state["table_header"]))
        if state.get("colour_by") in {c.value for c in ColourBy}:
            self.map_panel.set_colour_by(ColourBy(state["colour_by"]))
        if self.map.set_view_range(state.get("map_range")):
            self._fit_after_load = False  # the zoom the user left is kept across restarts
        if isinstance(state.get("volume"), int):
            self.player.set_volume(state["volume"])

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._playlist_may_close():
            event.ignore()
            return
        if self.analysis_panel.controller.running:
            self.analysis_panel.controller.cancel()
            self.analysis_panel.controller.wait(10)
        self.player.stop()
        self.save_layout()
        super().closeEvent(event)


    def _playlist_may_close(self) -> bool:
        """An unsaved playlist is not lost silently: save it (then close), discard it, or stay."""
        panel = self.playlist_panel
        if not panel.unsaved:
            return True
        answer = self.ask_unsaved_playlist(panel.name_edit.text().strip() or "Untitled playlist")
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            if not panel.name_edit.text().strip():
                panel.name_edit.setText("Untitled playlist")
            panel.saved.connect(lambda _id: QTimer.singleShot(0, self.close), Qt.ConnectionType.SingleShotConnection)
            panel.save()
        return False

    def ask_unsaved_playlist(self, name: str) -> QMessageBox.StandardButton:
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        return QMessageBox.question(self, "Unsaved playlist",
                                    f"The playlist “{name}” has not been saved. Save it before quitting?",
                                    buttons, QMessageBox.StandardButton.Save)


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(text: str) -> QByteArray:
    try:
        return QByteArray(base64.b64decode(text))
    except (ValueError, TypeError):
        return QByteArray()


def _assign(array: np.ndarray, index: int, value: str) -> np.ndarray:
    if len(value) > array.dtype.itemsize // 4:
        array = array.astype(f"U{len(value)}")
    array[index] = value
    return array
