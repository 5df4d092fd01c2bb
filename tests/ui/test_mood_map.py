"""The mood map widget: hit testing, rectangle and lasso selection, colours, real mouse clicks."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from sentio_desktop.ui.mood_map import ColourBy, MoodMap
from sentio_desktop.ui.track_data import TrackColumns

VA = [(0.9, 0.9), (0.1, 0.9), (0.1, 0.1), (0.9, 0.1), (0.52, 0.48)]


def tracks() -> TrackColumns:
    n = len(VA) + 1
    return TrackColumns.from_arrays(
        track_id=np.arange(100, 100 + n), title=np.array([f"song {i}" for i in range(n)]),
        artist=np.array(["a"] * n), genre=np.array(["Jazz", "Jazz", "Rock", "", "Jazz", "Rock"]),
        valence=np.array([v for v, _ in VA] + [np.nan]), arousal=np.array([a for _, a in VA] + [np.nan]))


def shown_map(qtbot) -> MoodMap:
    widget = MoodMap()
    qtbot.addWidget(widget)
    widget.resize(600, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_tracks(tracks())
    return widget


def view_to_widget(widget: MoodMap, x: float, y: float) -> QPoint:
    return widget.plot.mapFromScene(widget._view_box.mapViewToScene(QPointF(x, y)))


def test_only_analysed_tracks_are_drawn_and_hit_tested(qtbot) -> None:
    widget = shown_map(qtbot)
    assert sorted(widget.drawn_tracks.tolist()) == [0, 1, 2, 3, 4]  # index 5 has no analysis
    assert widget.track_at(0.9, 0.9) == 0
    assert widget.track_at(0.905, 0.895) == 0  # a few pixels off still hits
    assert widget.track_at(0.7, 0.7) == -1  # far from every point


def test_rect_and_lasso_selection_emit_track_indices(qtbot) -> None:
    widget = shown_map(qtbot)
    with qtbot.waitSignal(widget.selectionChanged) as signal:
        widget.select_rect(0.5, 1.0, 0.0, 1.0)
    assert sorted(signal.args[0].tolist()) == [0, 3, 4]
    assert widget.last_region is not None
    widget.select_polygon([(0.0, 0.0), (0.6, 0.0), (0.0, 0.6)])  # triangle near the origin
    assert widget.selection.tolist() == [2]
    widget.select_polygon([(0.0, 1.0), (0.3, 1.0), (0.3, 0.7)], additive=True)
    assert widget.selection.tolist() == [1, 2] and widget.last_region is None


def test_colour_by_genre_groups_the_common_genres(qtbot) -> None:
    widget = shown_map(qtbot)
    assert [name for name, _ in widget.legend_entries][:2] == ["Happy / Excited", "Tense / Angry"]
    widget.set_colour_by(ColourBy.GENRE)
    names = [name for name, _ in widget.legend_entries]
    assert names[0] == "Jazz" and "Rock" in names and names[-1].startswith("Other")
    assert sum(len(layer.data) for layer in widget._layers) == 5


def test_mouse_click_and_double_click_on_a_point(qtbot) -> None:
    widget = shown_map(qtbot)
    pos = view_to_widget(widget, 0.1, 0.1)
    with qtbot.waitSignal(widget.trackClicked, timeout=2000) as clicked:
        qtbot.mouseClick(widget.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert clicked.args == [2]
    with qtbot.waitSignal(widget.trackActivated, timeout=2000) as activated:
        qtbot.mouseDClick(widget.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert activated.args == [2]


def test_current_song_path_and_playlist_path(qtbot) -> None:
    widget = shown_map(qtbot)
    widget.set_current(4, [(0.5, 0.4), (0.55, 0.5), (0.52, 0.55)])
    x, y = widget._path_item.getData()
    assert list(np.round(x, 2)) == [0.5, 0.55, 0.52] and widget.current == 4
    widget.set_playlist_path([0, 5, 2])  # the unanalysed track is skipped
    x, _ = widget._playlist_path_item.getData()
    assert list(x) == [0.9, 0.1]


def test_large_libraries_draw_as_one_raster_image(qtbot) -> None:
    from sentio_desktop.ui.mood_map import RASTER_ABOVE

    n = RASTER_ABOVE + 5000
    rng = np.random.default_rng(3)
    big = TrackColumns.from_arrays(track_id=np.arange(n), valence=rng.random(n), arousal=rng.random(n))
    widget = MoodMap()
    qtbot.addWidget(widget)
    widget.resize(500, 500)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_tracks(big)
    assert widget._layers == [] and widget._raster.item.isVisible()
    image = widget._raster.image
    assert image.shape[2] == 4 and (image[..., 3] > 0).sum() > n  # every point stamped a disc
    # The image sits under the point it came from: the pixel at a point's place is coloured.
    x0, y0, x1, y1 = widget._raster._extent
    i = 17
    col = int((big.valence[i] - x0) / (x1 - x0) * image.shape[1])
    row = int((big.arousal[i] - y0) / (y1 - y0) * image.shape[0])
    assert image[row, col, 3] == 255
    assert widget.track_at(big.valence[i], big.arousal[i]) == i  # hit testing is independent of drawing
    widget.select_rect(0.0, 1.0, 0.0, 1.0)  # a huge selection is drawn as rings in a second image
    assert len(widget.selection) == n and widget._selection_raster.item.isVisible()
    widget.set_tracks(tracks())  # back to a small library: crisp symbols again
    assert len(widget._layers) == 4 and not widget._raster.item.isVisible()


def test_map_follows_a_dark_palette(qtbot) -> None:
    from PySide6.QtGui import QColor, QPalette

    widget = shown_map(qtbot)
    dark = QPalette(widget.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    widget.setPalette(dark)
    assert widget.plot.backgroundBrush().color().name() == "#1e1e1e"
    assert widget.plot.getAxis("left").pen().color().name() == "#e0e0e0"


def test_non_music_tracks_are_drawn_hollow_and_grey(qtbot) -> None:
    from sentio_desktop.ui import theme

    widget = shown_map(qtbot)
    assert widget.non_music_drawn == 0
    data = tracks()
    data.music[:] = [0.9, 0.03, np.nan, 0.8, 0.7, np.nan]  # song 1 is speech; NaN = unknown = music
    widget.set_tracks(data)
    assert widget.non_music_drawn == 1 and sorted(widget.drawn_tracks.tolist()) == [0, 1, 2, 3, 4]
    hollow = [layer for layer in widget._layers if layer.opts["brush"].style() == Qt.BrushStyle.NoBrush]
    assert len(hollow) == 1 and hollow[0].data["x"].tolist() == [0.1] and hollow[0].data["y"].tolist() == [0.9]
    assert hollow[0].opts["pen"].color().name() == theme.NOT_MUSIC_COLOUR
    assert sum(len(layer.data) for layer in widget._layers) == 5  # every point drawn once
    assert widget.track_at(0.1, 0.9) == 1  # still hit-testable
