"""Many map points as one image: the fast path for large libraries.

Drawing 100,000 pixel-mode symbols costs pyqtgraph ~40–90 ms per frame on a small CPU, too slow
to pan smoothly. This item rasterises the points once (numpy: each point stamps a small disc into an
RGBA array) over the visible area plus a margin, and hands Qt a single image placed in data
coordinates. Panning inside the margin only moves that image (one blit per frame); zooming, resizing,
new data or panning past the margin re-rasterise, debounced, in a few tens of milliseconds.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem

MARGIN = 0.5  # extra view widths/heights drawn on each side, so short pans need no re-raster
MAX_SIDE = 4096  # pixels per image side, whatever the window size


def disc_offsets(radius: float) -> np.ndarray:
    """(dy, dx) offsets of the pixels of a filled disc (about radius² · π of them)."""
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = dx ** 2 + dy ** 2 <= radius ** 2 + 0.5
    return np.column_stack([dy[keep], dx[keep]])


class PointRaster:
    """Points (x, y) with per-point RGBA colours, drawn as discs of `radius` device pixels."""

    def __init__(self, view_box: pg.ViewBox, radius: float = 2.2, outline: bool = True, ring: bool = False,
                 z: float = 10) -> None:
        self.view_box = view_box
        # A pixmap (premultiplied ARGB on the raster engine) blits without a per-frame format conversion.
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.item.setZValue(z)
        self.image = np.zeros((0, 0, 4), dtype=np.uint8)  # the last raster, rows from the bottom up
        self.item.setVisible(False)
        view_box.addItem(self.item, ignoreBounds=True)
        self.radius = radius
        self.outline = outline
        self.ring = ring
        self.xy = np.zeros((0, 2))
        self.colours = np.zeros((0, 4), dtype=np.uint8)
        self._extent: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 drawn
        self._pixel: tuple[float, float] | None = None
        self._timer = QTimer(view_box, singleShot=True, interval=30)  # dies with the view, never fires after it
        self._timer.timeout.connect(self.render)
        view_box.sigRangeChanged.connect(self._view_changed)
        view_box.sigResized.connect(lambda *_: self._timer.start())

    def set_points(self, xy: np.ndarray, colours: np.ndarray) -> None:
        self.xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        self.colours = np.asarray(colours, dtype=np.uint8).reshape(-1, 4)
        self.render()

    def clear(self) -> None:
        self.set_points(np.zeros((0, 2)), np.zeros((0, 4), dtype=np.uint8))

    def _device_pixel_ratio(self) -> float:
        views = self.view_box.scene().views() if self.view_box.scene() else []
        return float(views[0].devicePixelRatioF()) if views else 1.0

    def _pixel_size(self) -> tuple[float, float, tuple[float, float, float, float]]:
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        rect = self.view_box.boundingRect()
        ratio = self._device_pixel_ratio()
        width, height = max(rect.width() * ratio, 1.0), max(rect.height() * ratio, 1.0)
        return (x1 - x0) / width, (y1 - y0) / height, (x0, y0, x1, y1)

    def _view_changed(self, *_args) -> None:
        if not len(self.xy):
            return
        px, py, (x0, y0, x1, y1) = self._pixel_size()
        if self._extent is None or self._pixel is None:
            self._timer.start()
            return
        zoomed = abs(px / self._pixel[0] - 1) > 0.01 or abs(py / self._pixel[1] - 1) > 0.01
        ex0, ey0, ex1, ey1 = self._extent
        outside = x0 < ex0 or y0 < ey0 or x1 > ex1 or y1 > ey1
        if zoomed or outside:
            self._timer.start()

    def render(self) -> None:
        """Rasterise the points for the current view (plus margin) at device-pixel resolution."""
        self._timer.stop()
        n = len(self.xy)
        self.item.setVisible(n > 0)
        if not n:
            self._extent = None
            return
        px, py, (x0, y0, x1, y1) = self._pixel_size()
        self._pixel = (px, py)
        w, h = x1 - x0, y1 - y0
        ex0, ey0 = x0 - MARGIN * w, y0 - MARGIN * h
        width = int(min(MAX_SIDE, np.ceil((1 + 2 * MARGIN) * w / px)))
        height = int(min(MAX_SIDE, np.ceil((1 + 2 * MARGIN) * h / py)))
        px, py = (1 + 2 * MARGIN) * w / width, (1 + 2 * MARGIN) * h / height
        pixels = np.zeros(height * width, dtype=np.uint32)  # one RGBA pixel per uint32: 4x fewer writes
        ix = np.floor((self.xy[:, 0] - ex0) / px).astype(np.int64)
        iy = np.floor((self.xy[:, 1] - ey0) / py).astype(np.int64)
        ratio = self._device_pixel_ratio()
        radius = self.radius * ratio
        r = int(np.ceil(radius)) + 2
        keep = (ix >= r) & (ix < width - r) & (iy >= r) & (iy < height - r)
        flat = iy[keep] * width + ix[keep]
        colours = np.ascontiguousarray(self.colours[keep]).view(np.uint32).ravel()

        def stamp(offsets: np.ndarray, values: np.ndarray) -> None:
            for dy, dx in offsets.tolist():
                pixels[flat + (dy * width + dx)] = values

        if self.ring:
            outer, inner = disc_offsets(radius + 1.6 * ratio), disc_offsets(radius + 0.4 * ratio)
            inner_set = {tuple(o) for o in inner.tolist()}
            stamp(np.array([o for o in outer.tolist() if tuple(o) not in inner_set]).reshape(-1, 2), colours)
        else:
            if self.outline:
                dark = np.ascontiguousarray(self.colours[keep]).copy()
                dark[:, :3] = (dark[:, :3] * 0.55).astype(np.uint8)
                stamp(disc_offsets(radius + 0.9 * ratio), dark.view(np.uint32).ravel())
            stamp(disc_offsets(radius), colours)
        image = pixels.view(np.uint8).reshape(height, width, 4)
        self.image = image
        qimage = QImage(image.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
        self.item.setPixmap(QPixmap.fromImage(qimage.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)))
        self.item.setPos(ex0, ey0)  # row 0 at the bottom: the view's y axis points up
        self.item.setTransform(QTransform.fromScale(px, py))
        self._extent = (ex0, ey0, ex0 + width * px, ey0 + height * py)
