"""Crash-safe tag writes (tags/atomic.py): full disk, read-only folder, leftovers of killed runs, hard and
symbolic links, files changed or deleted while being analysed. Each failure is one sentence and leaves
the file exactly as it was."""
from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import pytest

from sentio_desktop.analysis import AnalysisService
from sentio_desktop.errors import FileChangedError, TagWriteError
from sentio_desktop.library import Library
from sentio_desktop.scanner import scan
from sentio_desktop.settings import Settings
from sentio_desktop.tags import (
    MoodTags,
    atomic,
    clean_leftovers,
    file_identity,
    is_temp_name,
    read_mood_tags,
    write_mood_tags,
)
from sentio_desktop.tagsync import TagJob, TagWriter

fcntl = pytest.importorskip("fcntl")  # POSIX: the lock that tells a live writer's copy from a leftover
FIXTURES = Path(__file__).resolve().parents[1] / "data"
VALUES = MoodTags(valence=0.7, arousal=0.2, mood="serene", model="sentio-small@1.0")


def temp_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if is_temp_name(name)]


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.parametrize("stage", ["copy", "fsync"])
def test_disk_full_is_one_sentence_and_loses_nothing(fixture_copy, monkeypatch, stage: str) -> None:
    full = fixture_copy("vibe_ace.flac")
    fine = fixture_copy("vibe_ace.ogg")
    before = full.read_bytes()

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "copy":  # the copy of the file does not fit
        real_copy = atomic._copy_into
        monkeypatch.setattr(atomic, "_copy_into", lambda shown, *rest: (
            no_space() if shown.name == full.name else real_copy(shown, *rest)))
    else:  # the file system reports it late, at fsync (delayed allocation, quotas, network shares)
        real_fsync = os.fsync
        monkeypatch.setattr(atomic.os, "fsync", lambda fd: (
            no_space() if os.path.getsize(f"/proc/self/fd/{fd}") > 200_000 else real_fsync(fd)))
    writer = TagWriter()
    writer.submit(TagJob(1, None, str(full), VALUES))
    writer.submit(TagJob(2, None, str(fine), VALUES))
    failed, written = writer.close()
    assert failed.error == f"Cannot write tags to {full}: the disk is full (a safe write needs room for one more" \
                           f" copy of the file); the file was left as it was."
    assert full.read_bytes() == before and temp_files(full.parent) == []
    assert written.error is None and read_mood_tags(fine).mood == "serene"  # the next file is still written


def test_copy_without_copy_file_range(fixture_copy, monkeypatch) -> None:
    """File systems (or kernels) where the in-kernel copy is refused: the copy is made in user space."""
    path = fixture_copy("vibe_ace.flac")
    before = path.read_bytes()

    def refused(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(atomic.os, "copy_file_range", refused, raising=False)
    write_mood_tags(path, VALUES)
    after = path.read_bytes()
    assert read_mood_tags(path).mood == "serene" and after != before
    assert after.endswith(before[-250_000:])  # FLAC's audio frames follow its tags: byte for byte


def test_read_only_folder_is_one_sentence_and_file_untouched(fixture_copy, monkeypatch) -> None:
    path = fixture_copy("vibe_ace.mp3")
    before = path.read_bytes()
    folder = path.parent
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores the mode bits; a user's process gets this from the kernel
        def refused(*_args, **_kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(atomic.tempfile, "mkstemp", refused)
    try:
        with pytest.raises(TagWriteError) as info:
            write_mood_tags(path, VALUES)
    finally:
        folder.chmod(0o755)
    assert str(info.value) == (f"Cannot write tags to {path}: its folder is read-only (Sentio writes the new"
                               f" version next to the file and renames it over the old one).")
    assert path.read_bytes() == before and temp_files(folder) == []


def test_leftovers_are_never_music_and_the_next_scan_removes_them(tmp_path: Path, library: Library) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(FIXTURES / "vibe_ace.flac", music / "song.flac")
    shutil.copy(FIXTURES / "vibe_ace.flac", music / ".song.flac.sentio-tmp-k3x9_q2a")  # a killed write's copy
    shutil.copy(FIXTURES / "vibe_ace.mp3", music / ".gone.mp3.sentio-tmp-7hd0w1zz")  # its original is missing
    report = scan(library, [music])
    assert [Path(t.path).name for t in library.tracks()] == ["song.flac"]  # never scanned as music
    assert report.leftovers_removed == 1 and not (music / ".song.flac.sentio-tmp-k3x9_q2a").exists()
    [kept] = report.problems
    assert kept.path == str(music / ".gone.mp3.sentio-tmp-7hd0w1zz") and "gone.mp3 is missing" in kept.reason
    assert (music / ".gone.mp3.sentio-tmp-7hd0w1zz").exists()  # maybe the only copy left: reported, kept
    assert "1 leftover temporary files removed" in report.summary()


def test_a_copy_in_use_by_a_live_writer_is_left_alone(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.ogg")
    temp = path.parent / f".{path.name}.sentio-tmp-abcd1234"
    shutil.copy(path, temp)
    with open(temp, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert clean_leftovers(path.parent).removed == [] and temp.exists()
    assert clean_leftovers(path.parent).removed == [str(temp)] and not temp.exists()


def test_tag_writer_cleans_a_folder_before_writing_there(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.opus")
    temp = path.parent / f".{path.name}.sentio-tmp-zz00yy11"
    shutil.copy(path, temp)
    writer = TagWriter()
    writer.submit(TagJob(1, None, str(path), VALUES))
    [result] = writer.close()
    assert result.error is None and not temp.exists() and temp_files(path.parent) == []


def test_temp_names() -> None:
    assert is_temp_name(".song.flac.sentio-tmp-ab_12cd3")
    assert not is_temp_name("song.flac") and not is_temp_name(".sentio-tmp-notes.txt")
    assert not is_temp_name("song.flac.sentio-tmp-ab12cd34")  # Sentio's copies are hidden files


def test_safe_write_keeps_mode_owner_times_and_extended_attributes(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.flac")
    path.chmod(0o640)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    try:
        os.setxattr(path, "user.sentio_test", b"kept")
    except OSError:
        pytest.skip("no user extended attributes on this file system")
    before = path.stat()
    write_mood_tags(path, VALUES, keep_mtime=True)
    after = path.stat()
    assert after.st_ino != before.st_ino  # a new file replaced the old one ...
    assert (after.st_mode, after.st_uid, after.st_gid, after.st_mtime_ns) == (
        before.st_mode, before.st_uid, before.st_gid, before.st_mtime_ns)  # ... looking just like it
    assert os.getxattr(path, "user.sentio_test") == b"kept"


def test_symbolic_link_stays_a_link(fixture_copy) -> None:
    target = fixture_copy("vibe_ace_aac.m4a")
    link = target.parent / "link.m4a"
    link.symlink_to(target)
    write_mood_tags(link, VALUES)
    assert link.is_symlink() and read_mood_tags(target).mood == "serene"


def test_hard_linked_file_is_refused_and_both_names_untouched(fixture_copy) -> None:
    path = fixture_copy("vibe_ace.wav")
    other = path.parent / "same.wav"
    os.link(path, other)
    before = path.read_bytes()
    with pytest.raises(TagWriteError, match=r"has 2 hard links") as info:
        write_mood_tags(path, VALUES)
    assert one_sentence(str(info.value))
    assert path.read_bytes() == before and os.path.samefile(path, other)


def test_file_changed_or_deleted_since_it_was_analysed(fixture_copy) -> None:
    changed, deleted, own = fixture_copy("vibe_ace.mp3"), fixture_copy("vibe_ace.flac"), fixture_copy("vibe_ace.ogg")
    expected = {path: file_identity(path) for path in (changed, deleted, own)}
    shutil.copy(FIXTURES / "vibe_ace_v23.mp3", changed)  # another version of the song, same name
    os.utime(changed, ns=(1, 1))
    replacement = changed.read_bytes()
    deleted.unlink()
    writer = TagWriter()
    writer.submit(TagJob(1, None, str(own), MoodTags(mood="first")))  # Sentio's own write, queued earlier
    for track_id, path in enumerate((changed, deleted, own), start=2):
        writer.submit(TagJob(track_id, None, str(path), VALUES, expected[path]))
    first, was_changed, was_deleted, second = writer.close()
    assert was_changed.error == (f"{changed} was changed or replaced since it was analysed; Sentio left it as it"
                                 f" is and did not write its tags.")
    assert was_deleted.error == (f"{deleted} was deleted since it was analysed; Sentio left it as it is and did"
                                 f" not write its tags.")
    assert changed.read_bytes() == replacement and not deleted.exists()
    assert first.error is second.error is None and read_mood_tags(own).mood == "serene"


def test_file_changed_during_the_write_itself(fixture_copy, monkeypatch) -> None:
    path = fixture_copy("vibe_ace.aiff")

    def edited_meanwhile(shown, target, before, handle):  # another program appends while Sentio copies
        real_copy(shown, target, before, handle)
        with open(target, "ab") as other:
            other.write(b"\0" * 16)

    real_copy = atomic._copy_into
    monkeypatch.setattr(atomic, "_copy_into", edited_meanwhile)
    with pytest.raises(FileChangedError, match="was changed or replaced while its tags were being written"):
        write_mood_tags(path, VALUES)
    assert path.stat().st_size == (FIXTURES / "vibe_ace.aiff").stat().st_size + 16  # the other program's edit kept
    assert read_mood_tags(path).empty and temp_files(path.parent) == []


def test_file_deleted_during_the_write_is_not_brought_back(fixture_copy, monkeypatch) -> None:
    path = fixture_copy("vibe_ace.opus")
    real_copy = atomic._copy_into

    def deleted_meanwhile(shown, target, before, handle):
        real_copy(shown, target, before, handle)
        os.unlink(target)

    monkeypatch.setattr(atomic, "_copy_into", deleted_meanwhile)
    with pytest.raises(FileChangedError) as info:
        write_mood_tags(path, VALUES)
    assert str(info.value) == (f"{path} was deleted while its tags were being written; Sentio left it as it is and"
                               f" did not write its tags.")
    assert os.listdir(path.parent) == []  # neither the file nor a copy of it


def test_analysis_leaves_files_replaced_or_deleted_while_analysed(tmp_path: Path, library: Library,
                                                                  tiny_settings: Settings, monkeypatch) -> None:
    music = tmp_path / "music"
    music.mkdir()
    for name in ("vibe_ace.flac", "vibe_ace.ogg", "vibe_ace.wav"):
        shutil.copy(FIXTURES / name, music / name)
    service = AnalysisService(library, tiny_settings)
    predictor = service.predictor()
    real_iter = predictor.predict_iter

    def meddling_iter(paths, **kwargs):
        for prediction in real_iter(paths, **kwargs):
            name = Path(prediction.path).name
            if name == "vibe_ace.ogg":  # the user saves another file under the same name meanwhile
                (music / "new.ogg").write_bytes((FIXTURES / "vibe_ace.opus").read_bytes())
                os.replace(music / "new.ogg", prediction.path)
            elif name == "vibe_ace.wav":
                os.unlink(prediction.path)
            yield prediction

    monkeypatch.setattr(predictor, "predict_iter", meddling_iter)
    summary = service.run([music])
    assert summary.analysed == 3 and summary.tags_written == 1
    reasons = dict(summary.tag_failures)
    assert reasons[str(music / "vibe_ace.ogg")].endswith("was changed or replaced since it was analysed; Sentio"
                                                         " left it as it is and did not write its tags.")
    assert "was deleted since it was analysed" in reasons[str(music / "vibe_ace.wav")]
    assert (music / "vibe_ace.ogg").read_bytes() == (FIXTURES / "vibe_ace.opus").read_bytes()
    assert not (music / "vibe_ace.wav").exists() and read_mood_tags(music / "vibe_ace.flac").valence is not None
    assert len(library.tracks()) == 3  # every analysis is kept in the library
