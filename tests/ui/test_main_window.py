"""The main window over a temp library analysed from the real fixtures (tiny real model)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt

from sentio_desktop import playlists as pl
from sentio_desktop.settings import load_settings
from sentio_desktop.ui.main_window import MainWindow
from sentio_desktop.ui.mood_map import ColourBy
from tests.ui.conftest import CONTAINERS, make_context


def path_length(window: MainWindow) -> int:
    x = window.map._path_item.getData()[0]
    return 0 if x is None else len(x)


def test_library_and_map_fill_from_the_database(window: MainWindow) -> None:
    model = window.library_panel.model
    assert model.rowCount() == len(CONTAINERS)
    assert len(window.map.drawn_tracks) == len(CONTAINERS)  # every fixture was analysed
    assert window.model_info.ok and window.model_info.title == "sentio-tiny-test 1.0.0"
    assert not window.map_panel.banner.isVisible() and not window.map_panel.welcome.isVisible()
    assert "9 tracks · 9 analysed" in window.status_label.text()
    for index in range(len(window.tracks)):
        v, a = window.tracks.valence[index], window.tracks.arousal[index]
        assert 0.0 <= v <= 1.0 and 0.0 <= a <= 1.0


def test_map_selection_selects_table_rows_and_back(qtbot, window: MainWindow) -> None:
    window.map.select_rect(0.0, 1.0, 0.0, 1.0)
    assert len(window.library_panel.selected_tracks()) == len(CONTAINERS)
    assert window.map_panel.selection_label.text() == "9 selected"
    # Clicking one point makes it the only selected row and the current song, with its excerpt path.
    window.map.trackClicked.emit(3)
    window.map.set_selection([3], emit=True)
    assert window.library_panel.selected_tracks().tolist() == [3]
    assert window.current == 3
    qtbot.waitUntil(lambda: path_length(window) == 2, timeout=5000)  # 2 excerpts
    # Selecting rows in the table selects the same songs on the map.
    table = window.library_panel.table
    table.clearSelection()
    rows = [1, 4]
    for row in rows:
        table.selectionModel().select(window.library_panel.model.index(row, 0),
                                      QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    expected = sorted(window.library_panel.model.track_index(r) for r in rows)
    assert window.map.selection.tolist() == expected
    table.selectionModel().setCurrentIndex(window.library_panel.model.index(4, 0),
                                           QItemSelectionModel.SelectionFlag.NoUpdate)
    assert window.current == window.library_panel.model.track_index(4)


def test_search_filters_table_and_map(window: MainWindow) -> None:
    panel = window.library_panel
    panel.search.setText("vibe_ace_v23")  # the file name is searchable too
    panel.apply_filter()
    assert panel.model.rowCount() == 1 and len(window.map.drawn_tracks) == 1
    panel.reset_filters()
    assert panel.model.rowCount() == len(CONTAINERS) and len(window.map.drawn_tracks) == len(CONTAINERS)


def test_region_to_playlist_save_and_export(qtbot, tmp_path: Path, window: MainWindow) -> None:
    window.map.select_rect(0.0, 1.0, 0.0, 1.0)
    panel = window.playlist_panel
    with qtbot.waitSignal(panel.playlistChanged, timeout=10000):  # built on the runner, off the GUI thread
        window.playlist_from_selection()
    ids = panel.track_ids()
    assert sorted(ids) == sorted(window.tracks.track_id.tolist())
    # The order is the core's: most central in the region first.
    assert ids == pl.build_region(window.context.library, window.map.last_region)
    assert len(window.map._playlist_path_item.getData()[0]) == len(ids)  # drawn on the map
    panel.list.setCurrentRow(0)
    panel.move_selected(1)
    assert panel.track_ids()[:2] == [ids[1], ids[0]]
    panel.list.setCurrentRow(len(ids) - 1)
    panel.remove_selected()
    assert len(panel.track_ids()) == len(ids) - 1
    panel.name_edit.setText("calm evening")
    assert panel.unsaved
    with qtbot.waitSignal(panel.saved, timeout=10000):
        panel.save()
    assert not panel.unsaved
    saved = pl.list_playlists(window.context.library)
    assert [(p.name, p.size) for p in saved] == [("calm evening", len(ids) - 1)]
    # The GUI stores the region in the one encoding the CLI uses too, and it reads back.
    assert saved[0].kind == "region" and saved[0].params["region"] == "rect"
    assert pl.region_from_params(saved[0].params) == window.map.last_region
    with qtbot.waitSignal(panel.exported, timeout=10000) as exported:
        panel.export(tmp_path / "out" / "calm.m3u8")
    lines = exported.args[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and sum(1 for line in lines if line.startswith("/")) == len(ids) - 1
    with qtbot.waitSignal(panel.message, timeout=10000) as said:  # a bad format is one sentence, not a crash
        panel.export(tmp_path / "calm.txt")
    assert said.args[0].endswith(".") and not (tmp_path / "calm.txt").exists()


def test_neighbours_and_mood_path_playlists(qtbot, window: MainWindow) -> None:
    panel = window.playlist_panel
    window.set_current(0)
    panel.neighbour_count.setValue(4)
    with qtbot.waitSignal(panel.playlistChanged, timeout=10000):
        assert window.playlist_panel.build_neighbours()
    seed = int(window.tracks.track_id[0])
    assert panel.track_ids()[0] == seed and len(panel.track_ids()) == 4  # the length, seed included
    panel.set_path_endpoints(seed, int(window.tracks.track_id[5]))
    panel.path_steps.setValue(5)
    with qtbot.waitSignal(panel.playlistChanged, timeout=10000):
        assert panel.build_path()
    path = panel.track_ids()
    assert len(path) == 5 and path[0] == seed and path[-1] == int(window.tracks.track_id[5])
    messages = []
    panel.message.connect(messages.append)
    panel.path_steps.setValue(50)  # more steps than analysed songs: one clear sentence, playlist kept
    with qtbot.waitSignal(panel.message, timeout=10000):
        panel.build_path()
    assert messages and messages[-1].endswith(".") and panel.track_ids() == path


def test_settings_dialog_persists_and_layout_is_remembered(qtbot, tmp_path: Path, window: MainWindow) -> None:
    dialog = window.open_settings()
    qtbot.waitUntil(lambda: dialog.metrics_table is not None and "tiny" in dialog.model_status.text(), timeout=20000)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.write_tags.setChecked(True)
    dialog.keep_mtime.setChecked(True)
    dialog.excerpts.setValue(5)
    dialog.batch_size.setValue(0)
    assert dialog.batch_size.text() == "Auto"
    dialog.accept()
    stored = load_settings(window.context.settings_path)
    assert (stored.device, stored.write_tags, stored.keep_mtime, stored.excerpts, stored.batch_size) == (
        "cpu", True, True, 5, 0)
    assert stored.music_folders == window.context.settings.music_folders
    # A bad value is refused with one sentence and nothing is saved.
    dialog = window.open_settings()
    dialog.model_path.setText("")
    dialog.batch_size.setValue(1)
    window.map_panel.set_colour_by(ColourBy.GENRE)
    window.library_dock.hide()
    window.save_layout()
    state = window.context.load_window_state()
    assert {"geometry", "state", "table_header", "colour_by"} <= set(state)
    again = MainWindow(window.context)
    qtbot.addWidget(again)
    assert again.map.colour_by is ColourBy.GENRE
    assert again.library_dock.isHidden()
    dialog.reject()


def test_first_run_guides_to_add_a_folder_and_says_no_model(qtbot, tmp_path: Path, empty_settings) -> None:
    context = make_context(tmp_path, empty_settings)
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.model_info is not None and not win.loading, timeout=30000)
    assert win.map_panel.welcome.isVisible()
    assert not win.analysis_panel.analyse_button.isEnabled()  # nothing to analyse yet
    banner = win.map_panel.banner.text()
    assert win.map_panel.banner.isVisible() and "No model is installed" in banner and "still work" in banner
    music = tmp_path / "music"
    music.mkdir()
    assert win.analysis_panel.add_folder(str(music))
    assert load_settings(context.settings_path).music_folders == [str(music.resolve())]
    assert not win.map_panel.welcome.isVisible() and win.analysis_panel.analyse_button.isEnabled()
    # Analysing without a model fails with the bundle's one sentence and leaves the window usable.
    with qtbot.waitSignal(win.analysis_panel.runFinished, timeout=30000):
        win.analysis_panel.start()
    assert "model" in win.analysis_panel.stage_label.text().lower()
    assert win.analysis_panel.analyse_button.isEnabled()
    win.close()
    context.close()


def test_cancel_stops_the_analysis_and_keeps_what_was_done(qtbot, tmp_path: Path, window: MainWindow) -> None:
    from tests.ui.conftest import copy_fixtures

    more = copy_fixtures(tmp_path / "more", ["vibe_ace.wav", "vibe_ace.flac"], copies=6)
    panel = window.analysis_panel
    panel.add_folder(str(more))
    # Held by pause after the first prediction (the tiny model is too quick to catch otherwise).
    panel.pause_button.setChecked(True)
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as finished:
        assert panel.start()
        assert not panel.analyse_button.isEnabled() and panel.cancel_button.isEnabled()
        qtbot.wait(1000)
        panel.cancel()
    summary = finished.args[0]
    assert summary.cancelled and summary.analysed <= 1
    assert panel.stage_label.text().startswith("Cancelled")
    assert panel.analyse_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert not panel.pause_button.isChecked()
    # The scanned tracks are listed, not analysed yet; the next run picks them up.
    qtbot.waitUntil(lambda: len(window.tracks) == len(CONTAINERS) + 12 and not window.loading, timeout=20000)
    assert int((window.tracks.status == "not analysed").sum()) == 12 - summary.analysed


def test_pause_holds_the_run_and_results_fill_the_map(qtbot, tmp_path: Path, window: MainWindow) -> None:
    from tests.ui.conftest import copy_fixtures

    more = copy_fixtures(tmp_path / "more", ["vibe_ace.wav"], copies=4)
    panel = window.analysis_panel
    panel.add_folder(str(more))
    seen = []
    panel.resultsArrived.connect(lambda batch: seen.extend(batch))
    panel.pause_button.setChecked(True)  # paused before the first result is stored
    assert panel.start()
    qtbot.wait(1500)
    assert seen == [] and panel.controller.running and panel.pause_button.text() == "Resume"
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as finished:
        panel.pause_button.setChecked(False)
    assert finished.args[0].analysed == 4 and not finished.args[0].cancelled
    assert len(seen) == 4 and all(r.error is None for r in seen)
    assert "sentio-tiny-test" in panel.model_label.text() and "cpu" in panel.device_label.text().lower()
    qtbot.waitUntil(lambda: len(window.map.drawn_tracks) == len(CONTAINERS) + 4, timeout=20000)
    assert panel.progress_bar.value() == panel.progress_bar.maximum()


def test_playback_bar_queues_the_table_order(window: MainWindow) -> None:
    window.library_panel.table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    first = window.library_panel.model.track_index(0)
    window.play_track(first)
    assert [entry[0] for entry in window.player.queue] == window.library_panel.model.track_indices().tolist()
    assert window.player.title_label.text() == window.describe_track(first) or not window.player.available
    if not window.player.available:
        assert window.player.toolTip() == window.player.unavailable_reason
    window.player.next()
    assert window.player.position == 1


def test_non_music_is_hollow_on_the_map_not_music_in_the_table_and_out_of_playlists(qtbot, window: MainWindow) -> None:
    from sentio_desktop.db import Analysis
    from sentio_desktop.ui.table_model import COLUMN_KEYS, TRACK_INDEX_ROLE

    whale = int(window.tracks.track_id[0])
    with window.context.library.session() as session:  # as if the first file were a whale recording
        session.query(Analysis).filter(Analysis.track_id == whale, Analysis.current.is_(True)).update({"music": 0.02})
    window.reload_library()
    qtbot.waitUntil(lambda: "not music" in window.tracks.mood.tolist(), timeout=20000)
    index = window.tracks.index_of(whale)
    assert window.tracks.mood.tolist().count("not music") == 1 and window.tracks.mood[index] == "not music"
    model = window.library_panel.model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data(TRACK_INDEX_ROLE) == index)
    mood_cell = model.index(row, COLUMN_KEYS.index("mood"))
    assert mood_cell.data() == "not music" and "0.02" in mood_cell.data(Qt.ItemDataRole.ToolTipRole)
    assert window.map.non_music_drawn == 1 and "not music" in window.map_panel.legend.text()
    panel = window.playlist_panel
    window.map.select_rect(0.0, 1.0, 0.0, 1.0)
    with qtbot.waitSignal(panel.playlistChanged, timeout=10000):
        window.playlist_from_selection()
    assert whale not in panel.track_ids() and len(panel.track_ids()) == len(CONTAINERS) - 1
    panel.include_non_music.setChecked(True)
    with qtbot.waitSignal(panel.playlistChanged, timeout=10000):
        window.playlist_from_selection()
    assert whale in panel.track_ids()
