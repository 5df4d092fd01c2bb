"""Screenshots of the app for the README: analyse ../shared/data/music into a temp library, then save
PNGs of the main window, the mood map with a selection and a path, the playlist panel and the
settings dialog at 1440x900.

    make screenshots        # = QT_QPA_PLATFORM=offscreen .venv/bin/python bench/screenshots.py

Uses the installed default model (sentio_ml/resources/models/default or $SENTIO_MODEL). Only when there is
none, it builds a tiny random-weights bundle so the pictures can still be made, and says so loudly:
the positions on the map are then meaningless. The music is copied to a temp folder first, so the
shared data is never modified.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZE = (1440, 900)


def model_folder(work: Path) -> tuple[Path, bool]:
    """(bundle folder, is_real): the default model, or a tiny random-weights stand-in."""
    from sentio_ml.bundle import CONFIG_FILE, default_bundle_path

    default = default_bundle_path()
    if (default / CONFIG_FILE).is_file():
        return default, True
    import torch
    from sentio_ml.bundle import Bundle, save_bundle
    from sentio_ml.model import build_model

    torch.manual_seed(0)
    folder = work / "tiny-random-bundle"
    save_bundle(Bundle.from_model(build_model("tiny"), name="tiny-random-weights", version="0.0.0"), folder)
    print("=" * 78)
    print(f"NOTE: no default model at {default}; these screenshots use a TINY RANDOM-WEIGHTS bundle.")
    print("      The positions of the songs on the map are meaningless. Rerun once the model is installed.")
    print("=" * 78)
    return folder, False


def wait(app, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get ready in time")
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", default=str(REPO.parent / "shared" / "data" / "music"))
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    args = parser.parse_args()
    source = Path(args.music)
    if not source.is_dir():
        print(f"screenshots: the music folder {source} does not exist.", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sentio-shots-"))
    music = work / "music"
    shutil.copytree(source, music, ignore=shutil.ignore_patterns("*.txt"))

    from sentio_desktop.analysis import AnalysisService
    from sentio_desktop.library import Library
    from sentio_desktop.settings import Settings, save_settings

    bundle, real = model_folder(work)
    settings = Settings(music_folders=[str(music)], model=str(bundle), device="auto", write_tags=False,
                        db_path=str(work / "library.db"))
    t0 = time.perf_counter()
    with Library(settings.database_path()) as library:
        summary = AnalysisService(library, settings).run([music])
    print(f"analysed {summary.analysed} files ({len(summary.failed)} failed) with {summary.model_id} "
          f"on {summary.device} in {time.perf_counter() - t0:.1f} s")

    from sentio_desktop.ui.app import create_application
    from sentio_desktop.ui.context import AppContext
    from sentio_desktop.ui.main_window import MainWindow
    from sentio_desktop.ui.mood_map import SelectTool
    from sentio_desktop.ui.workers import BackgroundRunner

    app = create_application([])
    settings_path = work / "config" / "settings.json"
    save_settings(settings, settings_path)
    context = AppContext(settings, settings_path, Library(settings.database_path()), BackgroundRunner())
    window = MainWindow(context)
    window.resize(*SIZE)
    window.show()
    window.start()
    wait(app, lambda: len(window.tracks) > 0 and not window.loading and window.model_info is not None)
    settle(app)
    tracks = window.tracks

    # 1. The main window: library, map coloured by mood, the analysis panel with its last run.
    window.analysis_panel._on_finished(summary)
    best = int(max(range(len(tracks)), key=lambda i: (tracks.analysed[i], tracks.arousal[i] if tracks.analysed[i] else -1)))
    window.set_current(best)
    window.library_panel.select_tracks([best], current=best)
    settle(app)
    window.grab().save(str(out / "main_window.png"))

    # 2. The mood map with a rectangle selection, the current song's excerpt path and a mood path.
    analysed = [i for i in range(len(tracks)) if tracks.analysed[i]]
    start = min(analysed, key=lambda i: tracks.valence[i] + tracks.arousal[i])
    end = max(analysed, key=lambda i: tracks.valence[i] + tracks.arousal[i])
    panel = window.playlist_panel
    panel.set_path_endpoints(int(tracks.track_id[start]), int(tracks.track_id[end]))
    panel.path_steps.setValue(min(6, len(analysed)))
    panel.build_path()
    window.map_panel.set_tool(SelectTool.RECT)
    v, a = tracks.valence[analysed], tracks.arousal[analysed]
    window.map.select_rect(float(v.min()) - 0.01, float(v.mean()) + 0.01, float(a.mean()) - 0.01,
                           float(a.max()) + 0.01)
    window.set_current(end)
    window.map.fit_to_points()
    settle(app)
    window.map_panel.grab().save(str(out / "mood_map.png"))

    # 3. The playlist panel with the mood path.
    window.playlist_dock.show()
    window.playlist_dock.raise_()
    settle(app)
    window.grab().save(str(out / "playlist_panel.png"))

    # 4. The settings dialog with the model card's metrics.
    dialog = window.open_settings()
    wait(app, lambda: "Checking" not in dialog.model_status.text())
    settle(app)
    dialog.grab().save(str(out / "settings_dialog.png"))
    dialog.reject()

    for name in ("main_window", "mood_map", "playlist_panel", "settings_dialog"):
        print(f"wrote {out / (name + '.png')}")
    print("model: " + ("the default model" if real else "TINY RANDOM WEIGHTS (no default model installed)"))
    print("reproduce: make screenshots")
    window.close()
    context.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
