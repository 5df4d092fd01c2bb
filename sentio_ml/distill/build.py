"""Render the corpus manifest into distillation crop shards, one group of shards per package.

    python -m sentio_ml.distill.build --manifest cache/corpus/manifest.csv --out cache/distill/crops

Packages already rendered (a `shard-PACKAGE-*.npy` exists) are skipped, so adding a folder to the corpus and
rerunning renders only the new part. Sharding by package keeps a shard's mixes inside one collection.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sentio_ml.distill.corpus import by_package, read_manifest
from sentio_ml.distill.crops import CROP_SAMPLES, SAMPLE_RATE, plan_crops, render_shard

SHARD_CROPS = 1500


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40]


BUILDS_FILE = "builds.json"  # each build's options, so a model card can say how its crops were made


def record_build(out: Path, manifest: Path, variants: int, max_per_file: int, seed: int) -> None:
    path = out / BUILDS_FILE
    builds = json.loads(path.read_text()) if path.is_file() else []
    entry = {"manifest": manifest.name, "variants": variants, "max_per_file": max_per_file, "seed": seed}
    if entry not in builds:
        path.write_text(json.dumps([*builds, entry], indent=1) + "\n")


def build(manifest: Path, out: Path, variants: int, max_per_file: int, seed: int) -> None:
    from sentio_ml.console import ProgressBar

    if not manifest.is_file():
        raise SystemExit(f"There is no corpus manifest at {manifest}: `sentio-ml distill corpus --out DIR` writes one "
                         "(DIR/manifest.csv).")
    packages = sorted((package, [(row.file, row.duration_s) for row in rows])
                      for package, rows in by_package(read_manifest(manifest)).items())
    out.mkdir(parents=True, exist_ok=True)
    record_build(out, manifest, variants, max_per_file, seed)
    crop_seconds = CROP_SAMPLES / SAMPLE_RATE
    with ProgressBar("crops", unit="package") as bar:
        bar(0, len(packages))
        for number, (package, files) in enumerate(packages):
            name = slug(package)
            if any(out.glob(f"shard-{name}-*.npy")):
                bar.write(f"{package}: already rendered")
            else:
                render_package(files, out / f"shard-{name}", crop_seconds, max_per_file, variants, seed, number, bar)
            bar(number + 1, len(packages))


def render_package(files: list[tuple[str, float]], prefix: Path, crop_seconds: float, max_per_file: int, variants: int,
                   seed: int, number: int, bar) -> None:
    rng = np.random.default_rng(seed + number)
    plans = plan_crops(files, crop_seconds, max_per_file, variants, rng)
    started = time.time()
    for index, first in enumerate(range(0, len(plans), SHARD_CROPS)):
        shard = prefix.with_name(f"{prefix.name}-{index:03d}")
        written = render_shard(plans[first:first + SHARD_CROPS], shard, seed=seed + 1000 * number + index)
        bar.write(f"{shard.name}: {written} crops ({time.time() - started:.0f} s)")


def corpus_use(manifest: Path, crop_dirs: list[Path]) -> list[dict]:
    """Per package of the corpus manifest: its licences, files and hours, and what the crops in `crop_dirs` took
    from it (files, distinct crop positions, and the hours those positions span): the model card's corpus table."""
    from sentio_ml.distill.crops import shard_paths
    from sentio_ml.distill.debian_music import summarise_licences

    packages = by_package(read_manifest(manifest))
    package_of = {str(Path(row.file).resolve()): row.package for rows in packages.values() for row in rows}
    positions: dict[str, set[tuple[str, float]]] = {package: set() for package in packages}
    for shard in (shard for directory in crop_dirs for shard in shard_paths(directory)):
        for crop in json.loads(shard.with_suffix(".json").read_text())["crops"]:
            package = package_of.get(str(Path(crop["file"]).resolve()))
            if package is not None:
                positions[package].add((crop["file"], crop["start"]))
    crop_hours = CROP_SAMPLES / SAMPLE_RATE / 3600
    return [{"package": package, "licence": summarise_licences(row.licence for row in rows), "files": len(rows),
             "hours": round(sum(row.duration_s for row in rows) / 3600, 2),
             "files_used": len({file for file, _ in positions[package]}), "positions": len(positions[package]),
             "hours_used": round(len(positions[package]) * crop_hours, 2)}
            for package, rows in packages.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", type=int, default=3, help="renderings per crop position (1 clean + augmented)")
    parser.add_argument("--max-per-file", type=int, default=12, help="crop positions per file at most")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    build(args.manifest, args.out, args.variants, args.max_per_file, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
