"""Column arrays of the whole library, the one in-memory shape the table and the map share.

The library is loaded in one query into numpy columns (strings as unicode arrays, numbers as float
arrays with NaN for "not analysed yet"), so sorting is an argsort and filtering a boolean mask: the
views stay fast at 100,000 tracks without any per-row Python work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from sentio_ml.music_detector import not_music_mask, shown_mood

STRING_COLUMNS = ("title", "artist", "album", "genre", "mood", "status", "path")
FLOAT_COLUMNS = ("duration", "valence", "arousal", "music")


@dataclass
class TrackColumns:
    """Parallel arrays, one entry per track; position in these arrays is the track's *index*."""

    track_id: np.ndarray  # int64 library ids
    title: np.ndarray
    artist: np.ndarray
    album: np.ndarray
    genre: np.ndarray
    duration: np.ndarray  # seconds, NaN when unknown
    valence: np.ndarray  # [0, 1], NaN when not analysed
    arousal: np.ndarray
    mood: np.ndarray  # the mood word, or "not music" for tracks judged not music
    status: np.ndarray
    path: np.ndarray
    music: np.ndarray  # P(Music), NaN when unknown (not checked: counts as music)
    _search_text: np.ndarray | None = field(default=None, repr=False)
    _id_to_index: dict[int, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @classmethod
    def empty(cls) -> "TrackColumns":
        return cls.from_records([])

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any] | Any]) -> "TrackColumns":
        """Build from dicts or objects with the column names as keys/attributes (missing → blank/NaN)."""
        rows = list(records)

        def get(row: Any, name: str) -> Any:
            if isinstance(row, Mapping):
                return row.get(name)
            return getattr(row, name, None)

        def strings(name: str) -> np.ndarray:
            values = [("" if get(r, name) is None else str(get(r, name))) for r in rows]
            return np.array(values, dtype=str) if values else np.array([], dtype="U1")

        def floats(name: str) -> np.ndarray:
            values = [get(r, name) for r in rows]
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

        ids = np.array([int(get(r, "id") if get(r, "id") is not None else get(r, "track_id")) for r in rows],
                       dtype=np.int64)
        return cls(track_id=ids, **{name: strings(name) for name in STRING_COLUMNS},
                   **{name: floats(name) for name in FLOAT_COLUMNS})

    @classmethod
    def from_arrays(cls, **columns: Any) -> "TrackColumns":
        """Build from ready column sequences (used by the loaders and the 100k benchmark)."""
        n = len(columns["track_id"])
        out: dict[str, np.ndarray] = {"track_id": np.asarray(columns["track_id"], dtype=np.int64)}
        for name in STRING_COLUMNS:
            values = columns.get(name)
            out[name] = np.full(n, "", dtype="U1") if values is None else np.asarray(
                ["" if v is None else v for v in values] if not isinstance(values, np.ndarray) else values, dtype=str)
        for name in FLOAT_COLUMNS:
            values = columns.get(name)
            out[name] = np.full(n, np.nan) if values is None else np.array(
                [np.nan if v is None else v for v in values] if not isinstance(values, np.ndarray) else values,
                dtype=np.float64)
        return cls(**out)

    def take(self, order: np.ndarray) -> "TrackColumns":
        """The same tracks reordered (or a subset), as new arrays."""
        return TrackColumns(track_id=self.track_id[order], **{n: getattr(self, n)[order] for n in STRING_COLUMNS},
                            **{n: getattr(self, n)[order] for n in FLOAT_COLUMNS})

    # -- derived data ------------------------------------------------------------------------
    @property
    def analysed(self) -> np.ndarray:
        """Boolean mask of tracks that have a valence/arousal estimate."""
        return ~(np.isnan(self.valence) | np.isnan(self.arousal))

    @property
    def not_music(self) -> np.ndarray:
        """Boolean mask of tracks judged not music (speech, animal sounds ...; unknown counts as music)."""
        return not_music_mask(self.music)

    @property
    def search_text(self) -> np.ndarray:
        """Lower-cased 'title artist album genre mood' per track, for vectorised substring search."""
        if self._search_text is None:
            rows = zip(self.title.tolist(), self.artist.tolist(), self.album.tolist(), self.genre.tolist(),
                       self.mood.tolist(), self.path.tolist())
            text = ["\x1f".join(row).lower() for row in rows]
            self._search_text = np.array(text, dtype=str) if text else np.array([], dtype="U1")
        return self._search_text

    def index_of(self, track_id: int) -> int | None:
        """Position of a library id in the arrays (None when absent)."""
        if self._id_to_index is None:
            self._id_to_index = {int(t): i for i, t in enumerate(self.track_id.tolist())}
        return self._id_to_index.get(int(track_id))

    def update_analysis(self, track_id: int, valence: float, arousal: float, mood: str, status: str,
                        music: float | None = None) -> int | None:
        """Apply one fresh result in place; returns its index (None when the track is not loaded)."""
        index = self.index_of(track_id)
        if index is None:
            return None
        self.valence[index] = valence
        self.arousal[index] = arousal
        self.music[index] = np.nan if music is None else music
        self.mood = _set_string(self.mood, index, shown_mood(mood, music) or "")
        self.status = _set_string(self.status, index, status)
        self._search_text = None
        return index


def _set_string(array: np.ndarray, index: int, value: str) -> np.ndarray:
    """Assign into a fixed-width unicode array, widening it when the new value is longer."""
    if len(value) > array.dtype.itemsize // 4:
        array = array.astype(f"U{len(value)}")
    array[index] = value
    return array


def filter_mask(
    tracks: TrackColumns,
    text: str = "",
    valence: tuple[float, float] = (0.0, 1.0),
    arousal: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Tracks matching every word of `text` and, when a range is narrowed, inside it.

    Unanalysed tracks pass the range filters only while both ranges are the full 0–1.
    """
    mask = np.ones(len(tracks), dtype=bool)
    for word in text.lower().split():
        mask &= np.char.find(tracks.search_text, word) >= 0
    full = valence == (0.0, 1.0) and arousal == (0.0, 1.0)
    if not full:
        with np.errstate(invalid="ignore"):
            mask &= (tracks.valence >= valence[0]) & (tracks.valence <= valence[1])
            mask &= (tracks.arousal >= arousal[0]) & (tracks.arousal <= arousal[1])
    return mask
