"""The GAN package's exception: one clear sentence, a SentioMLError so the CLI shows it cleanly."""
from __future__ import annotations

from sentio_ml.errors import SentioMLError


class GanError(SentioMLError):
    """A GAN configuration, training run or GAN bundle is invalid or failed."""
