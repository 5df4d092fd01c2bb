"""Tag writes per second: crash-safe (copy + fsync + rename, tags/atomic.py) vs mutagen's in-place
rewrite, side by side in one run, on --files (1,000) 4-minute files (half MP3 192 kb/s, half FLAC).

    .venv/bin/python bench/tag_writes.py                   # 1,000 files (~12 GB in a temp folder)
    .venv/bin/python bench/tag_writes.py --files 200 --dir /mnt/music-disk

The files are made as a library holds them: MP3s with an ID3v2.4 tag and mutagen's default padding,
FLACs with the 8 KiB padding block the reference encoder leaves. They are split into blocks of
--block files; each block is written once in place and once safely (different values each time),
the order alternating from block to block so that drift and cache effects fall on both modes alike.
CPU is the process's user + system time (the in-kernel copy counts as system time): what the tag
writer thread takes from the analysis, which runs on the other threads.

Also prints the file-size cost of the padding Sentio leaves (tags/formats.py ``leave_padding``) on
files that had none, next to mutagen's default.
"""
from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sentio_desktop.tags import MoodTags, open_tag_file, write_mood_tags  # noqa: E402
from sentio_desktop.tags.formats import SENTIO_PADDING  # noqa: E402

SECONDS = 240.0


def make_masters(folder: Path) -> dict[str, Path]:
    """One 4-minute MP3 (192 kb/s) and one FLAC of the fixture looped, tagged as a library holds them."""
    import av
    import mutagen
    import soundfile as sf
    from mutagen.id3 import ID3, TALB, TIT2, TPE1

    short, rate = sf.read(REPO / "tests" / "data" / "vibe_ace.wav", dtype="int16")
    total = int(SECONDS * rate)
    pcm = np.tile(short, (total // len(short) + 1, 1))[:total]
    flac = folder / "master.flac"
    sf.write(flac, pcm, rate, subtype="PCM_16")
    tagged = mutagen.File(flac)
    tagged["title"], tagged["artist"], tagged["album"] = "Vibe Ace", "Kevin MacLeod", "Bench"
    tagged.save(padding=lambda _info: 8192)  # what `flac` leaves by default
    mp3 = folder / "master.mp3"
    with av.open(str(mp3), "w") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="stereo")
        stream.bit_rate = 192_000
        for start in range(0, total, rate * 10):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[start:start + rate * 10].reshape(1, -1)),
                                               format="s16", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Vibe Ace"))
    tags.add(TPE1(encoding=3, text="Kevin MacLeod"))
    tags.add(TALB(encoding=3, text="Bench"))
    tags.save(mp3)
    return {"mp3": mp3, "flac": flac}


def write_in_place(path: Path, tags: MoodTags) -> None:
    tag_file = open_tag_file(path)
    tag_file.write(tags)
    tag_file.save(in_place=True)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_writes(files: list[Path], block: int) -> dict[str, list[float]]:
    """{mode: [wall seconds, cpu seconds, writes]} over every file, blocks alternating the order."""
    totals = {"in place": [0.0, 0.0, 0], "safe": [0.0, 0.0, 0]}
    writers = {"in place": write_in_place, "safe": write_mood_tags}
    for number, start in enumerate(range(0, len(files), block)):
        order = ["in place", "safe"] if number % 2 == 0 else ["safe", "in place"]
        for value, mode in enumerate(order):
            tags = MoodTags(valence=0.1 + 0.4 * value + number % 7 / 100, arousal=0.5, mood=f"bench-{mode}",
                            model="sentio-bench@1.0")
            wall, used = time.perf_counter(), cpu()
            for path in files[start:start + block]:
                writers[mode](path, tags)
            totals[mode][0] += time.perf_counter() - wall
            totals[mode][1] += cpu() - used
            totals[mode][2] += len(files[start:start + block])
    return totals


def padding_cost(masters: dict[str, Path], folder: Path) -> list[tuple[str, int, int, int]]:
    """(format, size, bytes added by Sentio's write, by mutagen's default) for a file with no padding."""
    import mutagen

    rows = []
    tags = MoodTags(0.5, 0.5, "serene", "sentio-small@1.0")
    for fmt, master in masters.items():
        sizes = []
        for policy in ("sentio", "mutagen"):
            path = folder / f"pad-{policy}.{fmt}"
            shutil.copy(master, path)
            mutagen.File(path).save(padding=lambda _info: 0)
            before = path.stat().st_size
            if policy == "sentio":
                write_mood_tags(path, tags)
            else:
                tag_file = open_tag_file(path)
                tag_file.write(tags)
                tag_file.file.save()  # mutagen's default padding
            sizes.append(path.stat().st_size - before)
            path.unlink()
        rows.append((fmt, master.stat().st_size, sizes[0], sizes[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="files written by each mode (half MP3, half FLAC)")
    parser.add_argument("--block", type=int, default=50, help="files per block; the mode order alternates per block")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the files (default: a temp folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sentio-tag-bench-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        masters = make_masters(work)
        music = work / "music"
        music.mkdir()
        files = []
        for n in range(args.files):
            fmt = "mp3" if n % 2 == 0 else "flac"
            files.append(music / f"{n:04d}.{fmt}")
            shutil.copyfile(masters[fmt], files[-1])
        size = sum(path.stat().st_size for path in files)
        print(f"{args.files} files, {size / 1e9:.1f} GB (MP3 {masters['mp3'].stat().st_size / 1e6:.1f} MB, FLAC"
              f" {masters['flac'].stat().st_size / 1e6:.1f} MB each), made in {time.perf_counter() - t0:.0f} s"
              f" in {work} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
        totals = bench_writes(files, args.block)
        print()
        print("| mode | tags written / s | ms per file (wall) | CPU ms per file |")
        print("|---|---:|---:|---:|")
        for mode, (wall, used, count) in totals.items():
            print(f"| {mode} | {count / wall:.1f} | {1000 * wall / count:.1f} | {1000 * used / count:.1f} |")
        print()
        print(f"Padding Sentio leaves when a tag block is rewritten with < 1 KiB (SENTIO_PADDING = {SENTIO_PADDING}):")
        print("| format | file size | bytes added by Sentio's first write | by mutagen's default padding |")
        print("|---|---:|---:|---:|")
        for fmt, file_size, sentio, default in padding_cost(masters, work):
            print(f"| {fmt} | {file_size / 1e6:.1f} MB | {sentio} ({100 * sentio / file_size:.3f} %) |"
                  f" {default} ({100 * default / file_size:.3f} %) |")
        print()
        print("reproduce: .venv/bin/python bench/tag_writes.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
