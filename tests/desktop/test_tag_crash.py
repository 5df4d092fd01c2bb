"""Fault injection: a tag writer killed with SIGKILL at random moments of its write phase never damages
a file. Files of every container Sentio writes, with NO padding (so every write must grow the tag
block, and an in-place writer would move the audio); after each kill every file's decoded audio equals
the original and its Sentio tags are either all old or all new. ``SENTIO_CRASH_SEED`` picks the moments.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import mutagen
import numpy as np
import pytest
import soundfile as sf

from sentio_desktop.tags import MoodTags, clean_leftovers, is_temp_name, read_mood_tags

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")]

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "data"
LONG_S = 240.0  # FLAC and ALAC: 4-minute tracks (18-40 MB), the files an in-place writer moves the longest
SHORT_S = 60.0  # the others: their encoders are slow (lossy) or their tag sits after the audio (WAV, AIFF)
ROUNDS = 20
SEED = int(os.environ.get("SENTIO_CRASH_SEED", "1313"))

WRITER = """
import json, os, sys, time
os.nice(19)  # the test (at normal priority) then wakes up in time to kill it mid-write on a busy machine
from sentio_desktop.tags import MoodTags, remove_mood_tags, write_mood_tags
print("ready", flush=True)
job = json.loads(sys.stdin.readline())
tags = None if job["tags"] is None else MoodTags(**job["tags"])
for index, path in enumerate(job["paths"]):
    sys.stdin.readline()  # the test's go-ahead, so that it knows which file is being written
    print("start", index, flush=True)
    began = time.perf_counter()
    try:
        if tags is None:
            remove_mood_tags(path)
        else:
            write_mood_tags(path, tags)
        print("done", index, time.perf_counter() - began, flush=True)
    except Exception as exc:  # a damaged file: keep going, the checks will say which
        print("error", index, type(exc).__name__, exc, flush=True)
print("finished", flush=True)
"""


class Writer:
    """The writer subprocess, started ahead of time (imports take a while) and driven file by file."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=REPO_ROOT)

    def run(self, paths: list[Path], tags: MoodTags | None, kill_at: int | None = None,
            delay: float = 0.0) -> tuple[list[str], bool]:
        """Write ``tags`` (None: remove) into ``paths``; with ``kill_at``, SIGKILL the writer ``delay`` s
        after it starts on file ``kill_at``. Returns its output lines and whether the kill landed inside
        that file's write (after its "start", before its "done")."""
        lines = [self.proc.stdout.readline().strip()]
        assert lines == ["ready"], lines
        job = {"paths": [str(p) for p in paths], "tags": None if tags is None else tags.__dict__}
        self.proc.stdin.write(json.dumps(job) + "\n" + "\n" * (len(paths) if kill_at is None else kill_at + 1))
        self.proc.stdin.flush()
        while kill_at is not None and lines[-1] and lines[-1] != f"start {kill_at}":
            lines.append(self.proc.stdout.readline().strip())
        if kill_at is not None:
            time.sleep(delay)
            self.proc.send_signal(signal.SIGKILL)
        rest, _ = self.proc.communicate(timeout=120)
        lines += [line for line in rest.splitlines() if line]
        inside = (self.proc.returncode == -signal.SIGKILL and f"start {kill_at}" in lines
                  and not any(line.startswith((f"done {kill_at} ", f"error {kill_at} ")) for line in lines))
        return lines, inside


def _encode(pcm: np.ndarray, rate: int, path: Path, codec: str, fmt: str | None = None,
            out_rate: int | None = None) -> None:
    options = {"movflags": "faststart"} if fmt == "ipod" else {}  # the atoms first, as iTunes writes them
    with av.open(str(path), "w", format=fmt, options=options) as container:
        stream = container.add_stream(codec, rate=out_rate or rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.reshape(1, -1)), format="s16", layout="stereo")
        frame.sample_rate = rate
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            container.mux(packet)


@pytest.fixture(scope="module")
def masters(tmp_path_factory) -> list[Path]:
    """One file per written container (two ID3 versions of MP3), ``LENGTH_S`` of the fixture looped."""
    folder = tmp_path_factory.mktemp("masters")
    short, rate = sf.read(FIXTURES / "vibe_ace.wav", dtype="int16")
    pcm = np.tile(short, (int(LONG_S * rate / len(short)) + 1, 1))[: int(LONG_S * rate)]
    sf.write(folder / "a.flac", pcm, rate, subtype="PCM_16")
    _encode(pcm, rate, folder / "alac.m4a", "alac", fmt="ipod")
    pcm = pcm[: int(SHORT_S * rate)]
    sf.write(folder / "a.wav", pcm, rate, subtype="PCM_16")
    sf.write(folder / "a.aiff", pcm, rate, subtype="PCM_16", format="AIFF")
    with sf.SoundFile(folder / "a.ogg", "w", rate, 2, format="OGG", subtype="VORBIS") as ogg:
        for start in range(0, len(pcm), 8192):  # libsndfile's Vorbis encoder crashes on huge writes
            ogg.write(pcm[start:start + 8192].astype(np.float32) / 32768)
    _encode(pcm, rate, folder / "a.mp3", "libmp3lame")
    _encode(pcm, rate, folder / "a.opus", "libopus", fmt="ogg", out_rate=48000)
    _encode(pcm, rate, folder / "aac.m4a", "aac", fmt="ipod")
    shutil.copy(folder / "a.mp3", folder / "v23.mp3")
    for path in folder.iterdir():
        tagged = mutagen.File(path)
        if tagged.tags is None:
            tagged.add_tags()
        if path.name == "v23.mp3":
            tagged.tags.update_to_v23()
            tagged.save(v2_version=3)
        else:
            tagged.save()
    return sorted(folder.iterdir())


def audio_digest(path: Path) -> str:
    """SHA-256 of every decoded sample (PyAV, independent of Sentio's code)."""
    digest = hashlib.sha256()
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                digest.update(frame.to_ndarray().tobytes())
    except av.error.FFmpegError as exc:
        return f"undecodable ({exc})"
    return digest.hexdigest()


def file_version(path: Path) -> tuple[int, ...]:
    """Changes whenever the file is written or replaced (cheaper than hashing 40 MB every round)."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def padding_of(path: Path) -> int | None:
    """Bytes of padding in the file's tag block (FLAC: of its PADDING blocks, headers included)."""
    tagged = mutagen.File(path)
    if path.suffix == ".flac":
        return sum(4 + block.length for block in tagged.metadata_blocks if block.code == 1)
    return tagged.tags._padding


def strip_padding(path: Path) -> None:
    """Rewrite the tags with zero padding (FLAC: no PADDING block at all), so the next write must grow."""
    tagged = mutagen.File(path)
    kwargs = {"v2_version": tagged.tags.version[1]} if hasattr(tagged.tags, "version") else {}
    tagged.save(padding=lambda info: 0, **kwargs)
    if path.suffix == ".flac":
        drop_flac_padding_block(path)


def drop_flac_padding_block(path: Path) -> None:
    """mutagen always keeps a PADDING block (if empty); real encoders often write none."""
    data = path.read_bytes()
    assert data[:4] == b"fLaC"
    blocks, offset, last = [], 4, False
    while not last:
        last, code = bool(data[offset] & 0x80), data[offset] & 0x7F
        size = int.from_bytes(data[offset + 1:offset + 4], "big")
        if code != 1:  # 1: PADDING
            blocks.append(bytearray(data[offset:offset + 4 + size]))
        offset += 4 + size
    for block in blocks:
        block[0] &= 0x7F
    blocks[-1][0] |= 0x80
    path.write_bytes(b"fLaC" + b"".join(blocks) + data[offset:])
    assert not any(block.code == 1 for block in mutagen.flac.FLAC(path).metadata_blocks)


def test_sigkill_during_tag_writes_never_damages_a_file(masters: list[Path], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    paths = []
    for master in masters:
        shutil.copy(master, tmp_path / master.name)
        paths.append(tmp_path / master.name)
    for path in paths:
        strip_padding(path)
    reference = {path: audio_digest(path) for path in paths}
    verified = {path: file_version(path) for path in paths}  # versions whose audio was checked already

    def check(old: dict[Path, MoodTags], new: MoodTags | None, label: str) -> None:
        for path in paths:
            if file_version(path) != verified[path]:
                digest = audio_digest(path)
                assert digest == reference[path], f"{label}: the audio of {path.name} changed: {digest}"
                verified[path] = file_version(path)
            tags = read_mood_tags(path)
            assert tags in (old[path], new or MoodTags()), f"{label}: {path.name} has mixed tags {tags}"

    # A complete run first, as hard as the others: it must work, and it times each file's write.
    writer = Writer()
    first = MoodTags(0.25, 0.75, "calm", "sentio-crash-test@calm")
    lines, _ = writer.run(paths, first)
    assert lines[-1] == "finished" and not [line for line in lines if line.startswith("error")], lines
    seconds = [float(line.split()[2]) for line in lines if line.startswith("done")]
    check({path: MoodTags() for path in paths}, first, "complete run")

    mid_way = leftovers_seen = 0
    for round_ in range(ROUNDS):
        writer = Writer()  # starts importing while this process gets the files ready
        for path in paths:
            if padding_of(path) != 0:
                strip_padding(path)
                verified[path] = file_version(path)
        old = {path: read_mood_tags(path) for path in paths}
        valence = round(rng.random(), 3)
        mood = rng.choice(["calm", "serene and slightly melancholic", "tense"]) + "-" + str(round_)
        new = None if round_ % 4 == 3 else MoodTags(valence, round(1 - valence, 3), mood, "sentio-crash-test@" + mood)
        # A random moment of the write phase: a file with the odds of its share of the time, then a moment in it.
        kill_at = rng.choices(range(len(paths)), weights=seconds)[0]
        lines, landed = writer.run(paths, new, kill_at, rng.uniform(0, seconds[kill_at]))
        mid_way += landed
        check(old, new, f"round {round_} (killed while writing {paths[kill_at].name}: {lines[-2:]})")
        temps = [name for name in os.listdir(tmp_path) if name.startswith(".")]
        assert all(is_temp_name(name) for name in temps), temps
        leftovers_seen += len(temps)
        clean_leftovers(tmp_path)  # what the next run does first (the tag writer, the scanner)
    assert mid_way >= ROUNDS // 2, f"only {mid_way} of {ROUNDS} kills landed inside a file's write"

    last = MoodTags(0.5, 0.5, "final", "sentio-crash-test@final")
    lines, _ = Writer().run(paths, last)
    assert lines[-1] == "finished", lines
    check({path: MoodTags() for path in paths}, last, "final run")
    assert sorted(os.listdir(tmp_path)) == sorted(path.name for path in paths)  # nothing left behind
    print(f"{mid_way}/{ROUNDS} kills inside a file's write, {leftovers_seen} leftover temporary files removed")
