"""The entry point `sentio` (no subcommand) runs: settings from $SENTIO_CONFIG, a window, a clean exit."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from sentio_desktop.settings import Settings, save_settings
from sentio_desktop.ui import app as app_module
from sentio_desktop.ui.main_window import MainWindow


def test_main_opens_the_window_and_exits_cleanly(qtbot, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config" / "settings.json"
    save_settings(Settings(model=str(tmp_path / "none"), db_path=str(tmp_path / "lib.db")), config)
    monkeypatch.setenv("SENTIO_CONFIG", str(config))
    seen: list[MainWindow] = []

    def run_until_ready(_app) -> int:
        """Stands in for app.exec(): a real quit() would fire aboutToQuit for the whole test session."""
        def ready() -> bool:
            windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            return bool(windows) and not windows[0].loading and windows[0].model_info is not None

        qtbot.waitUntil(ready, timeout=60000)
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen.append(window)
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", run_until_ready)
    assert app_module.main([]) == 0
    assert seen and seen[0].windowTitle().startswith("Sentio")
    assert (config.parent / "window-state.json").is_file()  # the layout was saved on close


def test_main_says_one_sentence_when_the_settings_are_broken(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "settings.json"
    config.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("SENTIO_CONFIG", str(config))
    messages = []
    monkeypatch.setattr(app_module.QMessageBox, "critical", lambda _parent, _title, text: messages.append(text))
    assert app_module.main([]) == 1
    assert len(messages) == 1 and "not valid JSON" in messages[0]
