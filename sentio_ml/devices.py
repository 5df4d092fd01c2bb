"""One device vocabulary for every entry point: `auto`, `cpu`, `cuda`, `cuda:N`, `mps` (`gpu` = `cuda`).

The CLIs, the desktop settings, the Predictor and the training loop all parse device words here, and all
turn them into a `torch.device` with `resolve_device`. Importing this module does not import torch (the
CLIs build their parsers from it), so torch is imported only when a device is actually resolved.
"""
from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

from sentio_ml.errors import DeviceUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: The device words, as shown in help texts and choosers; `cuda:N` (a GPU by index) is accepted too.
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
DEVICE_HELP = "auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps (gpu = cuda)"
_ALIASES = {"": "auto", "gpu": "cuda"}
#: The Predictor's precisions (sentio_ml.predictor.QUANTIZE_AUTO_MIN_WEIGHTS says what auto picks): fp32, int8
#: (CPU only), and bf16/fp16 autocast (fp16 on GPUs only).
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "int8", "bf16", "fp16")
_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def normalise_device_word(text: Any) -> str:
    """The canonical device word for `text` (case and spaces ignored, `gpu` → `cuda`, `gpu:1` → `cuda:1`).

    Raises DeviceUnavailableError (one sentence) for a word outside the vocabulary; it does not check
    that the device exists (that is `resolve_device`'s job, which needs torch).
    """
    word = str(text).strip().lower()
    word = _ALIASES.get(word, word)
    if word.startswith("gpu:"):
        word = "cuda:" + word[4:]
    if not _PATTERN.match(word):
        raise DeviceUnavailableError(f"Unknown device '{text}'; use {DEVICE_HELP}.")
    return word


def device_argument(text: str) -> str:
    """argparse `type=` for --device options: the normalised word, or a usage error."""
    try:
        return normalise_device_word(text)
    except DeviceUnavailableError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def resolve_device(spec: Any = "auto") -> "torch.device":
    """'auto' → cuda, then mps, then cpu; 'cpu', 'cuda', 'cuda:N', 'mps' are checked and explained."""
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    word = normalise_device_word(spec)
    if word == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    device = torch.device(word)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "this PyTorch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU was found"
            raise DeviceUnavailableError(f"Device '{spec}' was requested but {build}; use --device cpu or auto.")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceUnavailableError(
                f"Device '{spec}' was requested but only {count} CUDA GPU(s) exist (cuda:0..cuda:{count - 1})."
            )
    elif device.type == "mps" and not mps_available():
        raise DeviceUnavailableError(f"Device '{spec}' (Apple Metal) is not available on this machine; use cpu or auto.")
    return device


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
