"""DEAM (Aljanaki, Yang & Soleymani 2017) in its official layout.

    <root>/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv
    <root>/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_2000_2058.csv
    <root>/annotations/annotations averaged per song/dynamic (per second annotations)/{valence,arousal}.csv
    <root>/metadata/metadata_{2013,2014,2015}.csv
    <root>/MEMD_audio/<song_id>.mp3            (downloaded by the user; `audio_dir` overrides)

`subset` picks the static labels: "clips" = the 1744 45-s excerpts (songs 2–2000), "full" = the 58
full-length songs (2001–2058), "all" = both. Static labels are 1–9; the dynamic 2 Hz labels (from 15 s,
on [−1, 1]) are attached on request as `info["dynamic"][song_id] = (times_s, valence_unit, arousal_unit)`.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from sentio_ml.datasets.base import Clip, Dataset, quadrant_of, unit_from_scale
from sentio_ml.errors import DatasetError

ANNOTATIONS = Path("annotations") / "annotations averaged per song"
STATIC_FILES = {
    "clips": ANNOTATIONS / "song_level" / "static_annotations_averaged_songs_1_2000.csv",
    "full": ANNOTATIONS / "song_level" / "static_annotations_averaged_songs_2000_2058.csv",
}
DYNAMIC_DIR = ANNOTATIONS / "dynamic (per second annotations)"
SUBSETS = ("clips", "full", "all")
# (file, id column position, artist column position) of the three metadata files
METADATA = (("metadata_2013.csv", 0, 2), ("metadata_2014.csv", 0, 1), ("metadata_2015.csv", 0, 3))


def _read_static(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"DEAM static annotations not found at {path}; point --data at the unpacked DEAM folder.")
    table = pd.read_csv(path)
    table.columns = [str(c).strip() for c in table.columns]  # the official headers carry leading spaces
    missing = {"song_id", "valence_mean", "arousal_mean"} - set(table.columns)
    if missing:
        raise DatasetError(f"{path} lacks the column(s) {', '.join(sorted(missing))}.")
    return table[["song_id", "valence_mean", "arousal_mean"]]


def read_artists(root: Path) -> dict[str, str]:
    """song id -> artist from the three metadata files (tab-padded cells, ragged rows in 2014/2015)."""
    artists: dict[str, str] = {}
    for name, id_col, artist_col in METADATA:
        path = root / "metadata" / name
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            rows = csv.reader(handle)
            next(rows, None)
            for row in rows:
                if len(row) > max(id_col, artist_col):
                    song, artist = row[id_col].strip(), row[artist_col].strip()
                    if song.isdigit() and artist and artist.lower() != "n/a":
                        artists[song] = artist
    return artists


def read_dynamic(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """song id -> (times in s, valence, arousal) on [0, 1] from the 2 Hz per-song averages."""
    tables = {}
    for dim in ("valence", "arousal"):
        path = root / DYNAMIC_DIR / f"{dim}.csv"
        if not path.is_file():
            raise DatasetError(f"DEAM dynamic annotations not found at {path}.")
        table = pd.read_csv(path)
        table.columns = [str(c).strip() for c in table.columns]
        tables[dim] = table.set_index("song_id")
    times = np.array([int(c.removeprefix("sample_").removesuffix("ms")) / 1000 for c in tables["valence"].columns])
    out = {}
    for song_id, v_row in tables["valence"].iterrows():
        if song_id not in tables["arousal"].index:
            continue
        v = v_row.to_numpy(dtype=np.float64)
        a = tables["arousal"].loc[song_id].reindex(tables["valence"].columns).to_numpy(dtype=np.float64)
        keep = ~(np.isnan(v) | np.isnan(a))
        out[str(song_id)] = (times[keep], (v[keep] + 1) / 2, (a[keep] + 1) / 2)
    return out


def load_deam(
    root: str | Path,
    subset: str = "clips",
    audio_dir: str | Path | None = None,
    dynamic: bool = False,
    missing_audio: str = "error",
) -> Dataset:
    """DEAM static song-level labels (see module doc). `missing_audio`: "error" (default), "skip"
    (drop clips whose MP3 is absent, counted in info["missing_audio"]) or "ignore" (keep them)."""
    root = Path(root)
    if subset not in SUBSETS:
        raise DatasetError(f"Unknown DEAM subset {subset!r}; choose one of {', '.join(SUBSETS)}.")
    if missing_audio not in ("error", "skip", "ignore"):
        raise DatasetError(f"missing_audio must be error, skip or ignore, not {missing_audio!r}.")
    parts = ["clips", "full"] if subset == "all" else [subset]
    table = pd.concat([_read_static(root / STATIC_FILES[p]) for p in parts], ignore_index=True)
    audio_root = Path(audio_dir) if audio_dir else root / "MEMD_audio"
    artists = read_artists(root)

    clips: list[Clip] = []
    absent: list[str] = []
    for song_id, valence, arousal in table.itertuples(index=False):
        song = str(int(song_id))
        path = audio_root / f"{song}.mp3"
        if missing_audio != "ignore" and not path.is_file():
            absent.append(song)
            continue
        v, a = unit_from_scale(valence, 1, 9), unit_from_scale(arousal, 1, 9)
        clips.append(Clip(path, v, a, quadrant_of(v, a), group=song, artist=artists.get(song), clip_id=song))
    if not clips:
        raise DatasetError(
            f"None of the {len(table)} DEAM songs has its audio in {audio_root}; download MEMD_audio there "
            "(the DEAM audio is not bundled) or point to its folder."
        )
    if absent and missing_audio == "error":
        raise DatasetError(
            f"{len(absent)} of {len(table)} DEAM songs have no audio in {audio_root} (e.g. {absent[0]}.mp3); "
            "complete MEMD_audio or leave them out (--skip-missing-audio, missing_audio='skip')."
        )
    info: dict = {"subset": subset, "missing_audio": absent, "root": str(root)}
    if dynamic:
        info["dynamic"] = read_dynamic(root)
    return Dataset(name=f"deam-{subset}", clips=clips, scale=(1.0, 9.0), folds=None, info=info)
