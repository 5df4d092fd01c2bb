"""The unlabelled music corpus for distillation, rebuilt by one command:

    python -m sentio_ml.distill.corpus --out cache/corpus [--unlabeled ~/Music]

Sources: freely licensed game soundtracks from Debian packages (see `debian_music`), the 4Q development
clips, the music recordings of ../shared/data/music, and any folders the user adds (`--unlabeled`).
Nothing is copied: OUT/manifest.csv names every file by absolute path (the unpacked packages live under
OUT/debian/PKG/), with its source, package, licence and duration; OUT/SUMMARY.md tallies hours and licences
per package and OUT/skipped.csv lists the files left out and why. The corpus stays on this machine: it is
for training only and must never be committed or published.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Iterable, Sequence

from sentio_ml.distill import debian_music
from sentio_ml.errors import AudioDecodeError, SentioMLError

DEFAULT_OUT = Path("cache/corpus")
DEFAULT_FOURQ = Path("../shared/data/fourq")
DEFAULT_MUSIC = Path("../shared/data/music")
MIN_SECONDS = 5.0
FOURQ_LICENCE = "research use (AllMusic previews, Panda et al. 2018)"
USER_LICENCE = "user's own"
MANIFEST_NAME = "manifest.csv"
# ../shared/data/music also holds speech, a bird, a whale and a dog: recognised by their .txt credits.
_NON_MUSIC_CREDIT = re.compile(r"librispeech|narrated by|read by|\bbird\b|\bwhale\b|howling", re.I)

Progress = Callable[[str], None]


class CorpusError(SentioMLError):
    """The corpus cannot be built as asked (e.g. a folder given does not exist)."""


@dataclass(frozen=True)
class Candidate:
    """A file offered to the corpus, before it is probed."""

    path: Path
    package: str
    licence: str
    source: str  # debian / fourq / music / user


@dataclass(frozen=True)
class CorpusEntry:
    """One manifest row."""

    file: str
    package: str
    licence: str
    duration_s: float
    source: str


def build_corpus(out: Path, packages: Iterable[str] = debian_music.DEFAULT_PACKAGES,
                 extra_dirs: Iterable[Path] = (), fourq_dir: Path | None = DEFAULT_FOURQ,
                 music_dir: Path | None = DEFAULT_MUSIC, progress: Progress | None = None,
                 min_seconds: float = MIN_SECONDS) -> Path:
    """Gather, probe and list the corpus under `out`; returns the manifest's path.

    `packages` are Debian package names (empty: no Debian music); `fourq_dir` is the 4Q dataset folder
    (its audio/ is used) and `music_dir` the small CC music library, each skipped with a message when
    absent (None: not used); `extra_dirs` are the user's own folders, which must exist. Files shorter
    than `min_seconds` or that do not decode are left out and listed in skipped.csv. Packages that
    cannot be fetched are reported and left out; what was downloaded or unpacked before is reused.
    """
    report = progress or (lambda message: None)
    out = _absolute(Path(out))
    extra_dirs = [_absolute(Path(d).expanduser()) for d in extra_dirs]
    missing = [str(d) for d in extra_dirs if not d.is_dir()]
    if missing:
        raise CorpusError(f"Cannot add {', '.join(missing)} to the corpus: no such folder.")
    out.mkdir(parents=True, exist_ok=True)
    candidates = debian_candidates(out, list(packages), report)
    if fourq_dir is not None:
        candidates += fourq_candidates(Path(fourq_dir), report)
    if music_dir is not None:
        candidates += music_library_candidates(Path(music_dir), report)
    for folder in extra_dirs:
        candidates += user_candidates(folder)
    skipped: list[tuple[str, str]] = []
    unique = drop_duplicates(candidates, skipped)
    entries, unreadable = probe_candidates(unique, report, min_seconds)
    skipped += unreadable
    manifest = write_manifest(out, entries)
    write_skipped(out, skipped)
    write_summary(out, entries, skipped)
    report(f"Corpus: {len(entries)} files, {sum(e.duration_s for e in entries) / 3600:.2f} h -> {manifest}")
    return manifest


def _absolute(path: Path) -> Path:
    """Absolute and normalised (no `..`), symlinks kept: the path the manifest names a file by."""
    return Path(os.path.abspath(path))


def debian_candidates(out: Path, packages: list[str], report: Progress) -> list[Candidate]:
    """Music files of each package, fetched into OUT/debs and unpacked into OUT/debian/PKG."""
    debs_dir, candidates = out / "debs", []
    need_download = [p for p in packages if debian_music.find_deb(p, debs_dir) is None]
    if need_download:
        report(f"Refreshing apt's package lists for {len(need_download)} package(s) to download...")
        debian_music.run_apt_update(report)
    for package in packages:
        try:
            deb = debian_music.download_package(package, debs_dir)
            root = debian_music.extract_package(deb, out / "debian" / package)
        except debian_music.PackageError as exc:
            report(f"{exc} Left out of the corpus.")
            continue
        files = debian_music.music_files(package, root)
        copyright_path = debian_music.copyright_file(package, root)
        licences = debian_music.PackageLicences(copyright_path.read_text(errors="replace")) if copyright_path else None
        if not files:
            report(f"{package}: no decodable music files found (tracker modules and raw PCM are not read).")
        for music in files:
            licence = licences.licence(music.licence_path) if licences else "unknown (no debian/copyright)"
            candidates.append(Candidate(music.path, package, licence, "debian"))
    return candidates


def fourq_candidates(fourq_dir: Path, report: Progress) -> list[Candidate]:
    """The 4Q development clips (audio/*.mp3)."""
    audio = fourq_dir / "audio"
    if not audio.is_dir():
        report(f"No 4Q clips at {audio}: left out of the corpus.")
        return []
    return [Candidate(_absolute(p), "fourq", FOURQ_LICENCE, "fourq") for p in sorted(audio.glob("*.mp3"))]


def music_library_candidates(music_dir: Path, report: Progress) -> list[Candidate]:
    """Recordings of the shared music library whose .txt credit shows they are music, with its licence."""
    if not music_dir.is_dir():
        report(f"No music library at {music_dir}: left out of the corpus.")
        return []
    candidates = []
    for path in sorted(music_dir.iterdir()):
        credit = path.with_suffix(".txt")
        if path.suffix.lower() not in debian_music.AUDIO_EXTENSIONS or not credit.is_file():
            continue
        text = credit.read_text(errors="replace")
        if _NON_MUSIC_CREDIT.search(text):
            continue
        candidates.append(Candidate(_absolute(path), "music", credit_licence(text), "music"))
    return candidates


def credit_licence(text: str) -> str:
    """Licence short name from a credit text: a Creative Commons URL, else "public domain" where stated."""
    match = re.search(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", text, re.I)
    if match:
        return f"CC-{match.group(1).upper()}-{match.group(2)}"
    if re.search(r"public ?domain", text, re.I):
        return "public-domain"
    return "unknown"


def user_candidates(folder: Path) -> list[Candidate]:
    """Every audio file under the user's folder (recursively)."""
    from sentio_ml.audio import SUPPORTED_EXTENSIONS

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
    return [Candidate(_absolute(p), "user", USER_LICENCE, "user") for p in files]


def drop_duplicates(candidates: list[Candidate], skipped: list[tuple[str, str]]) -> list[Candidate]:
    """One candidate per distinct content: symlinks and byte-identical copies are listed once (first wins)."""
    by_size: dict[int, list[Candidate]] = {}
    seen_real: set[Path] = set()
    unique: list[Candidate] = []
    digests: dict[tuple[int, str], Path] = {}
    for candidate in candidates:
        real = candidate.path.resolve()
        if real in seen_real:
            skipped.append((str(candidate.path), f"same file as {real}"))
            continue
        seen_real.add(real)
        size = real.stat().st_size if real.is_file() else -1
        if size in by_size:  # hash only when sizes collide
            for earlier in by_size[size]:
                digests.setdefault((size, _digest(earlier.path)), earlier.path)
            key = (size, _digest(real))
            if key in digests:
                skipped.append((str(candidate.path), f"identical to {digests[key]}"))
                continue
            digests[key] = candidate.path
        by_size.setdefault(size, []).append(candidate)
        unique.append(candidate)
    return unique


def _digest(path: Path) -> str:
    hasher = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def probe_candidates(candidates: list[Candidate], report: Progress,
                     min_seconds: float = MIN_SECONDS) -> tuple[list[CorpusEntry], list[tuple[str, str]]]:
    """Entries for the files that decode and last at least `min_seconds`; the rest with the reason."""
    from sentio_ml.audio import decode, probe_duration

    entries, skipped = [], []
    for index, candidate in enumerate(candidates, 1):
        path = candidate.path
        try:
            duration = probe_duration(path)
            if len(decode(path, 8000, offset=0.0, duration=1.0)) == 0:
                raise AudioDecodeError(f"Cannot read '{path}': no audio could be decoded.")
        except AudioDecodeError as exc:
            skipped.append((str(path), str(exc)))
            continue
        if duration < min_seconds:
            skipped.append((str(path), f"shorter than {min_seconds:g} s ({duration:.1f} s)"))
            continue
        entries.append(CorpusEntry(str(path), candidate.package, candidate.licence, round(duration, 3),
                                   candidate.source))
        if index % 200 == 0:
            report(f"Probed {index}/{len(candidates)} files...")
    for path, reason in skipped:
        report(f"Skipped {path}: {reason}")
    return entries, skipped


def write_manifest(out: Path, entries: list[CorpusEntry]) -> Path:
    """OUT/manifest.csv (written to a temporary file first, so a failure keeps the previous one)."""
    path = out / MANIFEST_NAME
    columns = [f.name for f in fields(CorpusEntry)]
    _write_csv(path, columns, [asdict(e) for e in entries])
    return path


def write_skipped(out: Path, skipped: list[tuple[str, str]]) -> Path:
    path = out / "skipped.csv"
    _write_csv(path, ["file", "reason"], [{"file": f, "reason": r} for f, r in skipped])
    return path


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, path)


def read_manifest(path: Path) -> list[CorpusEntry]:
    """The rows of a manifest written by `write_manifest`."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [CorpusEntry(**{**row, "duration_s": float(row["duration_s"])}) for row in csv.DictReader(handle)]


def by_package(entries: Iterable[CorpusEntry]) -> dict[str, list[CorpusEntry]]:
    """Manifest rows grouped by package, in manifest order."""
    groups: dict[str, list[CorpusEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.package, []).append(entry)
    return groups


def write_summary(out: Path, entries: list[CorpusEntry], skipped: list[tuple[str, str]]) -> Path:
    """OUT/SUMMARY.md: files, hours and licences per package, and the totals."""
    lines = ["# Distillation corpus (local only: never commit or publish)", "",
             "| package | source | files | hours | licence |", "|---|---|---:|---:|---|"]
    for package, rows in by_package(entries).items():
        hours = sum(r.duration_s for r in rows) / 3600
        licences = debian_music.summarise_licences(r.licence for r in rows)
        lines.append(f"| {package} | {rows[0].source} | {len(rows)} | {hours:.2f} | {licences} |")
    total_hours = sum(e.duration_s for e in entries) / 3600
    size_gb = sum(Path(e.file).stat().st_size for e in entries) / 1e9
    lines += [f"| **total** | | {len(entries)} | {total_hours:.2f} | |", "",
              f"Audio size: {size_gb:.2f} GB. Skipped files: {len(skipped)} (see skipped.csv).", ""]
    path = out / "SUMMARY.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sentio_ml.distill.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"corpus folder (default: {DEFAULT_OUT})")
    parser.add_argument("--unlabeled", type=Path, action="append", default=[], metavar="DIR",
                        help="add every audio file under DIR (your own library); repeatable")
    parser.add_argument("--packages", nargs="+", default=list(debian_music.DEFAULT_PACKAGES), metavar="PKG",
                        help="Debian music packages to fetch (default: the built-in list of game soundtracks)")
    parser.add_argument("--no-debian", action="store_true", help="use no Debian packages")
    parser.add_argument("--fourq", type=Path, default=DEFAULT_FOURQ, help=f"4Q dataset folder (default: {DEFAULT_FOURQ})")
    parser.add_argument("--music", type=Path, default=DEFAULT_MUSIC, help=f"music library folder (default: {DEFAULT_MUSIC})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    packages = [] if args.no_debian else args.packages
    try:
        build_corpus(args.out, packages, args.unlabeled, args.fourq, args.music,
                     progress=lambda message: print(message, file=sys.stderr, flush=True))
    except SentioMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
