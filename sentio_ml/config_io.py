"""Shared (de)serialisation for the JSON-backed settings dataclasses (features, model, training, GAN)."""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

from sentio_ml.errors import ConfigError

T = TypeVar("T")


def unknown_fields(cls: type, data: dict[str, Any]) -> list[str]:
    """Keys of `data` that are not fields of the dataclass `cls`, sorted (a typo or a newer file)."""
    return sorted(set(data) - {f.name for f in fields(cls)})


class SettingsDict:
    """`to_dict`/`from_dict` for a settings dataclass whose `from_dict` refuses unknown keys with the error
    `unknown_settings_error` makes (a subclass says what its settings are and which error type it raises)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        unknown = unknown_fields(cls, data)
        if unknown:
            raise cls.unknown_settings_error(unknown)  # type: ignore[attr-defined]
        return cls(**data)

    @staticmethod
    def unknown_settings_error(unknown: list[str]) -> Exception:
        return ValueError(f"unknown settings: {', '.join(unknown)}")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def config_from_dict(cls: type[T], data: dict[str, Any], what: str) -> T:
    """Build the dataclass `cls` from `data`; unknown keys or bad values raise ConfigError naming `what`
    (plural, e.g. "feature settings"). Fields whose default is a tuple get their list turned back into a tuple."""
    if not isinstance(data, dict):
        raise ConfigError(f"The {what} must be a JSON object, not {type(data).__name__}.")
    unknown = unknown_fields(cls, data)
    if unknown:
        raise ConfigError(f"The {what} have unknown fields: {', '.join(unknown)} (a typo, or a newer Sentio's file).")
    values = dict(data)
    for f in fields(cls):  # type: ignore[arg-type]
        if isinstance(f.default, tuple) and isinstance(values.get(f.name), list):
            values[f.name] = tuple(values[f.name])
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"Invalid {what}: {exc}.") from exc
