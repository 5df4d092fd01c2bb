"""Freely licensed game music from Debian packages: fetch (`apt-get download`), unpack (`dpkg-deb -x`, no
install), pick the music files and read each file's licence from the package's debian/copyright.

A package's music is the audio under a music-named folder (`music/`, `cdtracks/`, `songs/`...) but not in
a language folder below it, so the sound effects and voice lines that share a data package stay out; a
package whose name says it is music and has no such folder contributes all its audio. Quake-style `.pk3`
archives (zip files) are unpacked for their music.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from sentio_ml.errors import SentioMLError

# About 2.4 GB of .debs, ~26 h of orchestral, rock, metal, electronic, ambient and chiptune music.
DEFAULT_PACKAGES: tuple[str, ...] = (
    "wesnoth-1.16-music", "ufoai-music", "nexuiz-music", "warzone2100-music", "singularity-music",
    "hyperrogue-music", "planetblupi-music-ogg", "drascula-music", "asc-music", "xblast-tnt-musics",
    "fb-music-high", "supertuxkart-data", "freedroidrpg-data", "supertux-data", "hedgewars-data",
    "flare-game", "fillets-ng-data", "colobot-common-sounds", "marsshooter-data", "extremetuxracer-data",
    "lincity-ng-data", "fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid",
)

AUDIO_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav", ".m4a"})
_MUSIC_FOLDERS = frozenset({"music", "musics", "cdtracks", "songs", "soundtrack", "soundtracks", "bgm"})
_LANGUAGE_FOLDER = re.compile(r"^[a-z]{2}(?:[_-][a-z]{2})?$")
_ARCHIVE_EXTENSIONS = frozenset({".pk3", ".pk4"})
_EXTRACTED_MARKER = ".extracted-from"

Progress = Callable[[str], None]


class PackageError(SentioMLError):
    """A Debian package could not be downloaded or unpacked."""


@dataclass(frozen=True)
class MusicFile:
    """One music file of a package: where it lies and the path its licence is looked up by."""

    path: Path
    licence_path: str  # installed path inside the package, e.g. usr/share/games/x/music/a.ogg


def run_apt_update(progress: Progress) -> None:
    """Refresh apt's package lists once (needs root); a failure is reported, the download is still tried."""
    result = subprocess.run(["apt-get", "update"], capture_output=True, text=True)
    if result.returncode != 0:
        progress(f"apt-get update failed ({_last_line(result.stderr)}); trying the downloads with the current lists.")


def download_package(package: str, debs_dir: Path) -> Path:
    """The package's .deb in `debs_dir`, fetched with `apt-get download` unless already there."""
    existing = find_deb(package, debs_dir)
    if existing is not None:
        return existing
    debs_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(["apt-get", "download", package], cwd=debs_dir, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise PackageError(f"Cannot download {package}: apt-get is not available on this system.") from exc
    deb = find_deb(package, debs_dir)
    if result.returncode != 0 or deb is None:
        raise PackageError(f"Cannot download {package}: {_last_line(result.stderr) or 'apt-get download failed'}.")
    return deb


def find_deb(package: str, debs_dir: Path) -> Path | None:
    """The newest-looking `PACKAGE_*.deb` already in `debs_dir`, if any."""
    matches = sorted(debs_dir.glob(f"{package}_*.deb")) if debs_dir.is_dir() else []
    return matches[-1] if matches else None


def extract_package(deb: Path, target: Path) -> Path:
    """Unpack `deb` into `target` with `dpkg-deb -x` (skipped when this very .deb is already unpacked there)."""
    marker = target / _EXTRACTED_MARKER
    if marker.is_file() and marker.read_text().strip() == deb.name:
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        result = subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise PackageError(f"Cannot unpack {deb.name}: dpkg-deb is not available on this system.") from exc
    if result.returncode != 0:
        raise PackageError(f"Cannot unpack {deb.name}: {_last_line(result.stderr) or 'dpkg-deb failed'}.")
    unpack_archives(target)
    marker.write_text(deb.name + "\n")
    return target


def unpack_archives(root: Path) -> None:
    """Unpack the music members of .pk3 archives to `<archive>.d/` beside them."""
    for archive in sorted(p for p in root.rglob("*") if p.suffix.lower() in _ARCHIVE_EXTENSIONS and p.is_file()):
        try:
            with zipfile.ZipFile(archive) as zipped:
                members = [m for m in zipped.namelist() if _is_audio(m) and _in_music_folder(PurePosixPath(m))]
                zipped.extractall(archive.with_name(archive.name + ".d"), members=members)
        except zipfile.BadZipFile:
            continue  # not a zip after all: nothing to take from it


def music_files(package: str, root: Path) -> list[MusicFile]:
    """The package's music under its unpacked `root`: audio in music folders (see the module docstring)."""
    audio = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and _is_audio(path.name):
            installed = path.relative_to(root).as_posix()
            audio.append(MusicFile(path, _licence_path(installed)))
    in_music = [f for f in audio if _in_music_folder(PurePosixPath(f.licence_path))]
    if in_music:
        return in_music
    return audio if re.search(r"music|song", package) else []


def _licence_path(installed: str) -> str:
    """Path for the licence lookup: a member unpacked from `x.pk3` is looked up as `x.pk3/member`."""
    return re.sub(r"(\.pk[34])\.d/", r"\1/", installed)


def _is_audio(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in AUDIO_EXTENSIONS


def _in_music_folder(path: PurePosixPath) -> bool:
    """In a music folder, but not in a language folder below it (localised voice lines, e.g. `music/en/`)."""
    folders = [part.lower() for part in path.parts[:-1]]
    music = [i for i, part in enumerate(folders) if part in _MUSIC_FOLDERS]
    return bool(music) and not any(_LANGUAGE_FOLDER.match(part) for part in folders[music[-1] + 1:])


def copyright_file(package: str, root: Path) -> Path | None:
    """The package's debian/copyright as installed (/usr/share/doc/PKG/copyright), if present."""
    candidate = root / "usr" / "share" / "doc" / package / "copyright"
    return candidate if candidate.is_file() else None


class PackageLicences:
    """Licence short names for a package's files, from its debian/copyright text.

    Machine-readable (DEP-5) files give each file the `License:` of the last `Files:` paragraph that
    matches it; globs name upstream source paths, so an installed path matches when any of its trailing
    parts does. Free-form files give one licence for the whole package (see `freeform_licence`).
    """

    def __init__(self, text: str):
        self._paragraphs = _dep5_paragraphs(text)
        self._freeform = None if self._paragraphs else freeform_licence(text)

    def licence(self, installed_path: str) -> str:
        if self._freeform is not None:
            return self._freeform
        parts = PurePosixPath(installed_path).parts
        candidates = ["/".join(parts[i:]) for i in range(len(parts))]
        archive = re.match(r"(.*\.pk[34])/", installed_path)
        if archive:  # a member of an archive may be licensed by the archive's own entry
            candidates += _suffixes(archive.group(1))
        licence = "unknown"
        for paragraph in self._paragraphs:
            if any(paragraph.matches(c) for c in candidates):
                licence = _synopsis(paragraph)
        return licence


def _suffixes(path: str) -> list[str]:
    parts = PurePosixPath(path).parts
    return ["/".join(parts[i:]) for i in range(len(parts))]


def _dep5_paragraphs(text: str) -> list:
    from debian.copyright import Copyright, Error  # python-debian: imported only when licences are read

    try:
        parsed = Copyright(text.splitlines(keepends=True), strict=False)
        return list(parsed.all_files_paragraphs())
    except (Error, ValueError):
        return []


def _synopsis(paragraph) -> str:
    license_field = paragraph.license
    return license_field.synopsis.strip() if license_field is not None and license_field.synopsis else "unknown"


# Free-form copyright files: the first licence stated outside paragraphs about the Debian packaging,
# matched on whitespace-collapsed text.
_CC_ELEMENTS = {"attribution": "BY", "noncommercial": "NC", "non-commercial": "NC", "noderiv": "ND",
                "no derivative": "ND", "sharealike": "SA", "share-alike": "SA", "share alike": "SA"}
_GPL = re.compile(r"GNU (Lesser |Library )?General Public License,? (?:as published by the Free Software "
                  r"Foundation[;,]? )?(?:either )?(?:version|v) ?(\d)(?:\.0)?([^.]{0,60}?any later)?", re.I)
_CC_URL = re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", re.I)
_CC_TITLE = re.compile(r"Creative Commons (Attribution(?:[ -]\w+)*?)[ -](?:license[ ,]*)?(?:version )?(\d\.\d)", re.I)
_CC_ELEMENTS_CLAUSE = re.compile(r"License Elements\" means the following high-level license attributes as selected by "
                                 r"Licensor and indicated in the title of this License: ([\w ,-]+)", re.I)


def freeform_licence(text: str) -> str:
    """Short licence name stated in a free-form (non-DEP-5) copyright text, e.g. "GPL-2+", "CC-BY-SA-3.0"."""
    body = " ".join(_without_packaging_paragraphs(text).split())
    namers: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
        (_CC_URL, lambda m: f"CC-{m.group(1).upper()}-{m.group(2)}"),
        (_CC_TITLE, lambda m: _cc_name(m.group(1), m.group(2))),
        (_CC_ELEMENTS_CLAUSE, lambda m: _cc_name(m.group(1), "")),  # legal code without its title: no version
        (_GPL, lambda m: f"{'LGPL' if m.group(1) else 'GPL'}-{m.group(2)}{'+' if m.group(3) else ''}"),
        (re.compile(r"public domain", re.I), lambda m: "public-domain"),
        (re.compile(r"Permission is hereby granted, free of charge", re.I), lambda m: "Expat"),
        (re.compile(r"Redistribution and use in source and binary forms", re.I), lambda m: "BSD"),
    ]
    found = [(match.start(), name(match)) for pattern, name in namers if (match := pattern.search(body))]
    return min(found)[1] if found else "unknown"


def _without_packaging_paragraphs(text: str) -> str:
    """The upstream part: from "Upstream Author"/"downloaded from" on (what precedes is about the
    packaging), without the paragraphs about the Debian packaging."""
    anchor = re.search(r"upstream authors?|downloaded from", text, re.I)
    upstream = text[anchor.start():] if anchor else text
    paragraphs = re.split(r"\n\s*\n", upstream)
    return "\n\n".join(p for p in paragraphs if not re.search(r"debian packaging|packaging is|packaging:", p, re.I))


def _cc_name(elements: str, version: str) -> str:
    lowered = elements.lower()
    parts = {short for long, short in _CC_ELEMENTS.items() if long in lowered}
    ordered = [p for p in ("BY", "NC", "ND", "SA") if p in parts]
    return "-".join(["CC", *ordered] + ([version] if version else []))


def summarise_licences(licences: Iterable[str]) -> str:
    """Distinct licences, most files first, joined for a summary table."""
    counts: dict[str, int] = {}
    for licence in licences:
        counts[licence] = counts.get(licence, 0) + 1
    return ", ".join(sorted(counts, key=lambda name: (-counts[name], name)))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or [""])[-1].removeprefix("E: ").rstrip(".")
