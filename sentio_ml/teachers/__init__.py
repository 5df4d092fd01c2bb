"""Pretrained teacher networks for distillation into Sentio's AST, as torch code with safetensors weights.

Every teacher maps raw mono waves at its own sample rate to (embedding, logits), its mel front-end included
(`Teacher`). Weights live in `sentio_ml/resources/pretrained/<name>.safetensors` (musicnn_msd keeps its historical file
name), converted once from the original checkpoints by `scripts/convert_teachers.py`; their licence notices
sit beside them.

| name        | network (paper)                              | rate  | embedding                     | logits |
|-------------|----------------------------------------------|-------|-------------------------------|--------|
| musicnn_msd | musicnn, MSD Last.fm top-50 (Pons 2019)      | 16 k  | 200, penultimate after BN     | 50 tags |
| musicnn_mtt | musicnn, MagnaTagATune top-50                | 16 k  | 200, penultimate after BN     | 50 tags |
| mn04        | EfficientAT MobileNetV3 0.4, AudioSet (2023) | 32 k  | 384, pooled last feature map  | 527 classes |
| vgg_msd     | musicnn's VGG-like baseline, MSD             | 16 k  | 256, flattened pool5          | 50 tags |
| vgg_mtt     | musicnn's VGG-like baseline, MagnaTagATune   | 16 k  | 256, flattened pool5          | 50 tags |
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sentio_ml.teachers.base import PRETRAINED, PatchTeacher, Teacher

TEACHER_NAMES: tuple[str, ...] = ("musicnn_msd", "musicnn_mtt", "mn04", "vgg_msd", "vgg_mtt")
WEIGHT_FILES = {name: f"{name}.safetensors" for name in TEACHER_NAMES} | {"musicnn_msd": "msd_musicnn.safetensors"}
# the notices that must travel with each teacher's weights (and with anything distilled from them, in model cards)
LICENCE_FILES = {
    "musicnn_msd": ("MUSICNN-LICENSE.md",),
    "musicnn_mtt": ("MUSICNN-LICENSE.md", "MUSICNN-KERAS-LICENSE.md"),
    "mn04": ("EFFICIENTAT-LICENSE.md",),
    "vgg_msd": ("MUSICNN-LICENSE.md", "MUSICNN-KERAS-LICENSE.md"),
    "vgg_mtt": ("MUSICNN-LICENSE.md", "MUSICNN-KERAS-LICENSE.md"),
}


def _builders() -> dict[str, Callable[[], Teacher]]:
    from sentio_ml.teachers.musicnn_taggers import (
        KERAS_LICENCE,
        MSD_TAGS,
        MTT_TAGS,
        MUSICNN_LICENCE,
        musicnn_teacher,
        vgg_teacher,
    )

    builders: dict[str, Callable[[], Teacher]] = {
        "musicnn_msd": lambda: musicnn_teacher("musicnn_msd", MSD_TAGS, MUSICNN_LICENCE),
        "musicnn_mtt": lambda: musicnn_teacher("musicnn_mtt", MTT_TAGS, KERAS_LICENCE),
        "vgg_msd": lambda: vgg_teacher("vgg_msd", MSD_TAGS, KERAS_LICENCE),
        "vgg_mtt": lambda: vgg_teacher("vgg_mtt", MTT_TAGS, KERAS_LICENCE),
    }
    from sentio_ml.teachers.mobilenet import mn04_teacher

    return builders | {"mn04": mn04_teacher}


def weights_path(name: str) -> Path:
    return PRETRAINED / WEIGHT_FILES[name]


def licence_paths(name: str) -> tuple[Path, ...]:
    """The licence notices of teacher `name`'s weights and code (sentio_ml/resources/pretrained/*-LICENSE.md)."""
    return tuple(PRETRAINED / file for file in LICENCE_FILES[name])


def build_teacher(name: str) -> Teacher:
    """The teacher's architecture with untrained weights, in eval mode (for conversion, tests and bundles that
    carry a teacher's weights themselves)."""
    builders = _builders()
    if name not in builders:
        from sentio_ml.errors import SentioMLError

        raise SentioMLError(f"Unknown teacher '{name}'; choose one of: {', '.join(TEACHER_NAMES)}.")
    return builders[name]().eval()


def load_teacher(name: str, path: Path | None = None) -> Teacher:
    """The pretrained teacher `name` in eval mode, float32, frozen (SentioMLError, one sentence, when its
    weights are missing or do not fit)."""
    from safetensors.torch import load_file

    from sentio_ml.errors import SentioMLError

    teacher = build_teacher(name)
    path = Path(path) if path is not None else weights_path(name)
    if not path.is_file():
        raise SentioMLError(f"The weights of teacher '{name}' are missing ({path}); restore them from the Sentio "
                            "repository or run scripts/convert_teachers.py.")
    try:
        teacher.network.load_state_dict(load_file(str(path)))
    except Exception as exc:  # safetensors and torch errors alike: one sentence
        raise SentioMLError(f"The weights of teacher '{name}' in {path} do not fit its network (a wrong or damaged "
                            "file); restore them from the Sentio repository or run scripts/convert_teachers.py.") from exc
    teacher.requires_grad_(False)
    return teacher.float().eval()


__all__ = ["TEACHER_NAMES", "PatchTeacher", "Teacher", "build_teacher", "licence_paths", "load_teacher", "weights_path"]
