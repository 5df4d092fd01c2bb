"""Sentio ML's own exceptions: third-party errors are wrapped into these at the boundary,
so callers (the CLI, the desktop) show one clear sentence instead of a traceback."""
from __future__ import annotations


class SentioMLError(Exception):
    """Base class; str(exc) is a complete sentence fit to show a user."""


class AudioDecodeError(SentioMLError):
    """A file is missing, corrupt, empty or not audio."""


class BundleError(SentioMLError):
    """A model bundle is missing, incomplete or inconsistent."""


class BackboneUnavailableError(SentioMLError):
    """A pretrained backbone was asked for by hub id but cannot be fetched (offline)."""


class DeviceUnavailableError(SentioMLError):
    """A compute device was asked for (cuda, cuda:N, mps) that this machine or PyTorch build lacks."""


class DatasetError(SentioMLError):
    """A dataset folder or label file is missing or malformed."""


class ConfigError(SentioMLError, ValueError):
    """A stored or given configuration (features, model, training, GAN) has unknown keys or bad values."""


def os_error_reason(exc: BaseException) -> str:
    """An OS (or database) error as a few lower-case words for a sentence: "permission denied",
    "no space left on device" — never a traceback or an errno number."""
    exc = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    if isinstance(exc, PermissionError):
        return "permission denied"
    if getattr(exc, "errno", None) == 40:  # ELOOP
        return "too many levels of symbolic links"
    text = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return str(text).rstrip(".").lower()
