"""Remembers which model id a model bundle folder had, so a run with nothing to analyse need not load the model.

A model id (``name@version+weights-hash``) is only known after the weights are read, which means importing
torch and building the model (seconds). The analysis needs it before it can tell what is pending, so the
last id seen for each bundle setting is kept in ``<library>.model-ids.json`` together with the size and
modification time of the bundle's files: a changed, moved or replaced bundle simply misses the cache.
Deleting the file is always safe.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sentio_ml

BUNDLE_FILES = ("config.json", "model.safetensors")


def cache_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".model-ids.json")


def _key(model_setting: str) -> str:
    """The setting plus what decides where "default" points (SENTIO_MODEL and this installation)."""
    package = Path(sentio_ml.__file__).resolve().parent
    return json.dumps([model_setting or "default", os.environ.get("SENTIO_MODEL", ""), str(package)])


def _stamp(bundle_dir: str) -> list[Any] | None:
    try:
        stats = [os.stat(Path(bundle_dir) / name) for name in BUNDLE_FILES]
    except OSError:
        return None
    return [[st.st_size, st.st_mtime_ns] for st in stats]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_model_id(db_path: Path, model_setting: str) -> str | None:
    """The id the bundle named by ``model_setting`` had when last loaded, if its files are unchanged since."""
    entry = _read(cache_path(db_path)).get(_key(model_setting))
    if not isinstance(entry, dict) or not entry.get("model_id"):
        return None
    stamp = _stamp(str(entry.get("dir", "")))
    return str(entry["model_id"]) if stamp is not None and stamp == entry.get("stamp") else None


def remember_model_id(db_path: Path, model_setting: str, bundle_dir: str | os.PathLike[str] | None,
                      model_id: str) -> None:
    """Record the id of a just-loaded bundle (best effort: a cache that cannot be written is skipped)."""
    stamp = _stamp(str(bundle_dir)) if bundle_dir else None
    if stamp is None:
        return
    path = cache_path(db_path)
    data = _read(path)
    data[_key(model_setting)] = {"dir": str(Path(bundle_dir).resolve()), "stamp": stamp, "model_id": model_id}
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
