"""What the window needs from the core, gathered once: settings (and where they live), the library,
the analysis service and the background runner. Tests build one over temp files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentio_desktop.analysis import AnalysisService, PredictorFactory
from sentio_desktop.library import Library
from sentio_desktop.settings import Settings, default_config_path, load_settings, save_settings
from sentio_desktop.ui.workers import BackgroundRunner


@dataclass
class AppContext:
    settings: Settings
    settings_path: Path
    library: Library
    runner: BackgroundRunner
    predictor_factory: PredictorFactory | None = None
    service: AnalysisService = field(init=False)

    def __post_init__(self) -> None:
        self.service = AnalysisService(self.library, self.settings, predictor_factory=self.predictor_factory)

    @classmethod
    def open(cls, settings_path: str | Path | None = None, runner: BackgroundRunner | None = None,
             predictor_factory: PredictorFactory | None = None) -> "AppContext":
        """Load the settings (defaults when there are none) and open the library they point at."""
        path = Path(settings_path) if settings_path else default_config_path()
        settings = load_settings(path)
        library = Library.from_settings(settings)
        return cls(settings, path, library, runner or BackgroundRunner(), predictor_factory)

    @property
    def state_path(self) -> Path:
        """Window layout, splitter sizes, column widths: next to the settings file."""
        return self.settings_path.with_name("window-state.json")

    def save_settings(self, settings: Settings) -> None:
        """Persist new settings and make the service use them from the next run on."""
        save_settings(settings, self.settings_path)
        self.settings = settings
        self.service.settings = settings

    def load_window_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # first run or a damaged file: the default layout is fine

    def save_window_state(self, state: dict[str, Any]) -> None:
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            self.state_path.write_text(json.dumps(state, indent=1), encoding="utf-8")
        except OSError:
            pass  # losing the layout is not worth an error dialog at exit

    def close(self) -> None:
        self.runner.wait(5000)
        self.library.close()
