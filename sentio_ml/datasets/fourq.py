"""4Q audio emotion dataset (Panda, Malheiro & Paiva 2018), development part.

Continuous targets: the mean Warriner (2013) valence / arousal (1–9) of each clip's AllMusic mood
words (`MoodsFoundStr`); `quadrant` is the dataset's own `Quadrant` label (what macro-F1 is scored
against); `fold` is the fixed, quadrant-balanced, artist-disjoint fold column.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sentio_ml.datasets.base import Clip, Dataset, unit_from_scale
from sentio_ml.errors import DatasetError

WARRINER_FILE = "Ratings_Warriner_et_al.csv"
REQUIRED_COLUMNS = ("Song", "Artist", "Quadrant", "MoodsFoundStr", "fold", "file")


def find_warriner(root: Path) -> Path:
    """The Warriner norms next to the 4Q folder (`<root>/../warriner/`) or inside it."""
    for candidate in (root.parent / "warriner" / WARRINER_FILE, root / "warriner" / WARRINER_FILE, root / WARRINER_FILE):
        if candidate.is_file():
            return candidate
    raise DatasetError(
        f"Cannot find {WARRINER_FILE} (the Warriner norms) next to {root}; pass its path with --warriner."
    )


def load_warriner(path: Path) -> dict[str, tuple[float, float]]:
    """word -> (valence, arousal) on 1–9. keep_default_na=False: 'null' is a word, not a missing value."""
    try:
        table = pd.read_csv(path, keep_default_na=False, usecols=["Word", "V.Mean.Sum", "A.Mean.Sum"])
    except (OSError, ValueError) as exc:
        raise DatasetError(f"Cannot read the Warriner norms at {path}: {exc}.") from exc
    return {str(w).strip().lower(): (float(v), float(a)) for w, v, a in table.itertuples(index=False)}


def mood_words_va(words: str, norms: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """Mean Warriner valence/arousal (1–9) of the ';'-separated mood words found in the norms."""
    found = [norms[w] for w in (t.strip().lower() for t in words.split(";")) if w in norms]
    if not found:
        return None
    return sum(v for v, _ in found) / len(found), sum(a for _, a in found) / len(found)


def load_fourq(root: str | Path, warriner: str | Path | None = None, check_audio: bool = True) -> Dataset:
    """The 4Q development set at `root` (clips.csv + audio/). Clips whose mood words are all missing
    from the norms are dropped and counted in `info['dropped']`."""
    root = Path(root)
    csv_path = root / "clips.csv"
    if not csv_path.is_file():
        raise DatasetError(f"No clips.csv in {root}; point --data at the 4Q folder (with clips.csv and audio/).")
    try:
        table = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"Cannot read {csv_path}: {exc}.") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{csv_path} lacks the column(s) {', '.join(missing)}.")
    norms = load_warriner(Path(warriner) if warriner else find_warriner(root))

    clips: list[Clip] = []
    folds: list[int] = []
    dropped: list[str] = []
    for row in table.itertuples(index=False):
        va = mood_words_va(row.MoodsFoundStr, norms)
        if va is None:
            dropped.append(row.Song)
            continue
        quadrant = row.Quadrant.strip().upper()
        if quadrant not in {"Q1", "Q2", "Q3", "Q4"}:
            raise DatasetError(f"Clip {row.Song} in {csv_path} has an unknown quadrant {row.Quadrant!r}.")
        path = root / row.file
        if check_audio and not path.is_file():
            raise DatasetError(f"The audio of clip {row.Song} is missing: {path}.")
        clips.append(
            Clip(
                path=path,
                valence=unit_from_scale(va[0], 1, 9),
                arousal=unit_from_scale(va[1], 1, 9),
                quadrant=int(quadrant[1]),
                group=row.Song,
                artist=row.Artist.strip() or None,
                clip_id=row.Song,
            )
        )
        folds.append(int(row.fold))
    return Dataset(name="fourq", clips=clips, scale=(1.0, 9.0), folds=folds, info={"dropped": dropped, "root": str(root)})
