"""Crash-safe file rewrites: a copy next to the file is changed, synced and renamed over it.

``atomic_rewrite(path)`` yields a writable file object holding a byte copy of ``path`` in a temporary
file of the same folder (``.NAME.sentio-tmp-XXXXXXXX``); when the block exits cleanly the copy is
flushed, fsynced and ``os.replace``-d over the original, then the folder is fsynced. Whatever instant
the process dies, the path holds either the old file or the new one; a killed run only leaves a
temporary file, which ``clean_leftovers`` (called by the scanner and the tag writer) removes.

Refused, with one sentence (the file is left as it is):
- hard-linked files (a rename would split the links: the other names would keep the old tags);
- files owned by another user when Sentio cannot give the copy the same owner;
- read-only folders (no room for the copy), a full disk, and a file that changes, is replaced or is
  deleted while it is being rewritten (or since ``expected`` was taken).

Symbolic links are followed: the file they point to is rewritten, the link stays.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple

from sentio_desktop.errors import FileChangedError, TagWriteError

try:  # POSIX: a live writer holds a lock on its temporary file, so clean-up never takes it away
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TEMP_MARKER = ".sentio-tmp-"
_TEMP_NAME = re.compile(r"^\.(?P<original>.+)" + re.escape(TEMP_MARKER) + r"[A-Za-z0-9_]+$", re.DOTALL)
_MAX_NAME_BYTES = 255 - len(TEMP_MARKER) - 1 - 8  # '.' + name + marker + mkstemp's 8 characters


class FileIdentity(NamedTuple):
    """What tells one version of a file from another without reading it."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_identity(path: str | os.PathLike[str]) -> FileIdentity | None:
    """The file's identity now, or None when it does not exist (or cannot be stat-ed)."""
    try:
        return FileIdentity.of(os.stat(path))
    except OSError:
        return None


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of Sentio's temporary copies (never music to scan)."""
    return TEMP_MARKER in name and _TEMP_NAME.match(name) is not None


@contextmanager
def atomic_rewrite(path: str | os.PathLike[str], keep_mtime: bool = False,
                   expected: FileIdentity | None = None) -> Iterator[BinaryIO]:
    """Yield a writable copy of ``path``; on a clean exit it atomically replaces ``path``.

    ``expected``: the identity the file had when it was read (or analysed); if the file on disk is
    no longer that one, nothing is written and ``FileChangedError`` says so. On any error the copy is
    removed and the original is untouched. Raises ``TagWriteError`` (one sentence naming the file).
    """
    shown = Path(path)
    target = Path(os.path.realpath(path))
    before = _stat_for_rewrite(shown, target, expected)
    handle, temp = _create_temp(shown, target, before)
    try:
        _copy_into(shown, target, before, handle)
        _copy_metadata(target, temp, before)
        yield handle
        handle.flush()
        if keep_mtime:
            os.utime(temp, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.fsync(handle.fileno())
        if file_identity(target) != FileIdentity.of(before):
            raise _changed(shown, "while its tags were being written")
        os.replace(temp, target)
        temp = None
        _fsync_folder(target.parent)
    except OSError as exc:
        raise write_error(shown, exc) from exc
    finally:
        handle.close()
        if temp is not None:
            _remove_quietly(temp)


def _stat_for_rewrite(shown: Path, target: Path, expected: FileIdentity | None) -> os.stat_result:
    try:
        before = os.stat(target)
    except FileNotFoundError as exc:
        if expected is not None:
            raise _changed(shown, "since it was read", deleted=True) from exc
        raise TagWriteError(f"Cannot write tags to {shown}: the file no longer exists.") from exc
    except OSError as exc:
        raise write_error(shown, exc) from exc
    if expected is not None and FileIdentity.of(before) != expected:
        raise _changed(shown, "since it was read")
    if not stat.S_ISREG(before.st_mode):
        raise TagWriteError(f"Cannot write tags to {shown}: it is not a regular file.")
    if before.st_nlink > 1:
        raise TagWriteError(f"Cannot write tags to {shown} safely: it has {before.st_nlink} hard links, and"
                            f" replacing it would leave the other names with the old tags (copy the file"
                            f" to break the link, then write again).")
    if hasattr(os, "geteuid") and os.geteuid() not in (0, before.st_uid):
        raise TagWriteError(f"Cannot write tags to {shown} safely: it belongs to another user, and Sentio"
                            f" writes a new copy of the file that would become yours.")
    return before


def _create_temp(shown: Path, target: Path, before: os.stat_result) -> tuple[BinaryIO, Path | None]:
    """An empty, locked temporary file next to ``target``."""
    name = target.name.encode("utf-8", "surrogateescape")[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{name}{TEMP_MARKER}", dir=target.parent)
    except OSError as exc:
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
            raise TagWriteError(f"Cannot write tags to {shown}: its folder is read-only (Sentio writes"
                                f" the new version next to the file and renames it over the old one).") from exc
        raise write_error(shown, exc) from exc
    handle = open(fd, "r+b")  # noqa: SIM115 - closed by atomic_rewrite
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    return handle, Path(temp_name)


def _copy_into(shown: Path, target: Path, before: os.stat_result, handle: BinaryIO) -> None:
    """Byte copy of ``target`` into ``handle``; in the kernel (or a reflink) where it can."""
    with open(target, "rb") as source:
        if FileIdentity.of(os.fstat(source.fileno())) != FileIdentity.of(before):
            raise _changed(shown, "while its tags were being written")
        copied = 0
        if hasattr(os, "copy_file_range"):
            try:
                while copied < before.st_size:
                    step = os.copy_file_range(source.fileno(), handle.fileno(), before.st_size - copied)
                    if step == 0:
                        break
                    copied += step
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                    raise
                copied = 0  # not supported here: copy in user space
        if copied != before.st_size:
            source.seek(0)
            handle.seek(0)
            handle.truncate()
            shutil.copyfileobj(source, handle, 1024 * 1024)
    handle.seek(0)


def _copy_metadata(target: Path, temp: Path | None, before: os.stat_result) -> None:
    """Permissions, times, extended attributes (ACLs) and, where allowed, the owner and group."""
    shutil.copystat(target, temp)
    if hasattr(os, "chown"):
        for uid in (before.st_uid, -1):
            try:
                os.chown(temp, uid, before.st_gid)
                break
            except PermissionError:
                continue  # not the owner's groups: the group becomes the writer's own
        os.chmod(temp, stat.S_IMODE(before.st_mode))  # chown may have cleared set-id bits


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); folders cannot be opened this way on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _changed(shown: Path, when: str, deleted: bool = False) -> FileChangedError:
    what = "was deleted" if deleted or not os.path.exists(shown) else "was changed or replaced"
    return FileChangedError(f"{shown} {what} {when}; Sentio left it as it is and did not write its tags.")


def write_error(shown: Path, exc: OSError) -> TagWriteError:
    if isinstance(exc, TagWriteError):
        return exc
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TagWriteError(f"Cannot write tags to {shown}: the disk is full (a safe write needs room for"
                             f" one more copy of the file); the file was left as it was.")
    if exc.errno == errno.EROFS:
        return TagWriteError(f"Cannot write tags to {shown}: it is on a read-only file system.")
    if isinstance(exc, PermissionError):
        return TagWriteError(f"Cannot write tags to {shown}: permission denied (the file or its folder is"
                             f" read-only or locked).")
    if isinstance(exc, FileNotFoundError):
        if os.path.exists(shown):  # the copy, not the file, went missing
            return TagWriteError(f"Cannot write tags to {shown}: its temporary copy was removed by another"
                                 f" program; the file was left as it was.")
        return _changed(shown, "while its tags were being written", deleted=True)
    return TagWriteError(f"Cannot write tags to {shown}: {(exc.strerror or str(exc)).lower().rstrip('.')}.")


@dataclass
class Leftovers:
    """What ``clean_leftovers`` did with the temporary files of killed runs."""

    removed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was kept)


def clean_leftovers(folder: str | os.PathLike[str], names: list[str] | None = None) -> Leftovers:
    """Remove Sentio's temporary copies in ``folder`` left by a killed run (``names``: those already
    found by a listing). A copy whose original is missing is kept and reported (it may be the only
    copy left, after a crash on a file system whose rename is not atomic); copies a live writer still
    holds are left alone."""
    result = Leftovers()
    if names is None:
        try:
            names = [entry.name for entry in os.scandir(folder) if is_temp_name(entry.name)]
        except OSError:
            return result
    for name in names:
        temp = os.path.join(folder, name)
        match = _TEMP_NAME.match(name)
        if match is None or _in_use(temp):
            continue
        original = os.path.join(folder, match.group("original"))
        if not os.path.exists(original):
            result.kept.append((temp, f"a copy left by an interrupted tag write, but {original} is missing:"
                                      f" check it and rename it back, or delete it"))
            continue
        try:
            os.unlink(temp)
            result.removed.append(temp)
        except FileNotFoundError:
            continue
        except OSError as exc:
            result.kept.append((temp, f"a copy left by an interrupted tag write that cannot be removed"
                                      f" ({(exc.strerror or str(exc)).lower()})"))
    return result


def _in_use(temp: str) -> bool:
    """Whether a live writer holds ``temp`` (its lock); False where locks are unavailable."""
    if fcntl is None:
        return False
    try:
        fd = os.open(temp, os.O_RDONLY)
    except OSError:
        return True  # gone or unreadable: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
