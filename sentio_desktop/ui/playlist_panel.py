"""Playlists: build one from the map selection, a seed song's neighbours or a mood path; reorder,
remove, save, load and export (M3U8/XSPF). All the playlist logic is `sentio_desktop.playlists`;
this panel only collects the user's choices and shows the result."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sentio_desktop import playlists as pl
from sentio_desktop.errors import SentioError
from sentio_desktop.library import Library
from sentio_desktop.ui.workers import BackgroundRunner

TRACK_ID_ROLE = Qt.ItemDataRole.UserRole


class PlaylistPanel(QWidget):
    """Works in library track ids; `describe(track_id)` gives the text shown for a song."""

    playlistChanged = Signal(object)  # list[int] track ids, in order
    playRequested = Signal(object, int)  # track ids, start position
    message = Signal(str)  # one sentence for the status bar
    saved = Signal(int)  # playlist id
    exported = Signal(object)  # Path written

    def __init__(self, library: Library, describe: Callable[[int], str], runner: BackgroundRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.describe = describe
        self.runner = runner  # every library query runs here, off the GUI thread
        self._request = 0  # the newest build; older answers that arrive late are dropped
        self.unsaved = False  # built or edited since the last save or open
        self.current_track: int | None = None
        self.path_start: int | None = None
        self.path_end: int | None = None
        self.waypoints: list[tuple[float, float]] = []
        self.kind, self.params = "manual", {}
        self.selection_provider: Callable[[], list[int]] = lambda: []

        build = QGroupBox("Build", self)
        self.from_selection_button = QPushButton("From map selection", build)
        self.from_selection_button.setToolTip("The selected songs, most typical of the region first (Ctrl+P)")
        self.include_non_music = QCheckBox("Include non-music", build)
        self.include_non_music.setToolTip("Keep tracks judged not music (speech, animal sounds, field recordings; "
                                          "hollow grey on the map) in the playlists built here")
        self.neighbour_count = QSpinBox(build)
        self.neighbour_count.setRange(1, 500)
        self.neighbour_count.setValue(20)
        self.neighbour_count.setSuffix(" songs")
        self.neighbours_button = QPushButton("Nearest to current", build)
        self.neighbours_button.setToolTip("The current song, then the songs nearest to it on the map (Ctrl+N)")
        self.start_label = QLabel("—", build)
        self.end_label = QLabel("—", build)
        self.set_start_button = QPushButton("Use current", build)
        self.set_end_button = QPushButton("Use current", build)
        self.waypoint_label = QLabel("none", build)
        self.add_waypoint_button = QPushButton("Add current", build)
        self.clear_waypoints_button = QPushButton("Clear", build)
        self.path_steps = QSpinBox(build)
        self.path_steps.setRange(2, 500)
        self.path_steps.setValue(12)
        self.path_steps.setToolTip("How many songs the mood path has, start and end included")
        self.path_button = QPushButton("Build path", build)
        self.path_button.setToolTip("Build the mood path from Start to End (Ctrl+B)")

        for label in (self.start_label, self.end_label, self.waypoint_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long titles: no widening
        neighbours = QHBoxLayout()
        neighbours.addWidget(self.neighbours_button)
        neighbours.addWidget(self.neighbour_count)
        form = QFormLayout()
        form.addRow("Start", self._row(self.start_label, self.set_start_button))
        form.addRow("End", self._row(self.end_label, self.set_end_button))
        form.addRow("Via", self._row(self.waypoint_label, self.add_waypoint_button, self.clear_waypoints_button))
        form.addRow("Songs", self._row(self.path_steps, self.path_button))
        build_layout = QVBoxLayout(build)
        build_layout.addWidget(self.include_non_music)  # applies to every way of building below
        build_layout.addWidget(self.from_selection_button)
        build_layout.addLayout(neighbours)
        path_title = QLabel("<b>Mood path</b> — from one song's mood to another's", build)
        path_title.setWordWrap(True)
        build_layout.addWidget(path_title)
        build_layout.addLayout(form)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("Playlist name")
        self.list = QListWidget(self)
        self.list.setObjectName("playlistEntries")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setAlternatingRowColors(True)
        self.up_button = QPushButton("▲", self)
        self.up_button.setToolTip("Move up (Alt+Up)")
        self.down_button = QPushButton("▼", self)
        self.down_button.setToolTip("Move down (Alt+Down)")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Remove the selected songs from the playlist (Delete)")
        self.play_button = QPushButton("Play", self)
        self.save_button = QPushButton("Save", self)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Write the playlist as M3U8 or XSPF")
        self.saved_combo = QComboBox(self)
        self.saved_combo.setMinimumContentsLength(8)
        self.load_button = QPushButton("Open", self)
        self.delete_button = QPushButton("Delete", self)
        self.count_label = QLabel("Empty playlist", self)

        edit_row = self._row(self.up_button, self.down_button, self.remove_button, self.play_button)
        save_row = self._row(self.save_button, self.export_button)
        saved_row = self._row(QLabel("Saved:", self), self.saved_combo, self.load_button, self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(build)
        layout.addWidget(self.name_edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count_label)
        layout.addWidget(edit_row)
        layout.addWidget(save_row)
        layout.addWidget(saved_row)

        self.from_selection_button.clicked.connect(self.build_from_selection)
        self.neighbours_button.clicked.connect(self.build_neighbours)
        self.set_start_button.clicked.connect(lambda: self._set_endpoint("start"))
        self.set_end_button.clicked.connect(lambda: self._set_endpoint("end"))
        self.add_waypoint_button.clicked.connect(self.add_current_as_waypoint)
        self.clear_waypoints_button.clicked.connect(self.clear_waypoints)
        self.path_button.clicked.connect(self.build_path)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_selected)
        self.play_button.clicked.connect(self._play)
        self.save_button.clicked.connect(lambda: self.save())
        self.export_button.clicked.connect(self.choose_export)
        self.load_button.clicked.connect(lambda: self.load(self.saved_combo.currentData()))
        self.delete_button.clicked.connect(self.delete_saved)
        self.list.model().rowsMoved.connect(lambda *_: self._changed())
        self.list.itemDoubleClicked.connect(lambda item: self.playRequested.emit(self.track_ids(),
                                                                                 self.list.row(item)))
        self.refresh_saved()
        self._update_buttons()

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            layout.addWidget(w)
        return row

    # -- state from the window -----------------------------------------------------------------
    def set_current_track(self, track_id: int | None) -> None:
        self.current_track = track_id
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_current = self.current_track is not None
        for button in (self.neighbours_button, self.set_start_button, self.set_end_button, self.add_waypoint_button):
            button.setEnabled(has_current)
        self.path_button.setEnabled(self.path_start is not None and self.path_end is not None)
        has_entries = self.list.count() > 0
        for button in (self.up_button, self.down_button, self.remove_button, self.play_button, self.save_button,
                       self.export_button):
            button.setEnabled(has_entries)
        self.load_button.setEnabled(self.saved_combo.count() > 0)
        self.delete_button.setEnabled(self.saved_combo.count() > 0)

    # -- building ------------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self.message.emit(str(exc) if isinstance(exc, SentioError) else f"The playlist could not be built: {exc}.")

    def _run(self, build: Callable[[], pl.PlaylistDraft], name: str) -> bool:
        """Build on the runner; the newest request's playlist replaces the list when it arrives."""
        self._request += 1
        request = self._request

        def built(draft: pl.PlaylistDraft) -> None:
            if request != self._request:
                return
            if not draft.track_ids:
                self.message.emit("No analysed songs match; select a region with points in it (tracks that are not music "
                                  "count only with Include non-music).")
                return
            self.kind, self.params = draft.kind, draft.params
            self.set_tracks(draft.track_ids)
            self.name_edit.setText(name)
            self.name_edit.setCursorPosition(0)
            self.message.emit(f"Built a playlist of {len(draft.track_ids)} songs.")

        self.runner.submit(build, built, lambda exc: request == self._request and self._failed(exc))
        return True

    def build_from_selection(self, region: pl.Region | None = None) -> bool:
        """The selected songs; when they came from a region, ordered by the core (most central first)."""
        selected = [int(i) for i in self.selection_provider()]
        if not selected:
            self.message.emit("Nothing is selected on the map; drag a rectangle or lasso around some songs.")
            return False
        library, keep = self.library, self.include_non_music.isChecked()

        def build() -> pl.PlaylistDraft:
            if region is None:
                return pl.PlaylistDraft("manual", {"tracks": len(selected)}, pl.playlist_ids(library, selected, keep))
            return pl.region_playlist(library, region, among=selected, include_non_music=keep)

        return self._run(build, f"Map selection ({len(selected)} songs)")

    def build_neighbours(self) -> bool:
        seed, count = self.current_track, self.neighbour_count.value()
        if seed is None:
            self.message.emit("Pick a song first (click it on the map or in the table).")
            return False
        library, keep = self.library, self.include_non_music.isChecked()
        return self._run(lambda: pl.PlaylistDraft("near", {"seed": seed, "count": count},
                                                  pl.build_nearest(library, seed, count=count, include_non_music=keep)),
                         f"Near {self.describe(seed)}")

    def _set_endpoint(self, which: str) -> None:
        if self.current_track is None:
            return
        label = self.describe(self.current_track)
        if which == "start":
            self.path_start = self.current_track
            self.start_label.setText(label)
        else:
            self.path_end = self.current_track
            self.end_label.setText(label)
        self._update_buttons()

    def set_path_endpoints(self, start: int, end: int) -> None:
        self.path_start, self.path_end = start, end
        self.start_label.setText(self.describe(start))
        self.end_label.setText(self.describe(end))
        self._update_buttons()

    def add_current_as_waypoint(self) -> None:
        if self.current_track is None:
            return
        library, track_id = self.library, self.current_track

        def add(track) -> None:  # noqa: ANN001 - TrackView
            if track.valence is None or track.arousal is None:
                self.message.emit("The current song has no mood analysis yet, so it cannot be a waypoint.")
            else:
                self.add_waypoint((track.valence, track.arousal))

        self.runner.submit(lambda: library.track(track_id), add, self._failed)

    def add_waypoint(self, point: tuple[float, float]) -> None:
        self.waypoints.append((float(point[0]), float(point[1])))
        self.waypoint_label.setText(", ".join(f"({v:.2f}, {a:.2f})" for v, a in self.waypoints))

    def clear_waypoints(self) -> None:
        self.waypoints.clear()
        self.waypoint_label.setText("none")

    def build_path(self) -> bool:
        start, end, steps, via = self.path_start, self.path_end, self.path_steps.value(), list(self.waypoints)
        if start is None or end is None:
            self.message.emit("Choose a start and an end song for the mood path.")
            return False
        library, keep = self.library, self.include_non_music.isChecked()
        return self._run(lambda: pl.PlaylistDraft("path", {"start": start, "end": end, "steps": steps, "via": via},
                                                  pl.build_path(library, start, end, steps=steps, waypoints=via,
                                                                include_non_music=keep)),
                         f"{self.describe(start)} → {self.describe(end)}")

    # -- editing -------------------------------------------------------------------------------
    def set_tracks(self, track_ids: Sequence[int]) -> None:
        self.list.clear()
        for track_id in track_ids:
            item = QListWidgetItem(self.describe(int(track_id)))
            item.setData(TRACK_ID_ROLE, int(track_id))
            self.list.addItem(item)
        self._changed()

    def track_ids(self) -> list[int]:
        return [int(self.list.item(i).data(TRACK_ID_ROLE)) for i in range(self.list.count())]

    def move_selected(self, step: int) -> None:
        rows = sorted((self.list.row(i) for i in self.list.selectedItems()), reverse=step > 0)
        if not rows or (step < 0 and rows[0] == 0) or (step > 0 and rows[0] == self.list.count() - 1):
            return
        for row in rows:
            item = self.list.takeItem(row)
            self.list.insertItem(row + step, item)
            item.setSelected(True)
        self._changed()

    def remove_selected(self) -> None:
        for row in sorted((self.list.row(i) for i in self.list.selectedItems()), reverse=True):
            self.list.takeItem(row)
        self._changed()

    def _changed(self) -> None:
        n = self.list.count()
        self.unsaved = n > 0
        self.count_label.setText(f"{n} songs" if n else "Empty playlist")
        self._update_buttons()
        self.playlistChanged.emit(self.track_ids())

    def _play(self) -> None:
        rows = [self.list.row(i) for i in self.list.selectedItems()]
        self.playRequested.emit(self.track_ids(), min(rows) if rows else 0)

    # -- saving and export ---------------------------------------------------------------------
    def save(self, replace: bool = True) -> None:
        """Store the playlist under its name (on the runner); `saved` carries the new id."""
        name = self.name_edit.text().strip()
        library, ids, kind, params = self.library, self.track_ids(), self.kind, dict(self.params)

        def stored(playlist_id: int) -> None:
            self.unsaved = False
            self.refresh_saved(select=name)
            self.message.emit(f"Saved playlist {name!r} ({len(ids)} songs).")
            self.saved.emit(playlist_id)

        self.runner.submit(lambda: pl.save_playlist(library, name, ids, kind=kind, params=params, replace=replace),
                           stored, self._failed)

    def refresh_saved(self, select: str | None = None) -> None:
        library = self.library

        def fill(saved: list[pl.PlaylistInfo]) -> None:
            self.saved_combo.clear()
            for info in saved:
                self.saved_combo.addItem(f"{info.name} ({info.size})", info.id)
                if info.name == select:
                    self.saved_combo.setCurrentIndex(self.saved_combo.count() - 1)
            self._update_buttons()

        self.runner.submit(lambda: pl.list_playlists(library), fill, self._failed)

    def load(self, playlist_id: int | None) -> None:
        if playlist_id is None:
            return
        library, wanted = self.library, int(playlist_id)

        def read() -> tuple[pl.PlaylistInfo | None, list[int]]:
            ids = [t.id for t in pl.playlist_tracks(library, wanted)]
            return next((p for p in pl.list_playlists(library) if p.id == wanted), None), ids

        def show(answer: tuple[pl.PlaylistInfo | None, list[int]]) -> None:
            info, ids = answer
            if info is not None:
                self.kind, self.params = info.kind, info.params
                self.name_edit.setText(info.name)
            self.set_tracks(ids)
            self.unsaved = False

        self.runner.submit(read, show, self._failed)

    def delete_saved(self) -> None:
        playlist_id = self.saved_combo.currentData()
        if playlist_id is None:
            return
        library = self.library
        self.runner.submit(lambda: pl.delete_playlist(library, int(playlist_id)), lambda _r: self.refresh_saved(),
                           self._failed)

    def choose_export(self) -> None:
        default = (self.name_edit.text().strip() or "playlist").replace("/", "-") + ".m3u8"
        path, _ = QFileDialog.getSaveFileName(self, "Export playlist", str(Path.home() / default),
                                              "M3U8 playlist (*.m3u8);;XSPF playlist (*.xspf)")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> None:
        """Write the playlist as M3U8 or XSPF (on the runner); `exported` carries the file written."""
        library, ids, title = self.library, self.track_ids(), self.name_edit.text().strip() or None

        def write() -> Path:
            return pl.export_playlist(library.tracks_by_ids(ids), path, title=title)

        def written(target: Path) -> None:
            self.message.emit(f"Exported {len(ids)} songs to {target}.")
            self.exported.emit(target)

        self.runner.submit(write, written, self._failed)
