"""A newcomer's first hour in the window: it fits a laptop, shows the mood columns, asks before writing
tags, says when there is no audio device, fits the map to the songs, and loses nothing on quit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from sentio_desktop.settings import Settings, load_settings
from sentio_desktop.ui.library_panel import SHOWN_ORDER
from sentio_desktop.ui.main_window import MainWindow
from sentio_desktop.ui.table_model import COLUMN_KEYS
from tests.ui.conftest import CONTAINERS, copy_fixtures, make_context


def open_window(qtbot, tmp_path: Path, settings: Settings, size: tuple[int, int]) -> MainWindow:
    context = make_context(tmp_path, settings)
    window = MainWindow(context)
    window.ask_unsaved_playlist = lambda _name: QMessageBox.StandardButton.Discard
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: not window.loading and window.model_info is not None, timeout=60000)
    return window


def close_window(window: MainWindow) -> None:
    window.playlist_panel.unsaved = False
    window.close()
    window.context.close()


@pytest.mark.parametrize("size", [(1280, 720), (1366, 768)])
def test_window_fits_a_laptop_screen_and_never_grows_by_itself(qtbot, tmp_path: Path, ui_settings, size) -> None:
    window = open_window(qtbot, tmp_path, ui_settings, size)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 720
    assert window.minimumWidth() <= 1280 and window.minimumHeight() <= 720
    assert (window.width(), window.height()) == size
    # Long texts in every label that used to widen the window: it keeps its size, the labels elide.
    long = "A very long song title by an artist with a very long name " * 4
    window.player.title_label.setText(long)
    window.analysis_panel.current_label.setText(long + ".flac")
    window.analysis_panel.device_label.setText("Device: " + long)
    window.status_label.setText(long)
    window.playlist_panel.start_label.setText(long)
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    assert window.player.title_label.elided_text().endswith("…")
    assert window.map.width() > 400  # the map keeps a useful share of the window
    close_window(window)


def test_mood_columns_are_visible_by_default_at_1280_px_and_after_sorting(qtbot, tmp_path: Path,
                                                                          ui_settings) -> None:
    window = open_window(qtbot, tmp_path, ui_settings, (1280, 720))
    table = window.library_panel.table
    header = table.horizontalHeader()
    viewport = table.viewport().width()

    def fully_visible(key: str) -> bool:
        column = COLUMN_KEYS.index(key)
        left = header.sectionViewportPosition(column)
        return not header.isSectionHidden(column) and left >= 0 and left + header.sectionSize(column) <= viewport

    for key in ("title", "artist", "valence", "arousal", "mood"):
        assert fully_visible(key), key
    assert [COLUMN_KEYS[header.logicalIndex(i)] for i in range(len(COLUMN_KEYS))] == list(SHOWN_ORDER)
    # Sorting by a column further right scrolls it into view, and it stays there while the rows re-sort.
    status = COLUMN_KEYS.index("status")
    header.setSortIndicator(status, header.sortIndicatorOrder())
    assert fully_visible("status") or header.sectionViewportPosition(status) >= 0
    header.setSortIndicator(COLUMN_KEYS.index("arousal"), header.sortIndicatorOrder())
    assert fully_visible("arousal")
    window.set_current(int(window.library_panel.model.track_index(len(CONTAINERS) - 1)))
    assert fully_visible("arousal")  # making a song current scrolls to its row, not back to column 0
    close_window(window)


def answer_tag_question(button_text: str, seen: list[str]) -> None:
    """Click a button of the first-scan question once it is open (it is modal)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text() + " " + box.informativeText())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_first_scan_asks_once_before_writing_tags_and_remembers(qtbot, tmp_path: Path, tiny_bundle) -> None:
    music = copy_fixtures(tmp_path / "music", ["vibe_ace.flac"])
    settings = Settings(music_folders=[str(music)], model=str(tiny_bundle), device="cpu", batch_size=4,
                        db_path=str(tmp_path / "lib.db"))
    assert settings.write_tags and not settings.tags_asked  # the defaults of a new user
    window = open_window(qtbot, tmp_path, settings, (1280, 720))
    panel = window.analysis_panel
    seen: list[str] = []
    answer_tag_question("Library only", seen)
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as finished:
        assert panel.start()
    assert len(seen) == 1 and "VALENCE, AROUSAL, MOOD" in seen[0] and "sentio tags remove" in seen[0]
    assert finished.args[0].analysed == 1 and finished.args[0].tags_written == 0  # the answer was obeyed
    stored = load_settings(window.context.settings_path)
    assert stored.tags_asked and not stored.write_tags
    # Asked once: the next run starts without a question.
    panel.ask_tag_question = lambda: pytest.fail("asked twice")
    panel.force_check.setChecked(True)
    with qtbot.waitSignal(panel.runFinished, timeout=60000):
        assert panel.start()
    close_window(window)


def test_first_scan_answer_yes_writes_tags(qtbot, tmp_path: Path, tiny_bundle) -> None:
    from sentio_desktop.tags import read_mood_tags

    music = copy_fixtures(tmp_path / "music", ["vibe_ace.ogg"])
    settings = Settings(music_folders=[str(music)], model=str(tiny_bundle), device="cpu", batch_size=4,
                        db_path=str(tmp_path / "lib.db"))
    window = open_window(qtbot, tmp_path, settings, (1280, 720))
    seen: list[str] = []
    answer_tag_question("Write tags", seen)
    with qtbot.waitSignal(window.analysis_panel.runFinished, timeout=60000) as finished:
        window.analysis_panel.start()
    assert seen and finished.args[0].tags_written == 1 and read_mood_tags(music / "vibe_ace.ogg").mood
    stored = load_settings(window.context.settings_path)
    assert stored.tags_asked and stored.write_tags
    close_window(window)


def test_map_fits_the_songs_after_an_analysis_and_the_zoom_is_remembered(qtbot, tmp_path: Path,
                                                                         window: MainWindow) -> None:
    window.map.reset_view()  # the whole 0-1 square: the songs of a tiny model huddle in a corner of it
    more = copy_fixtures(tmp_path / "more", ["vibe_ace.wav", "vibe_ace.flac"], copies=2)
    window.analysis_panel.add_folder(str(more))
    with qtbot.waitSignal(window.analysis_panel.runFinished, timeout=60000) as finished:
        window.analysis_panel.start()
    assert finished.args[0].analysed == 4
    qtbot.waitUntil(lambda: len(window.map.drawn_tracks) == len(CONTAINERS) + 4 and not window.loading,
                    timeout=20000)
    (x0, x1), (y0, y1) = window.map.view_range()
    xy = np.column_stack([window.tracks.valence, window.tracks.arousal])
    assert ((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)).all()
    (ev0, ev1), (ea0, ea1) = window.map._excerpt_extent  # every excerpt point is in view too
    assert x0 <= ev0 and ev1 <= x1 and y0 <= ea0 and ea1 <= y1
    spread = max(ev1, xy[:, 0].max()) - min(ev0, xy[:, 0].min())
    assert x1 - x0 <= max(spread, 0.12) * 1.2 + 1e-9 and x1 - x0 < 1.0  # tight: the space is used
    # The zoom survives a restart.
    window.map.set_view_range([[0.2, 0.6], [0.3, 0.5]])
    window.save_layout()
    again = MainWindow(window.context)
    again.ask_unsaved_playlist = lambda _name: QMessageBox.StandardButton.Discard
    qtbot.addWidget(again)
    again.show()
    again.start()
    qtbot.waitUntil(lambda: not again.loading and len(again.tracks) > 0, timeout=20000)
    assert np.allclose(again.map.view_range(), [[0.2, 0.6], [0.3, 0.5]], atol=1e-6)
    again.playlist_panel.unsaved = False


def test_status_bar_says_checking_until_the_model_is_known(qtbot, tmp_path: Path, ui_settings) -> None:
    context = make_context(tmp_path, ui_settings)
    window = MainWindow(context)
    window.ask_unsaved_playlist = lambda _name: QMessageBox.StandardButton.Discard
    qtbot.addWidget(window)
    checked = []
    window.check_model = lambda: checked.append(True)  # hold the model check back
    window.start()
    qtbot.waitUntil(lambda: not window.loading and len(window.tracks) > 0, timeout=20000)
    assert checked and "model: checking…" in window.status_label.text()
    assert "no model" not in window.status_label.text()
    close_window(window)


def test_escape_clears_the_search_and_returns_to_the_map(qtbot, window: MainWindow) -> None:
    panel = window.library_panel
    window.focus_search()
    panel.search.setText("vibe_ace_v23")
    panel.apply_filter()
    assert panel.model.rowCount() == 1
    window.escape()
    assert panel.search.text() == "" and panel.model.rowCount() == len(CONTAINERS)
    assert window.map.plot.hasFocus() or QApplication.focusWidget() is None  # offscreen may have no focus
    window.map.select_rect(0.0, 1.0, 0.0, 1.0)
    window.escape()  # no search left: Esc clears the map selection
    assert len(window.map.selection) == 0


def test_quitting_with_an_unsaved_playlist_asks(qtbot, window: MainWindow) -> None:
    from sentio_desktop import playlists as pl

    window.map.select_rect(0.0, 1.0, 0.0, 1.0)
    with qtbot.waitSignal(window.playlist_panel.playlistChanged, timeout=10000):
        window.playlist_from_selection()
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save]
    asked = []
    window.ask_unsaved_playlist = lambda name: asked.append(name) or answers.pop(0)
    assert not window.close() and window.isVisible()  # Cancel: the window stays with its playlist
    window.close()  # Save: stored first, then the window closes
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert len(asked) == 2 and asked[0].startswith("Map selection")
    assert [p.name for p in pl.list_playlists(window.context.library)] == [asked[1]]


def test_map_tooltip_stays_inside_the_plot_and_goes_when_the_pointer_leaves(qtbot, window: MainWindow) -> None:
    from PySide6.QtCore import QEvent

    window.resize(1280, 720)
    index = int(window.map.drawn_tracks[0])
    v, a = float(window.tracks.valence[index]), float(window.tracks.arousal[index])
    label = window.map._hover_label
    view = window.map._view_box.sceneBoundingRect()
    # The point in each corner of the view in turn: the tooltip opens towards the inside every time.
    for dx, dy in ((0.01, 0.01), (0.01, 0.29), (0.29, 0.01), (0.29, 0.29)):
        window.map.set_view_range([[v - 0.3 + dx, v + dx], [a - 0.3 + dy, a + dy]])
        window.map._set_hovered(-1)
        window.map._set_hovered(index)
        qtbot.wait(50)  # pyqtgraph places the text when it paints
        assert label.isVisible()
        text = label.textItem.mapToScene(label.textItem.boundingRect()).boundingRect()
        assert view.contains(text), ((dx, dy), text, view)
    QApplication.sendEvent(window.map.plot.viewport(), QEvent(QEvent.Type.Leave))
    assert not label.isVisible()


def test_a_reload_keeps_the_current_songs_excerpt_path(qtbot, window: MainWindow) -> None:
    def path_points() -> int:
        x = window.map._path_item.getData()[0]
        return 0 if x is None else len(x)

    window.set_current(2)
    qtbot.waitUntil(lambda: path_points() == 2, timeout=5000)
    window.reload_library(fit=True)  # e.g. after an analysis finished
    qtbot.waitUntil(lambda: not window.loading, timeout=10000)
    qtbot.waitUntil(lambda: path_points() == 2, timeout=5000)
    assert window.current == 2
