"""Tag containers: a base class owns the flow (open, read, write, remove, save), one small subclass
per container, chosen by a registry by extension with a header sniff as fallback (Picard/Quod Libet).

Every mutagen or OS error is translated here into ``TagReadError`` / ``TagWriteError`` /
``UnsupportedFormatError`` with one sentence naming the file. Saves are crash-safe (atomic.py): mutagen
writes into a copy of the file that then replaces it, leaving ``SENTIO_PADDING`` bytes of padding when
a tag block is rewritten so that later edits usually fit without moving the audio.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import mutagen
from mutagen import PaddingInfo
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from sentio_desktop.errors import TagReadError, TagWriteError, UnsupportedFormatError
from sentio_desktop.tags.atomic import FileIdentity, atomic_rewrite, file_identity, write_error
from sentio_desktop.tags.fields import (
    ID3_V23,
    ID3_V24,
    INFO_FIELDS,
    MOOD_FIELDS,
    Context,
    MoodTags,
    TrackInfo,
)

SNIFF_BYTES = 64
#: Padding left in a tag block that is rewritten with less than ``MIN_PADDING`` (or absurdly much):
#: room for dozens of rewrites of Sentio's fields (~150 bytes) or a small cover without moving audio.
SENTIO_PADDING = 4096
MIN_PADDING = 1024


def leave_padding(info: PaddingInfo) -> int:
    """mutagen's padding callback: keep the block's padding if it is reasonable, else ``SENTIO_PADDING``."""
    too_much = 10 * 1024 + info.size // 100  # mutagen's own upper bound
    return info.padding if MIN_PADDING <= info.padding <= too_much else SENTIO_PADDING


class TagFile:
    """One open audio file's tags. Subclasses set ``family``, ``format``, ``extensions``,
    ``mutagen_class`` and ``sniff``; the base class does everything else."""

    family: ClassVar[str]
    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    mutagen_class: ClassVar[type]

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.identity: FileIdentity | None = file_identity(self.path)  # the version mutagen reads
        try:
            self.file = self.mutagen_class(self.path)
        except (mutagen.MutagenError, OSError, ValueError, EOFError, IndexError, KeyError) as exc:
            raise TagReadError(_read_reason(self.path, exc, self.format)) from exc
        if self.file.tags is None:
            self.file.add_tags()
        self.id3_version = ID3_V24

    @staticmethod
    def sniff(header: bytes) -> bool:
        """Whether the first ``SNIFF_BYTES`` bytes look like this container."""
        raise NotImplementedError

    def _context(self) -> Context:
        return Context(self.file.tags, self.id3_version)

    def read(self) -> MoodTags:
        ctx = self._context()
        return MoodTags(**{f.name: _parse(f, f.style(self.family).get(ctx)) for f in MOOD_FIELDS})

    def info(self) -> TrackInfo:
        ctx = self._context()
        values = {f.name: _parse(f, f.style(self.family).get(ctx)) for f in INFO_FIELDS}
        length = getattr(self.file.info, "length", None)
        return TrackInfo(format=self.format, duration=float(length) if length else None,
                         mood_tags=self.read(), **values)

    def write(self, tags: MoodTags) -> None:
        """Set every non-None field of ``tags`` (call ``save`` afterwards)."""
        ctx = self._context()
        for field in MOOD_FIELDS:
            value = getattr(tags, field.name)
            if value is not None:
                field.style(self.family).set(ctx, field.format(value))

    def remove(self) -> bool:
        """Delete Sentio's fields; True when there was anything to delete (call ``save`` afterwards)."""
        had = not self.read().empty
        ctx = self._context()
        for field in MOOD_FIELDS:
            field.style(self.family).delete(ctx)
        return had

    def save(self, keep_mtime: bool = False, in_place: bool = False) -> None:
        """Write the tags back crash-safely (atomic.py); only tag blocks change, never the audio data.

        ``in_place``: mutagen's own in-place rewrite, NOT crash-safe (kept for benchmarks only).
        """
        try:
            before = self.path.stat()
        except OSError as exc:
            raise TagWriteError(f"Cannot write tags to {self.path}: {_os_reason(exc)}.") from exc
        if not before.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(self.path, os.W_OK):
            raise TagWriteError(f"Cannot write tags to {self.path}: the file is read-only.")
        try:
            if in_place:
                self._save(None)
                if keep_mtime:
                    os.utime(self.path, ns=(before.st_atime_ns, before.st_mtime_ns))
                return
            with atomic_rewrite(self.path, keep_mtime=keep_mtime, expected=self.identity) as copy:
                self._save(copy)
        except (mutagen.MutagenError, OSError, ValueError) as exc:
            os_error = _os_error(exc)
            if os_error is not None:
                raise write_error(self.path, os_error) from exc
            raise TagWriteError(f"Cannot write tags to {self.path}: {_os_reason(exc)}.") from exc

    def _save(self, target: BinaryIO | None) -> None:
        """mutagen's save into ``target`` (a file object; None: the file itself)."""
        self.file.save(target, padding=leave_padding)


class ID3TagFile(TagFile):
    """ID3 in MP3, WAV and AIFF; keeps the file's ID3 version (v2.3 stays v2.3)."""

    family = "id3"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        version = getattr(self.file.tags, "version", (2, 4, 0))
        self.id3_version = ID3_V23 if tuple(version[:2]) == (2, 3) else ID3_V24

    def _save(self, target: BinaryIO | None) -> None:
        self.file.save(target, v2_version=self.id3_version, padding=leave_padding)


class MP3File(ID3TagFile):
    format, extensions, mutagen_class = "mp3", (".mp3", ".mp2"), MP3

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header.startswith(b"ID3") or (len(header) > 1 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0)


class WAVFile(ID3TagFile):
    format, extensions, mutagen_class = "wav", (".wav",), WAVE

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header[:4] == b"RIFF" and header[8:12] == b"WAVE"


class AIFFFile(ID3TagFile):
    format, extensions, mutagen_class = "aiff", (".aiff", ".aif", ".aifc"), AIFF

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header[:4] == b"FORM" and header[8:12] in (b"AIFF", b"AIFC")


class FLACFile(TagFile):
    family, format, extensions, mutagen_class = "vorbis", "flac", (".flac",), FLAC

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header.startswith(b"fLaC")


class OggVorbisFile(TagFile):
    family, format, extensions, mutagen_class = "vorbis", "ogg", (".ogg", ".oga"), OggVorbis

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header.startswith(b"OggS") and b"\x01vorbis" in header


class OpusFile(TagFile):
    family, format, extensions, mutagen_class = "vorbis", "opus", (".opus",), OggOpus

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header.startswith(b"OggS") and b"OpusHead" in header


class MP4File(TagFile):
    family, format, extensions, mutagen_class = "mp4", "m4a", (".m4a", ".mp4", ".m4b"), MP4

    @staticmethod
    def sniff(header: bytes) -> bool:
        return header[4:8] == b"ftyp"


#: Every container, most specific sniff first (Opus before Vorbis share "OggS").
FORMATS: tuple[type[TagFile], ...] = (MP4File, FLACFile, OpusFile, OggVorbisFile, WAVFile, AIFFFile, MP3File)
BY_EXTENSION: dict[str, type[TagFile]] = {ext: cls for cls in FORMATS for ext in cls.extensions}


def supported_extensions() -> frozenset[str]:
    """Extensions Sentio can tag."""
    return frozenset(BY_EXTENSION)


def read_header(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise TagReadError(f"Cannot read {path}: {_os_reason(exc)}.") from exc


def choose_format(path: str | os.PathLike[str], header: bytes | None = None) -> type[TagFile]:
    """The container class for ``path``: by extension when its header agrees, else by header sniff.

    Raises TagReadError for an empty or non-audio file and UnsupportedFormatError for audio Sentio
    cannot tag.
    """
    path = Path(path)
    header = read_header(path) if header is None else header
    if not header:
        raise TagReadError(f"{path} is an empty file.")
    by_extension = BY_EXTENSION.get(path.suffix.lower())
    if by_extension is not None and by_extension.sniff(header):
        return by_extension
    for cls in FORMATS:
        if cls.sniff(header):
            return cls
    if by_extension is not None:
        raise TagReadError(f"{path} is not an audio file (its header does not match {path.suffix.lower()}).")
    raise UnsupportedFormatError(f"Sentio cannot read or write tags in {path.suffix or 'extension-less'} files"
                                 f" ({path.name}).")


def open_tag_file(path: str | os.PathLike[str]) -> TagFile:
    return choose_format(path)(path)


def _parse(field: Any, text: str | None) -> Any:
    return None if text is None else field.parse(text)


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind an error, possibly wrapped by mutagen."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args and isinstance(
            seen.args[0], BaseException) else None)
    return None


def _os_reason(exc: BaseException) -> str:
    """A short reason from an OSError, possibly wrapped by mutagen."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PermissionError):
            return "permission denied (the file is read-only or locked)"
        if isinstance(seen, FileNotFoundError):
            return "the file no longer exists"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args and isinstance(
            seen.args[0], BaseException) else None)
    return str(exc).rstrip(".") or type(exc).__name__


def _read_reason(path: Path, exc: BaseException, fmt: str) -> str:
    if isinstance(exc, OSError) or isinstance(getattr(exc, "__context__", None), OSError):
        return f"Cannot read {path}: {_os_reason(exc)}."
    detail = str(exc).rstrip(".") or type(exc).__name__
    return f"{path} is not a readable {fmt.upper()} file ({detail})."
