"""One stored encoding for region playlists, shared by the CLI and the GUI (`playlists.region_params`)."""
from __future__ import annotations

import json

import pytest

from sentio_desktop import playlists as pl
from sentio_desktop.errors import PlaylistError


@pytest.mark.parametrize("region", [
    pl.Rect((0.6, 1.0), (0.0, 0.4)),
    pl.Circle(0.5, 0.5, 0.2),
    pl.Polygon(((0.1, 0.1), (0.9, 0.1), (0.5, 0.9))),
])
def test_region_params_round_trip_through_json(region) -> None:
    params = pl.region_params(region)
    stored = json.loads(json.dumps(params))  # what the library's JSON column gives back
    assert stored["region"] == type(region).__name__.lower()
    assert pl.region_from_params(stored) == region


def test_unreadable_region_params_are_one_sentence() -> None:
    for params in ({"region": "star"}, {"region": "rect", "valence": [0, 1]}, {}):
        with pytest.raises(PlaylistError, match=r"\.$"):
            pl.region_from_params(params)
