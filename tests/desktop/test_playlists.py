"""Mood playlists: regions, neighbours, paths, saving, M3U8/XSPF export."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sentio_desktop.db import Analysis, Track
from sentio_desktop.errors import PlaylistError
from sentio_desktop.library import Library
from sentio_desktop.playlists import (
    Circle,
    Polygon,
    Rect,
    build_nearest,
    build_path,
    build_region,
    delete_playlist,
    export_playlist,
    list_playlists,
    mood_path,
    playlist_file_name,
    playlist_tracks,
    save_playlist,
)


@pytest.fixture
def grid(tmp_path: Path) -> tuple[Library, dict[tuple[int, int], int]]:
    """An 11 x 11 grid of analysed tracks at valence, arousal = i/10, j/10, plus one unanalysed track."""
    lib = Library(tmp_path / "lib.db")
    ids: dict[tuple[int, int], int] = {}
    with lib.session() as session:
        for i in range(11):
            for j in range(11):
                track = Track(path=str(tmp_path / "music" / f"t{i:02d}_{j:02d}.flac"), size=1, mtime=1.0,
                              title=f"T{i}-{j}", artist="Grid", duration=61.4)
                session.add(track)
                session.flush()
                session.add(Analysis(track_id=track.id, model_id="m", valence=i / 10, arousal=j / 10,
                                     mood="calm", current=True))
                ids[(i, j)] = track.id
        session.add(Track(path=str(tmp_path / "music" / "new.flac"), size=1, mtime=1.0))
    yield lib, ids
    lib.close()


def va_of(lib: Library, track_ids: list[int]) -> np.ndarray:
    return np.array([(t.valence, t.arousal) for t in lib.tracks_by_ids(track_ids)])


def test_regions(grid) -> None:
    lib, ids = grid
    rect = build_region(lib, Rect((0.75, 1.0), (0.0, 0.25)))
    assert sorted(rect) == sorted(ids[(i, j)] for i in (8, 9, 10) for j in (0, 1, 2))
    assert rect[0] == ids[(9, 1)]  # most central first
    circle = build_region(lib, Circle(0.5, 0.5, 0.1001))
    assert sorted(circle) == sorted(ids[p] for p in [(5, 5), (4, 5), (6, 5), (5, 4), (5, 6)])
    triangle = build_region(lib, Polygon(((0.05, 0.05), (0.38, 0.05), (0.05, 0.38))))
    assert set(triangle) == {ids[p] for p in [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (2, 2)]}
    assert len(build_region(lib, Rect((0, 1), (0, 1)), limit=7)) == 7
    with pytest.raises(PlaylistError, match="outside the mood map"):
        build_region(lib, Circle(1.5, 0.5, 0.1))
    with pytest.raises(PlaylistError, match="three corners"):
        build_region(lib, Polygon(((0, 0), (1, 1))))


def test_nearest_neighbours(grid) -> None:
    lib, ids = grid
    result = build_nearest(lib, ids[(5, 5)], count=5)  # count = the playlist's length, seed included
    assert result[0] == ids[(5, 5)] and len(result) == 5
    assert set(result[1:]) == {ids[p] for p in [(4, 5), (6, 5), (5, 4), (5, 6)]}
    without_seed = build_nearest(lib, ids[(5, 5)], count=4, include_seed=False)
    assert len(without_seed) == 4 and ids[(5, 5)] not in without_seed
    unanalysed = max(ids.values()) + 1
    with pytest.raises(PlaylistError, match="no mood analysis"):
        build_nearest(lib, unanalysed)


def test_mood_path_follows_the_line_without_duplicates(grid) -> None:
    lib, ids = grid
    path = build_path(lib, ids[(0, 0)], ids[(10, 10)], steps=11)
    assert path[0] == ids[(0, 0)] and path[-1] == ids[(10, 10)]
    assert len(path) == len(set(path)) == 11
    points = va_of(lib, path)
    assert np.allclose(points[:, 0], points[:, 1])  # every step on the diagonal
    assert np.all(np.diff(points[:, 0]) > 0)  # and moving forward
    via = build_path(lib, ids[(0, 0)], ids[(10, 0)], steps=5, waypoints=[(0.5, 1.0)])
    assert va_of(lib, via)[2].tolist() == [0.5, 1.0]  # passes through the waypoint
    dense = build_path(lib, ids[(0, 0)], ids[(1, 0)], steps=30)
    assert len(dense) == len(set(dense)) == 30  # more steps than songs on the line: still no duplicates
    with pytest.raises(PlaylistError, match="at least 2 steps"):
        build_path(lib, ids[(0, 0)], ids[(1, 0)], steps=1)
    with pytest.raises(PlaylistError, match="needs 500 analysed songs"):
        build_path(lib, ids[(0, 0)], ids[(1, 0)], steps=500)


def library_of(tmp_path: Path, points: list[tuple[float, float]], prints: list[str | None] | None = None) -> Library:
    lib = Library(tmp_path / "points.db")
    with lib.session() as session:
        for n, (valence, arousal) in enumerate(points):
            track = Track(path=str(tmp_path / f"s{n:03d}.flac"), size=1, mtime=1.0, title=f"S{n}",
                          fingerprint=prints[n] if prints else None)
            session.add(track)
            session.flush()
            session.add(Analysis(track_id=track.id, model_id="m", valence=valence, arousal=arousal, current=True))
    return lib


def position_along(lib: Library, path: list[int]) -> np.ndarray:
    """Each song's position along the straight line from the first song to the last."""
    va = va_of(lib, path)
    direction = va[-1] - va[0]
    return (va - va[0]) @ direction / (direction @ direction)


@pytest.mark.parametrize("seed", range(12))
def test_mood_path_never_steps_back_on_a_scattered_library(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lib = library_of(tmp_path, [tuple(p) for p in rng.uniform(0.2, 0.8, size=(40, 2)).round(3)])
    ids = [t.id for t in lib.tracks()]
    va = va_of(lib, ids)
    start, end = ids[int(np.argmin(va.sum(1)))], ids[int(np.argmax(va.sum(1)))]  # low-low to high-high corner
    path = mood_path(lib, start, end, steps=12)
    along = position_along(lib, path.ids)
    assert np.all(np.diff(along) >= -1e-9), along.round(3)  # never back along the line, end included
    assert len(set(path.ids)) == 12 and path.ids[0] == start and path.ids[-1] == end
    lib.close()


def test_mood_path_says_when_the_library_cannot_move_on(grid) -> None:
    lib, ids = grid
    smooth = mood_path(lib, ids[(0, 0)], ids[(10, 10)], steps=11)
    assert smooth.stalled_steps == 0
    crowded = mood_path(lib, ids[(0, 0)], ids[(1, 0)], steps=6)  # 6 songs on a line that holds 2 positions
    assert crowded.stalled_steps > 0 and len(set(crowded.ids)) == 6


def test_byte_identical_copies_appear_once(tmp_path: Path) -> None:
    # two copies of one file, predicted with float noise between them (as batching gives), and a different
    # song at exactly the same place as the first copy
    points = [(0.5, 0.5), (0.50001, 0.49999), (0.52, 0.5), (0.55, 0.5), (0.6, 0.5), (0.9, 0.9), (0.5, 0.5)]
    lib = library_of(tmp_path, points, prints=["same", "same", "a", "b", None, "c", "other"])
    ids = [t.id for t in lib.tracks(order_by="path")]
    near = build_nearest(lib, ids[2], count=5)
    assert near[0] == ids[2] and len(near) == 5 and ids[1] not in near  # the copy counts once
    assert set(near[1:3]) == {ids[0], ids[6]} and near[3] == ids[3]
    assert build_nearest(lib, ids[1], count=3)[1:] == [ids[6], ids[2]]  # a copy as seed: its twin is the seed
    assert sorted(build_region(lib, Rect((0.4, 0.6), (0.4, 0.6)))) == [ids[0], ids[2], ids[3], ids[4], ids[6]]
    assert len(lib.mood_points()) == 6
    lib.close()


def test_playlist_file_name_is_a_clean_slug() -> None:
    assert playlist_file_name("Path: Vibe Ace → Drum-bass,  12 songs") == "path-vibe-ace-drum-bass-12-songs.m3u8"
    assert playlist_file_name("Calm & happy", "xspf") == "calm-happy.xspf"
    assert playlist_file_name("Près d'ici — été") == "près-d-ici-été.m3u8"
    assert playlist_file_name("  →  ") == playlist_file_name(None) == "playlist.m3u8"


def test_save_list_replace_delete(grid) -> None:
    lib, ids = grid
    chosen = [ids[(1, 1)], ids[(2, 2)], ids[(3, 3)]]
    save_playlist(lib, "Calm", chosen, kind="path", params={"steps": 3})
    assert [t.id for t in playlist_tracks(lib, "Calm")] == chosen
    with pytest.raises(PlaylistError, match="already exists"):
        save_playlist(lib, "Calm", chosen)
    save_playlist(lib, "Calm", chosen[::-1], replace=True)
    assert [t.id for t in playlist_tracks(lib, "Calm")] == chosen[::-1]
    [info] = list_playlists(lib)
    assert (info.name, info.size, info.kind) == ("Calm", 3, "manual")
    delete_playlist(lib, "Calm")
    assert list_playlists(lib) == []
    with pytest.raises(PlaylistError, match="no playlist"):
        playlist_tracks(lib, "Calm")


def test_export_m3u8_and_xspf(grid, tmp_path: Path) -> None:
    lib, ids = grid
    tracks = lib.tracks_by_ids([ids[(1, 2)], ids[(3, 4)]])
    m3u = export_playlist(tracks, tmp_path / "music" / "lists" / "calm.m3u8", relative=True)
    lines = m3u.read_text(encoding="utf-8").splitlines()
    assert lines == ["#EXTM3U", "#EXTINF:61,Grid - T1-2", "../t01_02.flac", "#EXTINF:61,Grid - T3-4",
                     "../t03_04.flac"]
    absolute = export_playlist(tracks, tmp_path / "abs.m3u8")
    assert absolute.read_text().splitlines()[2] == tracks[0].path
    xspf = export_playlist(tracks, tmp_path / "calm.xspf")
    ns = {"x": "http://xspf.org/ns/0/"}
    root = ET.parse(xspf).getroot()
    locations = [e.text for e in root.findall("x:trackList/x:track/x:location", ns)]
    assert locations == [Path(t.path).as_uri() for t in tracks]
    assert root.find("x:trackList/x:track/x:duration", ns).text == "61400"
    with pytest.raises(PlaylistError, match="use .m3u8 or .xspf"):
        export_playlist(tracks, tmp_path / "calm.pls")


def mark_not_music(lib: Library, track_ids: list[int], music: float = 0.03) -> None:
    """Give these tracks' current analyses a "not music" probability (like speech or a whale)."""
    with lib.session() as session:
        for analysis in session.query(Analysis).filter(Analysis.track_id.in_(track_ids), Analysis.current.is_(True)):
            analysis.music = music


def test_non_music_tracks_stay_out_of_playlists_unless_asked(grid) -> None:
    lib, ids = grid
    speech, whale, song = ids[(9, 1)], ids[(5, 4)], ids[(5, 6)]
    mark_not_music(lib, [speech, whale])
    mark_not_music(lib, [song], music=0.8)  # music: stays
    rect = Rect((0.75, 1.0), (0.0, 0.25))
    assert speech not in build_region(lib, rect) and len(build_region(lib, rect)) == 8
    assert build_region(lib, rect, include_non_music=True)[0] == speech
    near = build_nearest(lib, ids[(5, 5)], count=5)
    assert whale not in near and song in near and len(near) == 5
    assert whale in build_nearest(lib, ids[(5, 5)], count=5, include_non_music=True)
    path = build_path(lib, ids[(5, 0)], ids[(5, 10)], steps=11)
    assert whale not in path and len(path) == 11
    assert whale in build_path(lib, ids[(5, 0)], ids[(5, 10)], steps=11, include_non_music=True)
    # a song the user names is kept: a non-music seed still finds its (music) neighbours
    assert build_nearest(lib, whale, count=3)[0] == whale
    with pytest.raises(PlaylistError, match="the library has 119 that are music \\(2 more are not music\\)"):
        build_path(lib, ids[(0, 0)], ids[(1, 0)], steps=120)


def test_region_playlist_of_a_map_selection_leaves_non_music_out(grid) -> None:
    from sentio_desktop.playlists import playlist_ids, region_playlist

    lib, ids = grid
    whale = ids[(0, 0)]
    mark_not_music(lib, [whale])
    selected = [ids[(0, 0)], ids[(0, 1)], ids[(1, 0)]]
    draft = region_playlist(lib, Rect((0.0, 0.15), (0.0, 0.15)), among=selected)
    assert sorted(draft.track_ids) == sorted([ids[(0, 1)], ids[(1, 0)]])
    assert whale in region_playlist(lib, Rect((0.0, 0.15), (0.0, 0.15)), among=selected, include_non_music=True).track_ids
    assert playlist_ids(lib, selected) == selected[1:] and playlist_ids(lib, selected, include_non_music=True) == selected
