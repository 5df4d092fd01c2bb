"""UI fixtures: a tiny real model bundle, a temp library analysed from the real fixtures, a window on it.

The library is built once per session (scan + analyse the 9 fixture containers with the tiny bundle)
and each test gets its own copy of the database, so tests can save playlists or re-run analyses freely.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from sentio_desktop.library import Library
from sentio_desktop.settings import Settings, save_settings
from sentio_desktop.ui.context import AppContext
from sentio_desktop.ui.workers import BackgroundRunner

FIXTURES = Path(__file__).resolve().parents[1] / "data"
CONTAINERS = ["vibe_ace.mp3", "vibe_ace_v23.mp3", "vibe_ace.flac", "vibe_ace.ogg", "vibe_ace.opus",
              "vibe_ace_aac.m4a", "vibe_ace_alac.m4a", "vibe_ace.wav", "vibe_ace.aiff"]


def copy_fixtures(folder: Path, names=CONTAINERS, copies: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(copies):
        for name in names:
            target = folder / (name if n == 0 else f"{Path(name).stem}_{n}{Path(name).suffix}")
            shutil.copy(FIXTURES / name, target)
    return folder


@pytest.fixture(scope="session")
def analysed_library(tmp_path_factory, tiny_bundle: Path) -> tuple[Path, Path]:
    """(database file, music folder): the 9 fixture files scanned and analysed once per session."""
    from sentio_desktop.analysis import AnalysisService

    root = tmp_path_factory.mktemp("analysed")
    music = copy_fixtures(root / "music")
    db = root / "library.db"
    settings = Settings(music_folders=[str(music)], model=str(tiny_bundle), device="cpu", batch_size=4,
                        write_tags=False, db_path=str(db))
    with Library(db) as library:
        summary = AnalysisService(library, settings).run([music])
    assert summary.analysed == len(CONTAINERS), summary.failed
    return db, music


def make_context(tmp_path: Path, settings: Settings, synchronous: bool = False) -> AppContext:
    settings_path = tmp_path / "config" / "settings.json"
    save_settings(settings, settings_path)
    library = Library(settings.database_path())
    return AppContext(settings, settings_path, library, BackgroundRunner(synchronous=synchronous))


@pytest.fixture
def ui_settings(tmp_path: Path, tiny_bundle: Path, analysed_library) -> Settings:
    db, music = analysed_library
    copy = tmp_path / "library.db"
    shutil.copy(db, copy)
    return Settings(music_folders=[str(music)], model=str(tiny_bundle), device="cpu", batch_size=4,
                    write_tags=False, db_path=str(copy))


@pytest.fixture
def window(qtbot, tmp_path: Path, ui_settings: Settings):
    """The main window on a copy of the analysed library, loaded and ready."""
    from sentio_desktop.ui.main_window import MainWindow

    context = make_context(tmp_path, ui_settings)
    win = MainWindow(context)
    # pytest-qt closes the window before this fixture's teardown: quitting must not wait on the
    # "save the playlist?" question (tested on its own in test_window_fit).
    win.ask_unsaved_playlist = lambda _name: QMessageBox.StandardButton.Discard
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: len(win.tracks) == len(CONTAINERS) and win.model_info is not None, timeout=60000)
    yield win
    win.analysis_panel.controller.cancel()
    win.analysis_panel.controller.wait(30)
    win.close()
    context.close()


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    return Settings(model=str(tmp_path / "no-model-here"), device="cpu", db_path=str(tmp_path / "empty.db"),
                    tags_asked=True)


__all__ = ["copy_fixtures", "make_context", "CONTAINERS"]
