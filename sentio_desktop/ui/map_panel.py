"""The mood map with its tool row (pan / rectangle / lasso, colour by, reset), legend and banners."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sentio_desktop.ui import theme
from sentio_desktop.ui.mood_map import ColourBy, MoodMap, SelectTool


class MapPanel(QWidget):
    addFolderRequested = Signal()
    analysePendingRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map = MoodMap(self)

        self.tool_group = QButtonGroup(self)
        self.tool_buttons: dict[SelectTool, QToolButton] = {}
        tools = QHBoxLayout()
        tools.setContentsMargins(4, 4, 4, 0)
        for tool, text, tip in ((SelectTool.PAN, "Pan", "Drag to pan, wheel to zoom (P)"),
                                (SelectTool.RECT, "Rectangle", "Drag a rectangle to select; Shift adds (R)"),
                                (SelectTool.LASSO, "Lasso", "Draw around songs to select; Shift adds (L)")):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            button.toggled.connect(lambda on, t=tool: on and self.set_tool(t))
            tools.addWidget(button)
        self.tool_buttons[SelectTool.PAN].setChecked(True)
        self.colour_combo = QComboBox(self)
        self.colour_combo.addItem("Colour by mood", ColourBy.MOOD)
        self.colour_combo.addItem("Colour by genre", ColourBy.GENRE)
        self.colour_combo.currentIndexChanged.connect(
            lambda _i: self.set_colour_by(self.colour_combo.currentData()))
        self.reset_button = QToolButton(self)
        self.reset_button.setText("Reset view")
        self.reset_button.setToolTip("Show the whole map (Ctrl+0)")
        self.reset_button.clicked.connect(self.map.reset_view)
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Fit to songs")
        self.fit_button.setToolTip("Zoom to where the songs are (F)")
        self.fit_button.clicked.connect(self.map.fit_to_points)
        self.selection_label = QLabel("", self)
        tools.addSpacing(12)
        tools.addWidget(self.colour_combo)
        tools.addWidget(self.reset_button)
        tools.addWidget(self.fit_button)
        tools.addStretch(1)
        tools.addWidget(self.selection_label)

        self.banner = QLabel("", self)
        self.banner.setObjectName("modelBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet("QLabel#modelBanner { background: #fff3cd; color: #5c4400; "
                                  "border: 1px solid #e0c060; border-radius: 4px; padding: 6px; }")
        self.banner.hide()

        self.pending_bar = QFrame(self)
        self.pending_bar.setObjectName("pendingBar")
        self.pending_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.pending_label = QLabel("", self.pending_bar)
        self.pending_label.setWordWrap(True)
        self.pending_button = QPushButton("Analyse now", self.pending_bar)
        self.pending_button.clicked.connect(self.analysePendingRequested)
        self.pending_button.clicked.connect(lambda: self.show_pending(0))
        later = QToolButton(self.pending_bar)
        later.setText("Later")
        later.clicked.connect(lambda: self.show_pending(0))
        pending_layout = QHBoxLayout(self.pending_bar)
        pending_layout.setContentsMargins(6, 3, 6, 3)
        pending_layout.addWidget(self.pending_label, 1)
        pending_layout.addWidget(self.pending_button)
        pending_layout.addWidget(later)
        self.pending_bar.hide()

        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)

        self.welcome = QFrame(self)
        self.welcome.setObjectName("welcome")
        self.welcome.setFrameShape(QFrame.Shape.StyledPanel)
        self.welcome.setAutoFillBackground(True)  # opaque over the map, in light and dark palettes
        title = QLabel("<h2>Welcome to Sentio</h2>", self.welcome)
        body = QLabel("Your library is empty. Add a folder with music and Sentio will scan it and place "
                      "every song on this map by how it feels: happy or sad (left to right), calm or "
                      "energetic (bottom to top).", self.welcome)
        body.setWordWrap(True)
        self.welcome_button = QPushButton("Add a music folder…", self.welcome)
        self.welcome_button.setDefault(True)
        self.welcome_button.clicked.connect(self.addFolderRequested)
        wl = QVBoxLayout(self.welcome)
        wl.addWidget(title)
        wl.addWidget(body)
        wl.addWidget(self.welcome_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.welcome.setMaximumWidth(460)
        self.welcome.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.banner)
        layout.addWidget(self.pending_bar)
        layout.addWidget(self.map, 1)
        layout.addWidget(self.legend)
        self.update_legend()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_welcome()

    def _place_welcome(self) -> None:
        self.welcome.adjustSize()
        geo = self.map.geometry()
        self.welcome.move(geo.x() + (geo.width() - self.welcome.width()) // 2,
                          geo.y() + (geo.height() - self.welcome.height()) // 2)

    def show_welcome(self, show: bool) -> None:
        self.welcome.setVisible(show)
        if show:
            self.welcome.raise_()
            self._place_welcome()

    def set_tool(self, tool: SelectTool) -> None:
        self.map.tool = tool
        button = self.tool_buttons[tool]
        if not button.isChecked():
            button.setChecked(True)

    def set_colour_by(self, colour_by: ColourBy) -> None:
        index = self.colour_combo.findData(colour_by)
        if index != self.colour_combo.currentIndex():
            self.colour_combo.setCurrentIndex(index)
            return  # the combo's signal comes back here
        self.map.set_colour_by(colour_by)
        self.update_legend()

    def update_legend(self) -> None:
        items = " &nbsp; ".join(f"<span style='color:{colour}'>●</span> {escape(name)}"
                                for name, colour in self.map.legend_entries)
        if items and self.map.non_music_drawn:
            items += f" &nbsp; <span style='color:{theme.NOT_MUSIC_COLOUR}'>○</span> not music"
        self.legend.setText(f"<small>{items} &nbsp; <span style='color:#ff2d95'>◯ current song, "
                            f"— its excerpts</span></small>" if items else "")

    def show_pending(self, count: int) -> None:
        """Offer to analyse the `count` songs that are in the library but not on the map yet (0 hides it)."""
        if count:
            songs = "1 song is" if count == 1 else f"{count:,} songs are"
            self.pending_label.setText(f"{songs} not analysed yet, so not on the map.")
        self.pending_bar.setVisible(count > 0)

    def set_banner(self, text: str | None) -> None:
        self.banner.setText(text or "")
        self.banner.setVisible(bool(text))

    def set_selection_count(self, count: int) -> None:
        self.selection_label.setText(f"{count:,} selected" if count else "")
