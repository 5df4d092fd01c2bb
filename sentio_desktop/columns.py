"""Names shared by the library and the command line that must be importable without the database layer
(the CLI builds its parser from them, and `sentio --help` must not import SQLAlchemy)."""
from __future__ import annotations

#: What `Library.tracks(order_by=...)` and `sentio list --sort` accept.
SORT_KEYS = ("artist", "title", "album", "path", "valence", "arousal", "mood", "duration", "added")
