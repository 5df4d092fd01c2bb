"""The mood map: every analysed song as a point on the valence (x) / arousal (y) plane.

One pyqtgraph `ScatterPlotItem` per colour (pixel-mode symbols, pre-made brushes) keeps 100,000
points smooth to pan; hover and click are answered by a `cKDTree` over the points in data
coordinates instead of pyqtgraph's per-item hit testing. Rectangle and lasso selection come from a
small ViewBox subclass; selection and the "current" song are overlays, so changing them never
rebuilds the big scatter.
"""
from __future__ import annotations

from enum import Enum

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget
from scipy.spatial import cKDTree

from sentio_desktop import playlists
from sentio_desktop.ui import theme
from sentio_desktop.ui.point_raster import PointRaster
from sentio_desktop.ui.track_data import TrackColumns
from sentio_ml.mood import quadrants

HOVER_RADIUS_PX = 8.0
RASTER_ABOVE = 15_000  # more points than this are drawn as one raster image (see point_raster)
RASTER_SELECTION_ABOVE = 2_000
MAX_GENRE_COLOURS = 9  # the most common genres get a colour, the rest share "Other"


class SelectTool(Enum):
    PAN = "pan"
    RECT = "rect"
    LASSO = "lasso"


class ColourBy(Enum):
    MOOD = "mood"
    GENRE = "genre"


class _SelectingViewBox(pg.ViewBox):
    """A ViewBox whose left-drag draws a rectangle or a lasso when a selection tool is active."""

    def __init__(self, map_widget: "MoodMap") -> None:
        super().__init__(enableMenu=False)
        self._map = map_widget
        self._lasso: list[QPointF] = []
        self._rect_start: QPointF | None = None
        pen = QPen(QColor(theme.SELECTION_COLOUR), 0)
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        self._outline = pg.QtWidgets.QGraphicsPathItem()
        self._outline.setPen(pen)
        fill = QColor(theme.SELECTION_COLOUR)
        fill.setAlpha(40)
        self._outline.setBrush(fill)
        self._outline.setZValue(1e9)
        self._outline.hide()
        self.addItem(self._outline, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt naming)
        tool = self._map.tool
        if tool is SelectTool.PAN or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        point = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._lasso = [point]
            self._rect_start = point
            self._outline.show()
        elif self._rect_start is None:
            return
        if tool is SelectTool.RECT:
            rect = QRectF(self._rect_start, point).normalized()
            path = QPainterPath()
            path.addRect(rect)
        else:
            self._lasso.append(point)
            path = QPainterPath(self._lasso[0])
            for p in self._lasso[1:]:
                path.lineTo(p)
            path.closeSubpath()
        self._outline.setPath(path)
        if ev.isFinish():
            self._outline.hide()
            additive = bool(ev.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier))
            if tool is SelectTool.RECT:
                r = QRectF(self._rect_start, point).normalized()
                self._map.select_rect(r.left(), r.right(), r.top(), r.bottom(), additive=additive)
            else:
                self._map.select_polygon([(p.x(), p.y()) for p in self._lasso], additive=additive)
            self._rect_start = None
            self._lasso = []


class MoodMap(QWidget):
    """Signals carry *track indices* (positions in `TrackColumns`)."""

    trackClicked = Signal(int)  # a point was clicked (becomes the current song)
    trackActivated = Signal(int)  # a point was double-clicked (play it)
    selectionChanged = Signal(object)  # np.ndarray of track indices
    trackHovered = Signal(int)  # -1 when the pointer leaves every point

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = SelectTool.PAN
        self.colour_by = ColourBy.MOOD
        self._tracks = TrackColumns.empty()
        self._visible = np.zeros(0, dtype=bool)
        self._points = np.zeros(0, dtype=np.int64)  # track indices drawn
        self._xy = np.zeros((0, 2))
        self._tree: cKDTree | None = None
        self._selection = np.zeros(0, dtype=np.int64)
        self._current = -1
        self.legend_entries: list[tuple[str, str]] = []
        self.non_music_drawn = 0  # points drawn hollow and grey: tracks judged not music
        self.last_region: playlists.Region | None = None  # the shape behind the current selection
        self._excerpt_extent: tuple[tuple[float, float], tuple[float, float]] | None = None

        self._view_box = _SelectingViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self._view_box)
        self.plot.setObjectName("moodMapPlot")
        self.plot.setLabel("bottom", "Valence  (negative → positive)")
        self.plot.setLabel("left", "Arousal  (calm → energetic)")
        self.plot.showGrid(x=False, y=False)
        self.plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # no "(x0.001)" when zoomed in
        self.apply_palette()
        self.plot.hideButtons()
        self._view_box.setLimits(xMin=-0.25, xMax=1.25, yMin=-0.25, yMax=1.25, minXRange=0.002, minYRange=0.002)
        self.reset_view()
        self._draw_guides()

        self._layers: list[pg.ScatterPlotItem] = []
        self._selection_item = pg.ScatterPlotItem(pxMode=True, size=9, pen=pg.mkPen(theme.SELECTION_COLOUR, width=1.6),
                                                  brush=pg.mkBrush(None))
        self._selection_item.setZValue(20)
        self._current_item = pg.ScatterPlotItem(pxMode=True, size=15, symbol="o",
                                                pen=pg.mkPen(theme.CURRENT_COLOUR, width=2.5), brush=pg.mkBrush(None))
        self._current_item.setZValue(30)
        self._path_item = pg.PlotDataItem(pen=pg.mkPen(theme.PATH_COLOUR, width=2.5), symbol="o", symbolSize=7,
                                          symbolBrush=theme.PATH_COLOUR, symbolPen=None)
        self._path_item.setZValue(25)
        self._playlist_path_item = pg.PlotDataItem(pen=pg.mkPen(theme.PLAYLIST_PATH_COLOUR, width=2,
                                                                style=Qt.PenStyle.DashLine),
                                                   symbol="s", symbolSize=6, symbolBrush=theme.PLAYLIST_PATH_COLOUR,
                                                   symbolPen=None)
        self._playlist_path_item.setZValue(24)
        for item in (self._selection_item, self._current_item, self._path_item, self._playlist_path_item):
            self.plot.addItem(item, ignoreBounds=True)
        self._raster = PointRaster(self._view_box, z=10)
        self._selection_raster = PointRaster(self._view_box, ring=True, z=20)

        self._hover_label = pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(30, 30, 30, 220), color="w")
        self._hover_label.setZValue(40)
        self._hover_label.hide()
        self.plot.addItem(self._hover_label, ignoreBounds=True)
        self._hovered = -1

        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.plot.viewport().installEventFilter(self)  # double-clicks: see eventFilter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    # -- static decoration ---------------------------------------------------------------------
    def _draw_guides(self) -> None:
        guide = pg.mkPen(theme.GUIDE_COLOUR, width=1, style=Qt.PenStyle.DashLine)
        for angle in (0, 90):
            self.plot.addItem(pg.InfiniteLine(0.5, angle=angle, pen=guide, movable=False), ignoreBounds=True)
        border = pg.PlotDataItem([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], pen=pg.mkPen(theme.GUIDE_COLOUR, width=1))
        self.plot.addItem(border, ignoreBounds=True)
        centre = pg.ScatterPlotItem([0.5], [0.5], symbol="+", size=16, pen=pg.mkPen(theme.GUIDE_COLOUR, width=2),
                                    pxMode=True)
        self.plot.addItem(centre, ignoreBounds=True)
        centre_label = pg.TextItem("neutral", color=theme.GUIDE_COLOUR, anchor=(-0.1, -0.1))
        centre_label.setPos(0.5, 0.5)
        self.plot.addItem(centre_label, ignoreBounds=True)
        # Quadrant names sit in the outer corners, where points are sparsest.
        # Quadrant names sit in the outer corner of the visible part of their quadrant (see
        # _place_quadrant_labels), so they stay readable however the map is zoomed or panned.
        self._quadrant_labels: dict[int, pg.TextItem] = {}
        for quadrant in (1, 2, 3, 4):
            label = pg.TextItem(theme.QUADRANT_LABELS[quadrant], color=theme.QUADRANT_COLOURS[quadrant])
            font = label.textItem.font()
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 1.1)
            label.setFont(font)
            label.setZValue(50)  # above the points, so dense maps keep their names
            label.fill = pg.mkBrush(128, 128, 128, 60)
            self.plot.addItem(label, ignoreBounds=True)
            self._quadrant_labels[quadrant] = label
        self._view_box.sigRangeChanged.connect(self._place_quadrant_labels)
        self._place_quadrant_labels()

    def _place_quadrant_labels(self, *_args) -> None:
        (x0, x1), (y0, y1) = self._view_box.viewRange()
        inset_x, inset_y = (x1 - x0) * 0.01, (y1 - y0) * 0.01
        for quadrant, label in self._quadrant_labels.items():
            right, top = quadrant in (1, 4), quadrant in (1, 2)
            qx0, qx1 = (0.5, 1.0) if right else (0.0, 0.5)
            qy0, qy1 = (0.5, 1.0) if top else (0.0, 0.5)
            vx0, vx1, vy0, vy1 = max(qx0, x0), min(qx1, x1), max(qy0, y0), min(qy1, y1)
            if vx0 >= vx1 or vy0 >= vy1:
                label.hide()  # the quadrant is out of view
                continue
            label.show()
            label.setAnchor((1, 0) if right and top else (0, 0) if top else (0, 1) if not right else (1, 1))
            label.setPos(vx1 - inset_x if right else vx0 + inset_x, vy1 - inset_y if top else vy0 + inset_y)

    def apply_palette(self) -> None:
        """Follow the application palette (light or dark mode) instead of pyqtgraph's black default."""
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(pg.mkPen(text))
            self.plot.getAxis(axis).setTextPen(pg.mkPen(text))

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:  # the system switched between light and dark mode
            self.apply_palette()
        super().changeEvent(event)

    def reset_view(self) -> None:
        self._view_box.setRange(xRange=(-0.02, 1.02), yRange=(-0.02, 1.02), padding=0)

    def set_excerpt_extent(self, extent: tuple[tuple[float, float], tuple[float, float]] | None) -> None:
        """How far the songs' excerpt points reach ((valence min, max), (arousal min, max)), for fitting."""
        self._excerpt_extent = extent

    def fit_to_points(self, min_span: float = 0.12, margin: float = 0.08) -> None:
        """Zoom to the drawn songs and their excerpt paths (with a margin), using the whole plot area.

        Valence and arousal are fitted separately, so a library that spreads along one axis more
        than the other still fills the map; each span is at least `min_span`.
        """
        if not len(self._xy):
            self.reset_view()
            return
        (x0, y0), (x1, y1) = self._xy.min(axis=0), self._xy.max(axis=0)
        if self._excerpt_extent is not None:
            (ev0, ev1), (ea0, ea1) = self._excerpt_extent
            x0, x1, y0, y1 = min(x0, ev0), max(x1, ev1), min(y0, ea0), max(y1, ea1)
        ranges = []
        for lo, hi in ((x0, x1), (y0, y1)):
            centre, half = (lo + hi) / 2, max(hi - lo, min_span) / 2 * (1 + 2 * margin)
            ranges.append((max(centre - half, -0.25), min(centre + half, 1.25)))
        self._view_box.setRange(xRange=ranges[0], yRange=ranges[1], padding=0)

    def view_range(self) -> list[list[float]]:
        """[[x0, x1], [y0, y1]]: the visible part of the map (saved with the window layout)."""
        return [[float(v) for v in pair] for pair in self._view_box.viewRange()]

    def set_view_range(self, view: object) -> bool:
        """Restore a `view_range()`; False (nothing changed) for anything that is not a sane range."""
        try:
            (x0, x1), (y0, y1) = [(float(a), float(b)) for a, b in view]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            return False
        if not all(-0.25 <= v <= 1.25 for v in (x0, x1, y0, y1)) or x1 - x0 < 0.002 or y1 - y0 < 0.002:
            return False
        self._view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        return True

    # -- data ----------------------------------------------------------------------------------
    def set_tracks(self, tracks: TrackColumns, visible: np.ndarray | None = None) -> None:
        """Draw the analysed tracks among `visible` (a boolean mask; all when None)."""
        self._tracks = tracks
        self._visible = np.ones(len(tracks), dtype=bool) if visible is None else visible.astype(bool)
        self.refresh()

    def set_visible(self, visible: np.ndarray) -> None:
        self._visible = visible.astype(bool)
        self.refresh()

    def set_colour_by(self, colour_by: ColourBy) -> None:
        self.colour_by = colour_by
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the scatter layers from the current tracks (after new results or a filter change)."""
        tracks = self._tracks
        keep = tracks.analysed & self._visible if len(tracks) else np.zeros(0, dtype=bool)
        self._points = np.flatnonzero(keep)
        self._xy = np.column_stack([tracks.valence[self._points], tracks.arousal[self._points]]) if len(
            self._points) else np.zeros((0, 2))
        self._tree = cKDTree(self._xy) if len(self._xy) else None
        groups, self.legend_entries = self._colour_groups()
        hollow = tracks.not_music[self._points] if len(self._points) else np.zeros(0, dtype=bool)
        self.non_music_drawn = int(hollow.sum())
        groups = [(colour, members[~hollow[members]]) for colour, members in groups]
        for layer in self._layers:
            self.plot.removeItem(layer)
        self._layers = []
        if len(self._points) > RASTER_ABOVE:
            colours = np.zeros((len(self._points), 4), dtype=np.uint8)
            for colour, members in groups:
                colours[members] = colour.getRgb()
            colours[hollow] = QColor(theme.NOT_MUSIC_COLOUR).getRgb()[:3] + (110,)  # faint: a raster has no rings
            self._raster.set_points(self._xy, colours)
        else:
            self._raster.clear()
            for colour, members in groups:
                self._add_layer(members, pg.mkPen(colour.darker(160), width=1), pg.mkBrush(colour))
            self._add_layer(np.flatnonzero(hollow), pg.mkPen(theme.NOT_MUSIC_COLOUR, width=1.5), pg.mkBrush(None))
        self._update_selection_item()
        self._update_current_item()

    def _add_layer(self, members: np.ndarray, pen: QPen, brush: QBrush) -> None:
        if not len(members):
            return
        layer = pg.ScatterPlotItem(x=self._xy[members, 0], y=self._xy[members, 1], pxMode=True, size=7, pen=pen,
                                   brush=brush, antialias=True)
        layer.setZValue(10)
        self.plot.addItem(layer)
        self._layers.append(layer)

    def _colour_groups(self) -> tuple[list[tuple[QColor, np.ndarray]], list[tuple[str, str]]]:
        """Split drawn points by colour; returns (colour, positions into self._points) and legend rows."""
        if self.colour_by is ColourBy.MOOD:
            quadrant = quadrants(self._xy[:, 0], self._xy[:, 1])
            groups = [(QColor(theme.QUADRANT_COLOURS[q]), np.flatnonzero(quadrant == q)) for q in (1, 2, 3, 4)]
            legend = [(theme.QUADRANT_LABELS[q], theme.QUADRANT_COLOURS[q]) for q in (1, 2, 3, 4)]
            return groups, legend
        genres = self._tracks.genre[self._points] if len(self._points) else np.array([], dtype=str)
        names, inverse, counts = np.unique(genres, return_inverse=True, return_counts=True)
        order = [i for i in np.argsort(-counts, kind="stable") if names[i]][:MAX_GENRE_COLOURS]
        groups, legend = [], []
        used = np.zeros(len(genres), dtype=bool)
        for slot, name_index in enumerate(order):
            members = np.flatnonzero(inverse == name_index)
            used[members] = True
            colour = theme.CATEGORY_COLOURS[slot % len(theme.CATEGORY_COLOURS)]
            groups.append((QColor(colour), members))
            legend.append((str(names[name_index]), colour))
        groups.append((QColor(theme.OTHER_COLOUR), np.flatnonzero(~used)))
        legend.append(("Other / unknown", theme.OTHER_COLOUR))
        return groups, legend

    # -- selection -----------------------------------------------------------------------------
    @property
    def selection(self) -> np.ndarray:
        return self._selection

    @property
    def drawn_tracks(self) -> np.ndarray:
        """Track indices currently drawn as points."""
        return self._points

    def set_selection(self, indices, emit: bool = False) -> None:
        """Select these track indices (drops `last_region`: the selection is no longer one shape)."""
        self.last_region = None
        self._selection = np.unique(np.asarray(indices, dtype=np.int64))
        self._update_selection_item()
        if emit:
            self.selectionChanged.emit(self._selection)

    def select_rect(self, x0: float, x1: float, y0: float, y1: float, additive: bool = False) -> None:
        self.select_region(playlists.Rect(valence=(_clip(x0), _clip(x1)), arousal=(_clip(y0), _clip(y1))), additive)

    def select_polygon(self, vertices: list[tuple[float, float]], additive: bool = False) -> None:
        if len(vertices) < 3:
            self._finish_region_selection(np.zeros(0, dtype=np.int64), additive)
            return
        self.select_region(playlists.Polygon(tuple((_clip(x), _clip(y)) for x, y in vertices)), additive)

    def select_region(self, region: "playlists.Region", additive: bool = False) -> None:
        """Select the drawn points inside a region of the core's playlist module (rect, circle, polygon)."""
        self.last_region = None if additive else region
        inside = region.contains(self._xy) if len(self._xy) else np.zeros(0, dtype=bool)
        self._finish_region_selection(self._points[inside], additive)

    def _finish_region_selection(self, chosen: np.ndarray, additive: bool) -> None:
        region = self.last_region
        if additive:
            chosen = np.union1d(self._selection, chosen)
        self.set_selection(chosen)
        self.last_region = region
        self.selectionChanged.emit(self._selection)

    def _update_selection_item(self) -> None:
        sel = self._selection
        if len(sel) and len(self._tracks):
            sel = sel[(sel < len(self._tracks))]
            sel = sel[self._tracks.analysed[sel] & self._visible[sel]]
        xy = np.column_stack([self._tracks.valence[sel], self._tracks.arousal[sel]]) if len(sel) else np.zeros((0, 2))
        if len(xy) > RASTER_SELECTION_ABOVE:  # a big selection is a ring per point in one image too
            self._selection_item.setData(x=[], y=[])
            ring = np.tile(QColor(theme.SELECTION_COLOUR).getRgb(), (len(xy), 1))
            self._selection_raster.set_points(xy, ring)
        else:
            self._selection_raster.clear()
            self._selection_item.setData(x=xy[:, 0], y=xy[:, 1])

    # -- current song & paths ------------------------------------------------------------------
    @property
    def current(self) -> int:
        return self._current

    def set_current(self, index: int, timeline: list[tuple[float, float]] | None = None,
                    centre: bool = False) -> None:
        """Mark the current song and draw its per-excerpt timeline (valence, arousal pairs) as a path."""
        self._current = int(index)
        self._update_current_item()
        points = timeline or []
        self._path_item.setData([p[0] for p in points], [p[1] for p in points])
        if centre and self._current >= 0 and self._tracks.analysed[self._current]:
            x, y = self._tracks.valence[self._current], self._tracks.arousal[self._current]
            (x0, x1), (y0, y1) = self._view_box.viewRange()
            if not (x0 <= x <= x1 and y0 <= y <= y1):
                self._view_box.translateBy(x=x - (x0 + x1) / 2, y=y - (y0 + y1) / 2)

    def _update_current_item(self) -> None:
        i = self._current
        if 0 <= i < len(self._tracks) and self._tracks.analysed[i]:
            self._current_item.setData(x=[self._tracks.valence[i]], y=[self._tracks.arousal[i]])
        else:
            self._current_item.setData(x=[], y=[])

    def set_playlist_path(self, indices) -> None:
        """Draw a playlist (e.g. a mood path) as a dashed line through its songs, in order."""
        idx = np.asarray(list(indices), dtype=np.int64)
        if len(idx) and len(self._tracks):
            idx = idx[(idx >= 0) & (idx < len(self._tracks))]
            idx = idx[self._tracks.analysed[idx]]
            self._playlist_path_item.setData(self._tracks.valence[idx], self._tracks.arousal[idx])
        else:
            self._playlist_path_item.setData([], [])

    # -- hit testing ---------------------------------------------------------------------------
    def track_at(self, x: float, y: float, radius_px: float = HOVER_RADIUS_PX) -> int:
        """Nearest drawn track within `radius_px` screen pixels of data point (x, y), else -1."""
        if self._tree is None:
            return -1
        px_w, px_h = self._pixel_size()
        radius = radius_px * max(px_w, px_h)
        candidates = self._tree.query_ball_point((x, y), r=radius)
        if not candidates:
            return -1
        cand = np.asarray(candidates)
        d = ((self._xy[cand, 0] - x) / px_w) ** 2 + ((self._xy[cand, 1] - y) / px_h) ** 2
        best = int(np.argmin(d))
        return int(self._points[cand[best]]) if d[best] <= radius_px ** 2 else -1

    def _pixel_size(self) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self._view_box.viewRange()
        rect = self._view_box.sceneBoundingRect()
        return (x1 - x0) / max(rect.width(), 1.0), (y1 - y0) / max(rect.height(), 1.0)

    def _on_mouse_moved(self, scene_pos) -> None:
        if not self._view_box.sceneBoundingRect().contains(scene_pos):
            self._set_hovered(-1)
            return
        point = self._view_box.mapSceneToView(scene_pos)
        self._set_hovered(self.track_at(point.x(), point.y()))

    def _set_hovered(self, index: int) -> None:
        if index == self._hovered:
            return
        self._hovered = index
        if index < 0:
            self._hover_label.hide()
        else:
            t = self._tracks
            artist = t.artist[index] or "Unknown artist"
            mood = f" · {t.mood[index]}" if t.mood[index] else ""
            self._hover_label.setText(f"{t.title[index] or t.path[index]}\n{artist}\n"
                                      f"valence {t.valence[index]:.3f} · arousal {t.arousal[index]:.3f}{mood}")
            self._place_hover_label(float(t.valence[index]), float(t.arousal[index]))
            self._hover_label.show()
        self.trackHovered.emit(index)

    def _place_hover_label(self, x: float, y: float) -> None:
        """Put the tooltip beside the point on the side with room, so the plot edge never clips it."""
        (x0, x1), (y0, y1) = self._view_box.viewRange()
        right_half = x > (x0 + x1) / 2
        top_part = y > y0 + (y1 - y0) * 0.7
        self._hover_label.setAnchor((1.0 if right_half else 0.0, 0.0 if top_part else 1.0))
        self._hover_label.setPos(x, y)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        """Double-click on a point activates it (plays it); pyqtgraph's scene only reports some of them."""
        if watched is self.plot.viewport() and event.type() == QEvent.Type.Leave:
            self._set_hovered(-1)  # the pointer left the map: no tooltip left behind
        if watched is self.plot.viewport() and event.type() == QEvent.Type.MouseButtonDblClick \
                and event.button() == Qt.MouseButton.LeftButton:
            point = self._view_box.mapSceneToView(self.plot.mapToScene(event.position().toPoint()))
            index = self.track_at(point.x(), point.y())
            if index >= 0:
                self.trackActivated.emit(index)
                return True
        return super().eventFilter(watched, event)

    def _on_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if not self._view_box.sceneBoundingRect().contains(ev.scenePos()):
            return
        point = self._view_box.mapSceneToView(ev.scenePos())
        index = self.track_at(point.x(), point.y())
        if ev.double():
            return  # handled in eventFilter, which sees every double-click
        if index >= 0:
            additive = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if additive:
                self.set_selection(np.union1d(self._selection, [index]), emit=True)
            self.trackClicked.emit(index)
        elif self.tool is SelectTool.PAN:
            self.set_selection([], emit=True)


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value)))
