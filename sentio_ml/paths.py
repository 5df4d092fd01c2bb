"""Where the files shipped inside the package live: the default model bundle and the pretrained weights.

They sit in `sentio_ml/resources/` and travel in the wheel and sdist as package data
(`[tool.setuptools.package-data]` in pyproject.toml), so a `pip install`ed Sentio finds them through
`importlib.resources` wherever it was installed, with no source tree:

    sentio_ml/resources/models/default/   the default bundle (config.json, model.safetensors, metrics.json,
                                          MODEL_CARD.md; its cv/ and logs/ stay in the source tree only)
    sentio_ml/resources/pretrained/       pretrained weights (*.safetensors) and their licence files

`$SENTIO_MODEL` and `--model` override the bundle (`sentio_ml.bundle.default_bundle_path`).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sentio_ml.errors import SentioMLError

RESOURCES = "resources"


def resource_root() -> Path:
    """The package's `resources/` folder as a real directory (wheels install unpacked; zipped installs are refused)."""
    root = files("sentio_ml").joinpath(RESOURCES)
    if not isinstance(root, Path):  # e.g. a zipimport Traversable: the model loaders need real files
        raise SentioMLError("Sentio's model files cannot be read from a zipped install; install it unpacked "
                            "(pip and pipx do).")
    return root


def shipped_bundle_dir(name: str = "default") -> Path:
    """A model bundle shipped with the package (whatever files it holds)."""
    return resource_root() / "models" / name


def pretrained_dir() -> Path:
    """The folder of shipped pretrained weights and their licences."""
    return resource_root() / "pretrained"


def pretrained_file(name: str) -> Path:
    """One shipped pretrained file, e.g. `pretrained_file("msd_musicnn.safetensors")`."""
    return pretrained_dir() / name
