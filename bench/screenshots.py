"""Screenshots of the app for the README: analyse ../shared/data/music into a temp library, then save
PNGs of the main window, the mood map with a selection and a path, the playlist panel and the
settings dialog, at each ``--size`` (default: 1440x900 and 1280x720).

    make screenshots        # both sizes; in a real X window (Xvfb) when xvfb-run is installed
    xvfb-run -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb .venv/bin/python bench/screenshots.py \
        --size 1440x900 --size 1280x720

Files: ``docs/screenshots/NAME.png`` at 1440x900 (the README's pictures) and ``NAME-WxH.png`` at every
other size. Uses the installed default model (sentio_ml/resources/models/default or $SENTIO_MODEL). Only
when there is none, it builds a tiny random-weights bundle so the pictures can still be made, and says
so loudly: the positions on the map are then meaningless. The music is copied to a temp folder first,
so the shared data is never modified.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

README_SIZE = (1440, 900)
DEFAULT_SIZES = ("1440x900", "1280x720")


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


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, like 1280x720, not {text!r}") from None
    return width, height


def analyse(source: Path, work: Path):  # noqa: ANN201 - (Settings, AnalysisSummary, is_real)
    """Copy the music to `work` and analyse it into a temp library with the default model."""
    from sentio_desktop.analysis import AnalysisService
    from sentio_desktop.library import Library
    from sentio_desktop.settings import Settings

    music = work / "music"
    shutil.copytree(source, music, ignore=shutil.ignore_patterns("*.txt"))
    bundle, real = model_folder(work)
    settings = Settings(music_folders=[str(music)], model="default" if real else str(bundle), device="auto",
                        write_tags=False, tags_asked=True, db_path=str(work / "library.db"))
    t0 = time.perf_counter()
    with Library(settings.database_path()) as library:
        summary = AnalysisService(library, settings).run([music])
    print(f"analysed {summary.analysed} files ({len(summary.failed)} failed) with {summary.model_id} "
          f"on {summary.device} in {time.perf_counter() - t0:.1f} s")
    return settings, summary, real


def open_window(app, context, size: tuple[int, int]):  # noqa: ANN001, ANN201 - the MainWindow
    from sentio_desktop.ui.main_window import MainWindow

    context.state_path.unlink(missing_ok=True)  # every size starts from the default layout
    window = MainWindow(context)
    window.resize(*size)
    window.show()
    window.start()
    wait(app, lambda: len(window.tracks) > 0 and not window.loading and window.model_info is not None)
    settle(app)
    return window


def shoot(app, context, summary, size: tuple[int, int], out: Path) -> list[Path]:  # noqa: ANN001
    """The four pictures at one window size; returns the files written."""
    from sentio_desktop.ui.mood_map import SelectTool

    suffix = "" if size == README_SIZE else f"-{size[0]}x{size[1]}"
    files = {name: out / f"{name}{suffix}.png" for name in ("main_window", "mood_map", "playlist_panel",
                                                            "settings_dialog")}
    window = open_window(app, context, size)
    tracks = window.tracks
    # 1. The main window: library, map coloured by mood, the analysis panel with its last run.
    window.analysis_panel._on_finished(summary)
    analysed = [i for i in range(len(tracks)) if tracks.analysed[i]]
    best = max(analysed, key=lambda i: tracks.arousal[i])
    window.set_current(best)
    window.library_panel.select_tracks([best], current=best)
    wait(app, lambda: window.map._path_item.getData()[0] is not None and len(window.map._path_item.getData()[0]))
    settle(app)
    window.grab().save(str(files["main_window"]))
    # 2. The mood map with a rectangle selection, the current song's excerpt path and a mood path.
    from sentio_ml.music_detector import is_music

    songs = [i for i in analysed if is_music(None if np.isnan(tracks.music[i]) else float(tracks.music[i]))] or analysed
    start = min(songs, key=lambda i: tracks.valence[i] + tracks.arousal[i])  # a path between songs, not a whale
    end = max(songs, key=lambda i: tracks.valence[i] + tracks.arousal[i])
    panel = window.playlist_panel
    panel.set_path_endpoints(int(tracks.track_id[start]), int(tracks.track_id[end]))
    panel.path_steps.setValue(min(6, len(analysed)))
    panel.build_path()
    wait(app, lambda: panel.list.count() > 0)
    window.map_panel.set_tool(SelectTool.RECT)
    v, a = tracks.valence[analysed], tracks.arousal[analysed]
    window.map.select_rect(float(v.min()) - 0.01, float(v.mean()) + 0.01, float(a.mean()) - 0.01,
                           float(a.max()) + 0.01)
    window.set_current(end)
    window.map.fit_to_points()
    settle(app)
    window.map_panel.grab().save(str(files["mood_map"]))
    # 3. The playlist panel with the mood path.
    window.playlist_dock.show()
    window.playlist_dock.raise_()
    settle(app)
    window.grab().save(str(files["playlist_panel"]))
    # 4. The settings dialog with the model card's metrics.
    dialog = window.open_settings()
    wait(app, lambda: "Checking" not in dialog.model_status.text())
    settle(app)
    dialog.grab().save(str(files["settings_dialog"]))
    dialog.reject()
    panel.unsaved = False
    window.close()
    return list(files.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", default=str(REPO.parent / "shared" / "data" / "music"))
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--size", action="append", type=parse_size, metavar="WxH",
                        help=f"window size; repeat for several (default: {' and '.join(DEFAULT_SIZES)})")
    args = parser.parse_args()
    sizes = args.size or [parse_size(s) for s in DEFAULT_SIZES]
    source = Path(args.music)
    if not source.is_dir():
        print(f"screenshots: the music folder {source} does not exist.", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sentio-shots-"))
    settings, summary, real = analyse(source, work)

    from sentio_desktop.library import Library
    from sentio_desktop.settings import save_settings
    from sentio_desktop.ui.app import create_application
    from sentio_desktop.ui.context import AppContext
    from sentio_desktop.ui.workers import BackgroundRunner

    app = create_application([])
    print(f"Qt platform: {app.platformName()}")
    settings_path = work / "config" / "settings.json"
    save_settings(settings, settings_path)
    context = AppContext(settings, settings_path, Library(settings.database_path()), BackgroundRunner())
    for size in sizes:
        for path in shoot(app, context, summary, size, out):
            print(f"wrote {path}")
    print("model: " + ("the default model" if real else "TINY RANDOM WEIGHTS (no default model installed)"))
    print("reproduce: make screenshots")
    context.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
