"""A one-line label that elides its text to the width it is given instead of widening its window.

Plain QLabels ask for the width of their whole text, so a long song title or file name makes a dock
(and then the window) grow by itself. This label asks for a small minimum, shows "…" where the
text does not fit, and keeps the full text in its tooltip.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, minimum_chars: int = 8,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(text, parent)
        self._minimum_chars = minimum_chars
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * self._minimum_chars, metrics.height())

    def sizeHint(self) -> QSize:  # noqa: N802
        metrics = self.fontMetrics()
        return QSize(min(metrics.horizontalAdvance(self.text()), 400), metrics.height())

    def elided_text(self) -> str:
        """What is shown: the text cut with "…" to the label's width."""
        return self.fontMetrics().elidedText(self.text(), self._mode, max(self.contentsRect().width(), 0))

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                         self.elided_text())
