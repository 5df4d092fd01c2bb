"""Sentio's mood values in the files' own tags (mutagen), one small class per container.

Public API (used by the scanner, the analysis service, the CLI and the GUI):

- ``read_mood_tags(path) -> MoodTags``
- ``write_mood_tags(path, tags, keep_mtime=False, expected=None)``: writes only the non-None fields
- ``remove_mood_tags(path, keep_mtime=False, expected=None) -> bool``: True when something was removed
- ``file_identity(path)``: pass it as ``expected`` to refuse writing into a file that changed since
- ``is_temp_name(name)``, ``clean_leftovers(folder)``: the temporary copies of killed writes
- ``read_track_info(path) -> TrackInfo``: format, duration, title/artist/album/genre/year + mood tags
- ``supported_extensions()``, ``choose_format(path)``

All failures are ``TagError`` subclasses with one sentence naming the file. Writing touches tag
blocks only, never the audio data, and is crash-safe: at every instant the file holds either its old
tags or its new ones (atomic.py).
"""
from __future__ import annotations

import os

from sentio_desktop.errors import FileChangedError
from sentio_desktop.tags.atomic import FileIdentity, Leftovers, clean_leftovers, file_identity, is_temp_name
from sentio_desktop.tags.fields import MoodTags, TrackInfo
from sentio_desktop.tags.formats import FORMATS, TagFile, choose_format, open_tag_file, supported_extensions

__all__ = [
    "FORMATS", "FileIdentity", "Leftovers", "MoodTags", "TagFile", "TrackInfo", "choose_format", "clean_leftovers",
    "file_identity", "is_temp_name", "read_mood_tags", "read_track_info", "remove_mood_tags",
    "supported_extensions", "write_mood_tags",
]


def read_mood_tags(path: str | os.PathLike[str]) -> MoodTags:
    return open_tag_file(path).read()


def read_track_info(path: str | os.PathLike[str]) -> TrackInfo:
    return open_tag_file(path).info()


def write_mood_tags(path: str | os.PathLike[str], tags: MoodTags, keep_mtime: bool = False,
                    expected: FileIdentity | None = None) -> None:
    """``expected``: the file's identity when it was analysed; a file changed since is left alone
    (``FileChangedError``)."""
    tag_file = _open_expected(path, expected)
    tag_file.write(tags)
    tag_file.save(keep_mtime=keep_mtime)


def remove_mood_tags(path: str | os.PathLike[str], keep_mtime: bool = False,
                     expected: FileIdentity | None = None) -> bool:
    tag_file = _open_expected(path, expected)
    if not tag_file.remove():
        return False
    tag_file.save(keep_mtime=keep_mtime)
    return True


def _open_expected(path: str | os.PathLike[str], expected: FileIdentity | None) -> TagFile:
    if expected is not None and file_identity(path) != expected:
        gone = not os.path.exists(path)
        raise FileChangedError(f"{path} {'was deleted' if gone else 'was changed or replaced'} since it was"
                               f" analysed; Sentio left it as it is and did not write its tags.")
    tag_file = open_tag_file(path)
    if expected is not None:
        tag_file.identity = expected  # the save refuses a file that changed after this check too
    return tag_file
