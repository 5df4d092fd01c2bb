"""The scripts in experiments/ (cited by docs/training.md) use only sentio_ml's public names, and those exist."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPTS = sorted((REPO_ROOT / "experiments").glob("*.py"))


def _sentio_imports(script: Path) -> list[tuple[str, str]]:
    tree = ast.parse(script.read_text())
    return [(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module and node.module.startswith("sentio_ml") for alias in node.names]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_experiment_imports_public_names_that_exist(script: Path) -> None:
    imports = _sentio_imports(script)
    assert imports, f"{script.name} imports nothing from sentio_ml"
    for module, name in imports:
        assert not name.startswith("_") and not any(part.startswith("_") for part in module.split(".")), (module, name)
        assert hasattr(importlib.import_module(module), name), f"{script.name}: {module}.{name} is gone"
