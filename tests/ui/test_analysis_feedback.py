"""What the analysis panel tells a newcomer: failures as they happen (scan problems included, in
sentences), an honest Cancel, a folder scanned as soon as it is added, pending songs offered."""
from __future__ import annotations

import os
from pathlib import Path

from sentio_desktop.analysis import STAGE_SCANNING
from sentio_desktop.ui.analysis_panel import failure_sentence
from sentio_desktop.ui.main_window import MainWindow
from tests.ui.conftest import CONTAINERS, copy_fixtures


def failures(window: MainWindow) -> dict[str, str]:
    tree = window.analysis_panel.failure_list
    return {tree.topLevelItem(i).toolTip(0): tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}


def test_scan_problems_are_listed_as_they_are_found(qtbot, tmp_path: Path, window: MainWindow) -> None:
    messy = copy_fixtures(tmp_path / "messy", ["vibe_ace.wav"])
    (messy / "notes.mp3").write_text("not audio", encoding="utf-8")
    (messy / "empty.flac").write_bytes(b"")
    (messy / "sub").mkdir()
    os.symlink("..", messy / "sub" / "loop")
    panel = window.analysis_panel
    panel.add_folder(str(messy))
    listed_after_scan: list[dict[str, str]] = []

    def on_progress(event) -> None:  # noqa: ANN001
        if event.stage != STAGE_SCANNING and not listed_after_scan:
            listed_after_scan.append(failures(window))

    panel.controller.progress.connect(on_progress)
    with qtbot.waitSignal(panel.runFinished, timeout=60000):
        assert panel.start()
    # Listed when the scan ended, before the analysis, not at the end of the run.
    early = listed_after_scan[0]
    assert {str(messy / "notes.mp3"), str(messy / "empty.flac"), str(messy / "sub" / "loop")} <= set(early)
    assert "symlink loop" in early[str(messy / "sub" / "loop")]
    assert all(reason.endswith(".") or "loop" in reason for reason in early.values())
    assert set(failures(window)) == set(early)  # and the end of the run adds no duplicates
    assert panel.failure_title.text() == f"Failures ({len(early)})"


def test_a_bare_reason_becomes_a_sentence() -> None:
    assert failure_sentence("/m/cut.mp3", "error") == (
        "Cannot analyse cut.mp3: the file could not be decoded; it may be damaged or cut short.")
    assert failure_sentence("/m/cut.mp3", "EOFError").startswith("Cannot analyse cut.mp3 (EOFError):")
    sentence = "Cannot read '/m/x.mp3': it is not a supported audio file or it is corrupt."
    assert failure_sentence("/m/x.mp3", sentence) == sentence


def test_cancel_shows_what_was_done_not_a_full_bar(qtbot, tmp_path: Path, window: MainWindow) -> None:
    more = copy_fixtures(tmp_path / "more", ["vibe_ace.wav", "vibe_ace.flac"], copies=4)
    panel = window.analysis_panel
    panel.add_folder(str(more))
    panel.pause_button.setChecked(True)
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as finished:
        assert panel.start()
        qtbot.waitUntil(lambda: panel.progress_bar.maximum() == 8, timeout=30000)
        panel.cancel()
    summary = finished.args[0]
    assert summary.cancelled
    bar = panel.progress_bar
    assert bar.value() < bar.maximum() and "cancelled" in bar.format()
    assert panel.rate_label.text() == ""  # no stale rate or ETA


def test_adding_a_folder_scans_it_and_pending_songs_are_offered(qtbot, tmp_path: Path, window: MainWindow,
                                                                monkeypatch) -> None:
    from sentio_desktop.ui import analysis_panel as module

    folder = copy_fixtures(tmp_path / "new", ["vibe_ace.ogg"], copies=2)
    monkeypatch.setattr(module.QFileDialog, "getExistingDirectory", lambda *_args: str(folder))
    panel = window.analysis_panel
    panel.pause_button.setChecked(True)  # hold it after the scan: the two songs stay pending
    with qtbot.waitSignal(panel.runFinished, timeout=60000):
        window.map_panel.welcome_button.click() if window.map_panel.welcome.isVisible() else panel.choose_folder()
        assert panel.controller.running  # the scan started by itself
        qtbot.waitUntil(lambda: panel.progress_bar.maximum() == 2, timeout=30000)
        panel.cancel()
    qtbot.waitUntil(lambda: len(window.tracks) == len(CONTAINERS) + 2 and not window.loading, timeout=20000)
    # A library that opens with pending songs offers to analyse them.
    again = MainWindow(window.context)
    again.ask_unsaved_playlist = window.ask_unsaved_playlist
    qtbot.addWidget(again)
    again.show()
    again.start()
    qtbot.waitUntil(lambda: not again.loading and len(again.tracks) > 0, timeout=20000)
    assert again.map_panel.pending_bar.isVisible()
    assert again.map_panel.pending_label.text().startswith("2 songs are not analysed")
    with qtbot.waitSignal(again.analysis_panel.runFinished, timeout=60000) as finished:
        again.map_panel.pending_button.click()
    assert finished.args[0].analysed == 2 and not again.map_panel.pending_bar.isVisible()
