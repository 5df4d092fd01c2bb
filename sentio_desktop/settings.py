"""Typed user settings, declared in one place with their defaults, stored as versioned JSON.

The file lives at ``platformdirs.user_config_path("sentio") / "settings.json"``; the environment
variable ``SENTIO_CONFIG`` (a file path) overrides it, and so does the ``path`` argument. The default
database lives under ``platformdirs.user_data_path("sentio")``; ``SENTIO_DB`` or ``Settings.db_path``
override it. The GUI's settings dialog edits the same dataclass (see ``FIELD_HELP`` for labels).

Upgrades: ``SCHEMA_VERSION`` is bumped when a field changes meaning; ``_UPGRADES[v]`` turns a
version-``v`` dict into a version-``v+1`` dict. Unknown keys are dropped, missing ones take defaults.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import platformdirs

from sentio_desktop.errors import SettingsError
from sentio_ml.devices import DEVICE_HELP, normalise_device_word
from sentio_ml.errors import DeviceUnavailableError, os_error_reason

APP_NAME = "sentio"
SCHEMA_VERSION = 1


@dataclass
class Settings:
    """Everything a user can configure. Field order is the order the settings dialog shows."""

    music_folders: list[str] = field(default_factory=list)
    #: A model bundle directory, or "default" for the bundled model (``sentio_ml.bundle.default_bundle_path``).
    model: str = "default"
    #: A device word of ``sentio_ml.devices`` (auto, cpu, cuda, cuda:N, mps; "gpu" is stored as cuda).
    device: str = "auto"
    write_tags: bool = True
    #: The user has been told (CLI) or asked (GUI) what tag writing does; see `first_run_tag_notice`.
    tags_asked: bool = False
    keep_mtime: bool = False
    #: Excerpts analysed per track; 0 means "the model bundle's own default".
    excerpts: int = 0
    #: Excerpts per model call; 0 means auto (sentio_ml.predictor.AUTO_BATCH_SIZES: 32 on a GPU, 8 on the CPU).
    batch_size: int = 0
    #: Library database file; "" means the platform default (``default_db_path()``).
    db_path: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise SettingsError (one sentence) for a value that cannot work."""
        try:
            self.device = normalise_device_word(self.device)
        except DeviceUnavailableError:
            raise SettingsError(f"Device must be one of {DEVICE_HELP}, not {self.device!r}.") from None
        if not isinstance(self.batch_size, int) or self.batch_size < 0:
            raise SettingsError(f"Batch size must be 0 (auto) or a whole number of at least 1, not {self.batch_size!r}.")
        if not isinstance(self.excerpts, int) or self.excerpts < 0:
            raise SettingsError(f"Excerpts per track must be 0 (model default) or more, not {self.excerpts!r}.")
        if not isinstance(self.music_folders, list) or not all(isinstance(f, str) for f in self.music_folders):
            raise SettingsError("Music folders must be a list of folder paths.")
        for name in ("write_tags", "tags_asked", "keep_mtime"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"Setting {name} must be true or false.")

    def database_path(self) -> Path:
        """The library database file these settings point at."""
        return Path(self.db_path).expanduser() if self.db_path else default_db_path()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """Build settings from a stored dict, upgrading old versions and ignoring unknown keys."""
        if not isinstance(data, dict):
            raise SettingsError("The settings file does not hold a JSON object.")
        data = dict(data)
        version = int(data.get("schema_version", 1))
        if version > SCHEMA_VERSION:
            raise SettingsError(
                f"The settings file was written by a newer Sentio (version {version}); please update Sentio.")
        while version < SCHEMA_VERSION:
            data = _UPGRADES[version](data)
            version += 1
        data["schema_version"] = SCHEMA_VERSION
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:  # pragma: no cover - defensive, fields are keyword-only by name
            raise SettingsError(f"The settings file is malformed ({exc}).") from exc


#: One-line help per field, shared by the CLI's ``--help`` text and the GUI's settings dialog.
FIELD_HELP: dict[str, str] = {
    "music_folders": "Folders scanned for music.",
    "model": 'Model bundle folder, or "default" for the bundled model.',
    "device": f"Where the model runs: {DEVICE_HELP}.",
    "write_tags": "Write valence, arousal and mood into the files' own tags.",
    "tags_asked": "The first-run explanation of tag writing has been shown.",
    "keep_mtime": "Keep files' modification times when writing tags.",
    "excerpts": "Excerpts analysed per track (0 = the model's default).",
    "batch_size": "Excerpts per model call (0 = auto: 32 on a GPU, 8 on the CPU).",
    "db_path": "Library database file (empty = the default location).",
}

# version -> function turning that version's dict into the next version's dict.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def default_config_path() -> Path:
    """The settings file: ``$SENTIO_CONFIG`` or ``<user config dir>/sentio/settings.json``."""
    env = os.environ.get("SENTIO_CONFIG")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "settings.json"


def default_db_path() -> Path:
    """The library database: ``$SENTIO_DB`` or ``<user data dir>/sentio/library.db``."""
    env = os.environ.get("SENTIO_DB")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path(APP_NAME) / "library.db"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings; a missing file gives the defaults, a broken one raises SettingsError."""
    path = Path(path) if path is not None else default_config_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"Cannot read the settings file {path}: {os_error_reason(exc)}.") from exc
    except ValueError as exc:
        raise SettingsError(f"The settings file {path} is not valid JSON (line {getattr(exc, 'lineno', '?')}).") from exc
    return Settings.from_dict(data)


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write settings atomically (temp file + rename) so a crash never leaves half a file."""
    settings.validate()
    path = Path(path) if path is not None else default_config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(settings.to_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise SettingsError(f"Cannot write the settings file {path}: {os_error_reason(exc)}.") from exc
    return path


#: What tag writing does, in words shown before the first scan (GUI question, CLI notice).
TAG_WRITING_TEXT = (
    "Sentio writes its results into your music files' own tags: VALENCE, AROUSAL, MOOD and SENTIO_MODEL "
    "(TXXX frames in MP3, WAV and AIFF; Vorbis comments in FLAC, Ogg and Opus; iTunes fields in M4A). "
    "The audio itself is never changed. To take the tags out again: `sentio tags remove`.")


def first_run_tag_notice(settings: Settings, path: str | os.PathLike[str] | None = None, writing: bool = True,
                         say: Callable[[str], None] | None = None) -> str | None:
    """The tag-writing notice the first time a run is about to write tags (also passed to ``say``), else None.

    Marks ``tags_asked`` in ``settings`` and in the stored file (other stored values are kept), so
    the notice is shown once, even with ``--quiet``. A settings file that cannot be written does not
    stop the run.
    """
    if not writing or not settings.write_tags or settings.tags_asked:
        return None
    settings.tags_asked = True
    try:
        stored = load_settings(path)
        stored.tags_asked = True
        save_settings(stored, path)
    except SettingsError:
        pass  # shown again next time: better than failing the analysis over a notice
    notice = (TAG_WRITING_TEXT + " To stop writing tags: `sentio config write_tags false` "
              "(or `--no-tags` for one run).")
    if say is not None:
        say(notice)
    return notice
