"""Sentio's mood values in the files' own tags (mutagen), one small class per container.

Public API (used by the scanner, the analysis service, the CLI and the GUI):

- ``read_mood_tags(path) -> MoodTags``
- ``write_mood_tags(path, tags, keep_mtime=False)``: writes only the non-None fields
- ``remove_mood_tags(path, keep_mtime=False) -> bool``: True when something was removed
- ``read_track_info(path) -> TrackInfo``: format, duration, title/artist/album/genre/year + mood tags
- ``supported_extensions()``, ``choose_format(path)``

All failures are ``TagError`` subclasses with one sentence naming the file. Writing touches tag
blocks only, never the audio data.
"""
from __future__ import annotations

import os

from sentio_desktop.tags.fields import MoodTags, TrackInfo
from sentio_desktop.tags.formats import FORMATS, TagFile, choose_format, open_tag_file, supported_extensions

__all__ = [
    "FORMATS", "MoodTags", "TagFile", "TrackInfo", "choose_format", "read_mood_tags", "read_track_info",
    "remove_mood_tags", "supported_extensions", "write_mood_tags",
]


def read_mood_tags(path: str | os.PathLike[str]) -> MoodTags:
    return open_tag_file(path).read()


def read_track_info(path: str | os.PathLike[str]) -> TrackInfo:
    return open_tag_file(path).info()


def write_mood_tags(path: str | os.PathLike[str], tags: MoodTags, keep_mtime: bool = False) -> None:
    tag_file = open_tag_file(path)
    tag_file.write(tags)
    tag_file.save(keep_mtime=keep_mtime)


def remove_mood_tags(path: str | os.PathLike[str], keep_mtime: bool = False) -> bool:
    tag_file = open_tag_file(path)
    if not tag_file.remove():
        return False
    tag_file.save(keep_mtime=keep_mtime)
    return True
