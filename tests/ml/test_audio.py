from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sentio_ml.audio import SUPPORTED_EXTENSIONS, decode, excerpt_starts, load_excerpts, probe_duration
from sentio_ml.errors import AudioDecodeError
from tests.conftest import FIXTURES
from tests.ml.audio_helpers import chirp, write_av, write_soundfile

FIXTURE_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS)


def test_every_fixture_container_is_covered():
    # mp3 (v2.4 and v2.3 tags), flac, ogg vorbis, opus, AAC and ALAC m4a, wav, aiff
    assert len(FIXTURE_FILES) == 9
    assert {Path(n).suffix for n in FIXTURE_FILES} <= SUPPORTED_EXTENSIONS


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_decode_fixture(name):
    wave = decode(FIXTURES / name, 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 64000) < 16000 * 0.05  # 4 s, give or take codec padding
    assert np.isfinite(wave).all()
    assert 0.05 < np.abs(wave).max() <= 2.0
    assert abs(probe_duration(FIXTURES / name) - 4.0) < 0.05


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_short_track_gives_one_looped_excerpt(name):
    ex = load_excerpts(FIXTURES / name, sample_rate=16000, seconds=10.0, count=3)
    assert ex.waves.shape == (1, 160000)
    assert ex.starts.tolist() == [0.0]
    assert abs(ex.duration - 4.0) < 0.05
    # looped, not zero-padded: the end of the excerpt carries audio
    assert np.abs(ex.waves[0, -16000:]).max() > 0.05


@pytest.mark.parametrize(
    "name, codec, container_format",
    [("a.wma", "wmav2", "asf"), ("a.aac", "aac", "adts"), ("a.mp4", "aac", "mp4")],
)
def test_other_supported_containers_decode(tmp_path, name, codec, container_format):
    # extensions without a committed fixture: encoded here with the bundled FFmpeg
    assert Path(name).suffix in SUPPORTED_EXTENSIONS
    path = write_av(tmp_path / name, chirp(2.0), codec=codec, container_format=container_format, bit_rate=128000)
    wave = decode(path, 16000)
    assert abs(len(wave) - 32000) < 1600 and np.abs(wave).max() > 0.2
    assert abs(probe_duration(path) - 2.0) < 0.1


def test_oga_vorbis(tmp_path):
    path = write_soundfile(tmp_path / "a.ogg", chirp(2.0)).rename(tmp_path / "a.oga")
    assert path.suffix in SUPPORTED_EXTENSIONS and len(decode(path, 16000)) == 32000


def test_lossless_containers_decode_identically():
    wav = decode(FIXTURES / "vibe_ace.wav", 16000)
    for name in ("vibe_ace.flac", "vibe_ace.aiff"):
        np.testing.assert_allclose(decode(FIXTURES / name, 16000), wav, atol=1e-6)


def test_excerpt_starts_spread_and_avoid_edges():
    starts = excerpt_starts(240.0, 10.0, 3)
    assert starts.tolist() == pytest.approx([43.0, 115.0, 187.0])
    starts = excerpt_starts(30.0, 10.0, 3)
    assert starts[0] >= 0 and starts[-1] + 10 <= 30 and np.all(np.diff(starts) > 0)
    # just longer than one excerpt: all fit inside, overlapping
    starts = excerpt_starts(12.0, 10.0, 3)
    assert starts.min() >= 0 and starts.max() <= 2.0
    assert excerpt_starts(10.0, 10.0, 5).tolist() == [0.0]
    with pytest.raises(ValueError):
        excerpt_starts(100.0, 10.0, 0)


@pytest.mark.parametrize(
    "name, codec, container_format",
    [
        ("long.flac", None, None), ("long.ogg", None, None), ("long.mp3", "libmp3lame", None),
        ("long.m4a", "aac", "ipod"), ("long.opus", "libopus", "ogg"), ("long.wma", "wmav2", "asf"),
        ("long.aac", "aac", "adts"),
    ],
)
def test_excerpts_match_full_decode(tmp_path, name, codec, container_format):
    rate = 48000 if codec == "libopus" else 22050
    data = chirp(45.0, rate=rate, channels=1)
    path = tmp_path / name
    if codec is None:
        write_soundfile(path, data, rate=rate)
    else:
        write_av(path, data, rate=rate, codec=codec, container_format=container_format, bit_rate=64000)
    assert abs(probe_duration(path) - 45.0) < 1.0  # raw ADTS AAC only estimates its length
    full = decode(path, 16000)
    ex = load_excerpts(path, sample_rate=16000, seconds=5.0, count=4)
    assert ex.waves.shape == (4, 80000)
    assert np.all(np.diff(ex.starts) > 5) and ex.starts[0] >= 2.0 and ex.starts[-1] + 5.0 <= 43.0
    for wave, start in zip(ex.waves, ex.starts):
        ref = full[int(round(start * 16000)):][:80000]
        # equal up to the resampler's sub-sample phase at the cut; a misplaced excerpt correlates ~0
        assert np.corrcoef(wave[1600:], ref[1600:])[0, 1] > 0.97
        assert np.corrcoef(wave[1600:], full[int(round((start + 0.01) * 16000)):][1600:80000])[0, 1] < 0.9
    part = decode(path, 16000, offset=30.0, duration=2.0)
    assert len(part) == 32000


def test_decode_offset_and_duration_are_clipped_to_the_track(tmp_path):
    path = write_soundfile(tmp_path / "a.wav", chirp(3.0))
    assert len(decode(path, 16000, offset=2.5, duration=5.0)) == 8000
    assert len(decode(path, 16000, offset=10.0)) == 0


def test_silent_track(tmp_path):
    path = write_soundfile(tmp_path / "silence.wav", np.zeros((44100 * 3, 2), np.float32))
    ex = load_excerpts(path, seconds=2.0, count=2)
    assert ex.waves.shape == (2, 32000) and not ex.waves.any()


@pytest.mark.parametrize("channels", [1, 3, 6])
def test_any_channel_count_is_downmixed(tmp_path, channels):
    data = chirp(2.0, rate=48000, channels=channels)
    wave = decode(write_soundfile(tmp_path / f"c{channels}.wav", data, rate=48000), 16000)
    assert wave.shape == (32000,)
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert rms(wave) == pytest.approx(rms(data.mean(axis=1)), rel=0.05)  # the channel mean, not a sum


def test_mono_mp3(tmp_path):
    path = write_av(tmp_path / "mono.mp3", chirp(3.0, channels=1))
    wave = decode(path, 22050)
    assert abs(len(wave) - 3 * 22050) < 2000 and np.abs(wave).max() > 0.2


def _write(name: str, data: bytes):
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data)
        return path

    return make


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda d: d / "missing.mp3", "does not exist"),
        (_write("empty.mp3", b""), "empty"),
        (_write("text.mp3", b"hello, I am not audio\n" * 50), "not a supported audio"),
        (_write("noise.flac", bytes(range(256)) * 40), "not a supported audio|no audio samples"),
        (lambda d: d, "folder"),
    ],
)
def test_unreadable_inputs_raise_one_clear_sentence(tmp_path, make, phrase):
    path = make(tmp_path)
    for call in (lambda: decode(path, 16000), lambda: load_excerpts(path), lambda: probe_duration(path)):
        with pytest.raises(AudioDecodeError) as info:
            call()
        message = str(info.value)
        assert re.search(phrase, message) and str(path) in message
        assert message.endswith(".") and "\n" not in message


def test_file_without_audio_stream(tmp_path):
    import av  # a tiny video-only container

    with av.open(str(tmp_path / "video.mkv"), "w") as container:
        stream = container.add_stream("ffv1", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        decode(tmp_path / "video.mkv", 16000)


def test_truncated_mp3_keeps_what_decodes(fixture_copy):
    path = fixture_copy("vibe_ace.mp3")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    wave = decode(path, 16000)
    assert 16000 < len(wave) < 64000


def test_a_file_cut_short_reports_what_decodes(fixture_copy):
    from sentio_ml.audio import load_excerpts, probe_duration

    path = fixture_copy("vibe_ace.flac")
    header = probe_duration(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    excerpts = load_excerpts(path, 16000, seconds=1.0, count=2)
    assert excerpts.duration < 0.75 * header  # the header still claims the whole length


def test_wav_and_flac_need_no_pyav():
    """PyAV is imported on first use: lossless files decode through soundfile alone (and skip its import cost)."""
    import subprocess
    import sys

    script = ("import sys; sys.modules['av'] = None\n"  # any `import av` now raises ImportError
              "from sentio_ml.audio import load_excerpts\n"
              f"for name in ('vibe_ace.flac', 'vibe_ace.wav'):\n"
              f"    assert load_excerpts({str(FIXTURES)!r} + '/' + name, count=2, seconds=1.0).waves.shape == (2, 16000)\n"
              "assert sys.modules['av'] is None\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
