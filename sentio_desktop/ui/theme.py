"""Colours and names shared by the map, the legend and the table; readable in light and dark mode."""
from __future__ import annotations

from sentio_ml.mood import QUADRANT_NAMES

# Russell quadrants (the rule and the names live in sentio_ml.mood): Q1 +v+a, Q2 −v+a, Q3 −v−a, Q4 +v−a.
# "happy / excited (+valence, +arousal)" -> "Happy / Excited": the map has room for the words only.
QUADRANT_LABELS: dict[int, str] = {q: name.split(" (")[0].title() for q, name in QUADRANT_NAMES.items()}

# Mid-saturation colours that stay legible on both a white and a near-black background.
QUADRANT_COLOURS: dict[int, str] = {1: "#f2a516", 2: "#e2474b", 3: "#4d7fdb", 4: "#3bb37a"}
CATEGORY_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                    "#9c755f")
OTHER_COLOUR = "#8c8c8c"
NOT_MUSIC_COLOUR = "#9a9a9a"  # hollow markers: speech, animal sounds ... (sentio_ml.music_detector)
SELECTION_COLOUR = "#00b4d8"
CURRENT_COLOUR = "#ff2d95"
PATH_COLOUR = "#ff2d95"
PLAYLIST_PATH_COLOUR = "#9b5de5"
GUIDE_COLOUR = "#8a8a8a"
