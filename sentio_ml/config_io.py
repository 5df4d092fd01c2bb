"""Shared checks for the JSON-backed settings dataclasses (features, model, training, GAN)."""
from __future__ import annotations

from dataclasses import fields
from typing import Any


def unknown_fields(cls: type, data: dict[str, Any]) -> list[str]:
    """Keys of `data` that are not fields of the dataclass `cls`, sorted (a typo or a newer file)."""
    return sorted(set(data) - {f.name for f in fields(cls)})
