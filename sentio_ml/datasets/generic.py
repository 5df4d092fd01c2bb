"""Any folder of audio plus a CSV with columns path, valence, arousal (optional: group, artist,
quadrant, fold). Paths are relative to the folder. The label scale is given by `scale=(low, high)`
(default: inferred as 1–9 when any label exceeds 1, else 0–1)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sentio_ml.datasets.base import Clip, Dataset, quadrant_of, unit_from_scale
from sentio_ml.errors import DatasetError


def load_generic(
    root: str | Path,
    labels: str | Path | None = None,
    scale: tuple[float, float] | None = None,
    check_audio: bool = True,
) -> Dataset:
    root = Path(root)
    csv_path = Path(labels) if labels else root / "labels.csv"
    if not csv_path.is_file():
        raise DatasetError(f"No label file at {csv_path}; give a CSV with columns path, valence, arousal.")
    try:
        table = pd.read_csv(csv_path, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"Cannot read {csv_path}: {exc}.") from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("path", "valence", "arousal") if c not in table.columns]
    if missing:
        raise DatasetError(f"{csv_path} lacks the column(s) {', '.join(missing)} (needs path, valence, arousal).")
    try:
        values = table[["valence", "arousal"]].astype(float)
    except ValueError as exc:
        raise DatasetError(f"{csv_path} has a non-numeric valence or arousal value.") from exc
    if scale is None:
        scale = (1.0, 9.0) if float(values.max().max()) > 1.0 else (0.0, 1.0)
    low, high = scale
    if float(values.min().min()) < low or float(values.max().max()) > high:
        raise DatasetError(f"Labels in {csv_path} fall outside the scale {low:g}–{high:g}; pass the right --scale.")

    clips: list[Clip] = []
    folds: list[int] = []
    for i, row in enumerate(table.to_dict("records")):
        path = Path(str(row["path"]))
        path = path if path.is_absolute() else root / path
        if check_audio and not path.is_file():
            raise DatasetError(f"Audio file listed in {csv_path} is missing: {path}.")
        v = unit_from_scale(values.iloc[i, 0], low, high)
        a = unit_from_scale(values.iloc[i, 1], low, high)
        quadrant = str(row.get("quadrant", "")).strip().upper().lstrip("Q")
        clips.append(
            Clip(
                path=path,
                valence=v,
                arousal=a,
                quadrant=int(quadrant) if quadrant in {"1", "2", "3", "4"} else quadrant_of(v, a),
                group=str(row.get("group", "") or path.stem),
                artist=str(row.get("artist", "")).strip() or None,
                clip_id=path.stem,
            )
        )
        if "fold" in table.columns and str(row["fold"]).strip() != "":
            folds.append(int(row["fold"]))
    fixed = folds if len(folds) == len(clips) and clips else None
    return Dataset(name="generic", clips=clips, scale=(float(low), float(high)), folds=fixed, info={"labels": str(csv_path)})
