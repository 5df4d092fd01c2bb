"""One declaration per tag field, with one storage style per container family (beets' MediaField).

Families: ``id3`` (MP3, WAV, AIFF), ``vorbis`` (FLAC, Ogg Vorbis, Opus) and ``mp4`` (M4A/MP4).
A style reads/writes/deletes one value on a mutagen tag object; ``TagFile`` (formats.py) only loops
over ``MOOD_FIELDS`` / ``INFO_FIELDS`` and never names a frame itself.

Sentio's fields (values on [0, 1] with three decimals):
ID3 ``TXXX:VALENCE``, ``TXXX:AROUSAL``, ``TMOO`` (``TXXX:MOOD`` in ID3v2.3 files, which have no TMOO),
``TXXX:SENTIO_MODEL``; Vorbis ``VALENCE``, ``AROUSAL``, ``MOOD``, ``SENTIO_MODEL``;
MP4 ``----:com.apple.iTunes:VALENCE`` ... ``MOOD``, ``SENTIO_MODEL``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from mutagen.id3 import TMOO, TXXX, Frames
from mutagen.mp4 import AtomDataType, MP4FreeForm

ID3_V23 = 3
ID3_V24 = 4


@dataclass(frozen=True)
class MoodTags:
    """Sentio's values as stored in a file; None where the file has no (or an unusable) value."""

    valence: float | None = None
    arousal: float | None = None
    mood: str | None = None
    model: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in ("valence", "arousal", "mood", "model"))


@dataclass(frozen=True)
class TrackInfo:
    """What the scanner keeps from a file's header and tags."""

    format: str
    duration: float | None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    year: int | None = None
    mood_tags: MoodTags = MoodTags()


class Context:
    """What a style may need besides the tag object: the ID3 version the file keeps."""

    def __init__(self, tags: Any, id3_version: int = ID3_V24) -> None:
        self.tags = tags
        self.id3_version = id3_version


class Style:
    """How one field is stored in one family."""

    def get(self, ctx: Context) -> str | None:
        raise NotImplementedError

    def set(self, ctx: Context, value: str) -> None:
        raise NotImplementedError

    def delete(self, ctx: Context) -> None:
        raise NotImplementedError


class ID3Text(Style):
    """A standard ID3 text frame (TIT2, TDRC ...)."""

    def __init__(self, frame_id: str) -> None:
        self.frame_id = frame_id

    def get(self, ctx: Context) -> str | None:
        frame = ctx.tags.get(self.frame_id)
        return _first_text(frame.text if frame is not None else None)

    def set(self, ctx: Context, value: str) -> None:
        ctx.tags.setall(self.frame_id, [Frames[self.frame_id](encoding=3, text=[value])])

    def delete(self, ctx: Context) -> None:
        ctx.tags.delall(self.frame_id)


class ID3UserText(Style):
    """A ``TXXX`` frame with the given description."""

    def __init__(self, desc: str) -> None:
        self.desc = desc

    def get(self, ctx: Context) -> str | None:
        frame = ctx.tags.get(f"TXXX:{self.desc}")
        return _first_text(frame.text if frame is not None else None)

    def set(self, ctx: Context, value: str) -> None:
        ctx.tags.setall(f"TXXX:{self.desc}", [TXXX(encoding=3, desc=self.desc, text=[value])])

    def delete(self, ctx: Context) -> None:
        ctx.tags.delall(f"TXXX:{self.desc}")


class ID3Mood(Style):
    """``TMOO`` in ID3v2.4; ``TXXX:MOOD`` in ID3v2.3 files (v2.3 has no TMOO, mutagen drops it)."""

    def __init__(self) -> None:
        self.v23 = ID3UserText("MOOD")

    def get(self, ctx: Context) -> str | None:
        frame = ctx.tags.get("TMOO")
        return _first_text(frame.text if frame is not None else None) or self.v23.get(ctx)

    def set(self, ctx: Context, value: str) -> None:
        self.delete(ctx)
        if ctx.id3_version == ID3_V23:
            self.v23.set(ctx, value)
        else:
            ctx.tags.setall("TMOO", [TMOO(encoding=3, text=[value])])

    def delete(self, ctx: Context) -> None:
        ctx.tags.delall("TMOO")
        self.v23.delete(ctx)


class MappingKey(Style):
    """A plain text key of a dict-like tag: a Vorbis comment (case-insensitive; Sentio writes upper-case)
    or a standard MP4 atom (``©nam``, ``©day`` ...)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def get(self, ctx: Context) -> str | None:
        return _first_text(ctx.tags.get(self.key))

    def set(self, ctx: Context, value: str) -> None:
        ctx.tags[self.key] = [value]

    def delete(self, ctx: Context) -> None:
        if self.key in ctx.tags:
            del ctx.tags[self.key]


class MP4Freeform(Style):
    """An iTunes freeform atom ``----:com.apple.iTunes:<NAME>`` holding UTF-8 text."""

    def __init__(self, name: str) -> None:
        self.key = f"----:com.apple.iTunes:{name}"

    def get(self, ctx: Context) -> str | None:
        values = ctx.tags.get(self.key)
        if not values:
            return None
        return _first_text([bytes(v).decode("utf-8", "replace") for v in values])

    def set(self, ctx: Context, value: str) -> None:
        ctx.tags[self.key] = [MP4FreeForm(value.encode("utf-8"), dataformat=AtomDataType.UTF8)]

    def delete(self, ctx: Context) -> None:
        if self.key in ctx.tags:
            del ctx.tags[self.key]


@dataclass(frozen=True)
class Field:
    """One value with its storage in every family, and how it is turned to/from text."""

    name: str
    id3: Style
    vorbis: Style
    mp4: Style
    parse: Callable[[str], Any]
    format: Callable[[Any], str] = str

    def style(self, family: str) -> Style:
        return getattr(self, family)


def _first_text(values: Any) -> str | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        values = [values]
    for value in values:
        text = str(value).strip()
        if text:
            return text
    return None


def parse_unit(text: str) -> float | None:
    """A value on [0, 1]; anything else (junk written by other software) reads as None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def format_unit(value: float) -> str:
    return f"{float(value):.3f}"


def parse_year(text: str) -> int | None:
    match = re.match(r"\s*(\d{4})", text)
    return int(match.group(1)) if match else None


def _text(value: str) -> str | None:
    return value or None


MOOD_FIELDS: tuple[Field, ...] = (
    Field("valence", ID3UserText("VALENCE"), MappingKey("VALENCE"), MP4Freeform("VALENCE"), parse_unit, format_unit),
    Field("arousal", ID3UserText("AROUSAL"), MappingKey("AROUSAL"), MP4Freeform("AROUSAL"), parse_unit, format_unit),
    Field("mood", ID3Mood(), MappingKey("MOOD"), MP4Freeform("MOOD"), _text),
    Field("model", ID3UserText("SENTIO_MODEL"), MappingKey("SENTIO_MODEL"), MP4Freeform("SENTIO_MODEL"), _text),
)

#: Read-only descriptive fields the scanner stores on each track.
INFO_FIELDS: tuple[Field, ...] = (
    Field("title", ID3Text("TIT2"), MappingKey("TITLE"), MappingKey("\xa9nam"), _text),
    Field("artist", ID3Text("TPE1"), MappingKey("ARTIST"), MappingKey("\xa9ART"), _text),
    Field("album", ID3Text("TALB"), MappingKey("ALBUM"), MappingKey("\xa9alb"), _text),
    Field("genre", ID3Text("TCON"), MappingKey("GENRE"), MappingKey("\xa9gen"), _text),
    Field("year", ID3Text("TDRC"), MappingKey("DATE"), MappingKey("\xa9day"), parse_year),
)
