"""`sentio --help` and `sentio-ml --help` must be instant: building the parsers imports nothing heavy."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["torch", "transformers", "librosa", "sklearn", "scipy", "pandas", "sentio_ml.gan.trainer", "PySide6",
         "sqlalchemy", "tqdm"]

PROBE = f"""
import json, sys
import sentio_desktop.cli, sentio_ml.cli
sentio_desktop.cli.build_parser()
sentio_ml.cli.build_parser()
for command in ("predict", "train", "cv", "evaluate", "gan"):  # each command's own --help parser too
    try:
        sentio_ml.cli.main([command, "--help"])
    except SystemExit:
        pass
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_building_both_parsers_imports_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == [], f"building the parsers imported {imported}"
