"""Sentio desktop's own exceptions.

Third-party errors (SQLAlchemy, mutagen, OS errors, sentio_ml errors) are wrapped into these at the
boundary, so the CLI and the GUI show one clear sentence (`str(exc)`) instead of a traceback.
"""
from __future__ import annotations


class SentioError(Exception):
    """Base class; str(exc) is a complete sentence fit to show a user."""


class SettingsError(SentioError):
    """The settings file cannot be read or written, or holds an invalid value."""


class LibraryError(SentioError):
    """The library database cannot be opened, migrated or queried."""


class TrackNotFoundError(LibraryError):
    """A track asked for by id, path or text is not in the library."""


class ScanError(SentioError):
    """A folder given to the scanner does not exist or cannot be read at all."""


class TagError(SentioError):
    """Base class for problems with a file's tags."""


class UnsupportedFormatError(TagError):
    """The file is not in a container Sentio can tag (by extension and by header)."""


class TagReadError(TagError):
    """A file's tags cannot be read (corrupt, empty, not audio)."""


class TagWriteError(TagError):
    """A file's tags cannot be written (read-only, locked, vanished, corrupt, disk full)."""


class FileChangedError(TagWriteError):
    """The file changed, was replaced or was deleted since it was read or analysed; it was left alone."""


class AnalysisError(SentioError):
    """The analysis cannot start: no model bundle, an unusable device, an empty library..."""


class PlaylistError(SentioError):
    """A playlist cannot be built, saved or exported (bad region, unknown seed, unwritable file)."""
