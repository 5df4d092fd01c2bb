"""Regenerate the tiny audio fixtures from ../shared/data/music (run once; outputs are committed).

Source: "Vibe Ace" by Kevin MacLeod, CC-BY 3.0 (see ATTRIBUTION.md). Four seconds from 0:30,
44.1 kHz stereo, written in every container Sentio supports. Encoding uses PyAV (bundled FFmpeg)
and soundfile (libsndfile), so no system FFmpeg is needed.
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TALB, TCON, TIT2, TPE1
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg"
START_S, LENGTH_S = 30.0, 4.0
TITLE, ARTIST, ALBUM, GENRE = "Vibe Ace", "Kevin MacLeod", "Jazz Sampler", "Jazz"


def encode_with_av(pcm: np.ndarray, rate: int, path: Path, codec: str, fmt: str | None = None,
                   out_rate: int | None = None) -> None:
    out_rate = out_rate or rate
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=out_rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm.reshape(1, -1)).astype(np.int16), format="s16", layout="stereo")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> None:
    info = sf.info(SOURCE)
    start = int(START_S * info.samplerate)
    audio, rate = sf.read(SOURCE, start=start, frames=int(LENGTH_S * info.samplerate), dtype="int16")
    float_audio = audio.astype(np.float32) / 32768.0

    sf.write(HERE / "vibe_ace.wav", audio, rate, subtype="PCM_16")
    sf.write(HERE / "vibe_ace.aiff", audio, rate, subtype="PCM_16", format="AIFF")
    sf.write(HERE / "vibe_ace.flac", audio, rate, subtype="PCM_16")
    sf.write(HERE / "vibe_ace.ogg", float_audio, rate, format="OGG", subtype="VORBIS")
    encode_with_av(audio, rate, HERE / "vibe_ace.mp3", "libmp3lame")
    encode_with_av(audio, rate, HERE / "vibe_ace.opus", "libopus", fmt="ogg", out_rate=48000)
    encode_with_av(audio, rate, HERE / "vibe_ace_aac.m4a", "aac", fmt="ipod")
    encode_with_av(audio, rate, HERE / "vibe_ace_alac.m4a", "alac", fmt="ipod")

    for name, version in (("vibe_ace.mp3", 4),):
        tags = ID3()
        for frame in (TIT2(encoding=3, text=TITLE), TPE1(encoding=3, text=ARTIST),
                      TALB(encoding=3, text=ALBUM), TCON(encoding=3, text=GENRE)):
            tags.add(frame)
        tags.save(HERE / name, v2_version=version)
    # The same MP3 with an ID3v2.3 tag, to check Sentio keeps the file's version.
    (HERE / "vibe_ace_v23.mp3").write_bytes((HERE / "vibe_ace.mp3").read_bytes())
    tags = ID3(HERE / "vibe_ace_v23.mp3")
    tags.update_to_v23()
    tags.save(HERE / "vibe_ace_v23.mp3", v2_version=3)

    for cls, name in ((FLAC, "vibe_ace.flac"), (OggVorbis, "vibe_ace.ogg"), (OggOpus, "vibe_ace.opus")):
        f = cls(HERE / name)
        f["title"], f["artist"], f["album"], f["genre"] = TITLE, ARTIST, ALBUM, GENRE
        f.save()
    for name in ("vibe_ace_aac.m4a", "vibe_ace_alac.m4a"):
        f = MP4(HERE / name)
        f["\xa9nam"], f["\xa9ART"], f["\xa9alb"], f["\xa9gen"] = TITLE, ARTIST, ALBUM, GENRE
        f.save()
    for name in ("vibe_ace.wav", "vibe_ace.aiff"):
        from mutagen import File
        f = File(HERE / name)
        f.add_tags()
        f.tags.add(TIT2(encoding=3, text=TITLE))
        f.tags.add(TPE1(encoding=3, text=ARTIST))
        f.save()


if __name__ == "__main__":
    main()
