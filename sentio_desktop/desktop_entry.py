"""`sentio install-desktop`: put Sentio in the Linux desktop's application menu (freedesktop.org).

Writes, for the current user (no root, works from a wheel or pipx install):

    $XDG_DATA_HOME/applications/sentio.desktop                 (default ~/.local/share/...)
    $XDG_DATA_HOME/icons/hicolor/scalable/apps/sentio.svg

The entry starts the `sentio` next to the running interpreter by absolute path, so it works even when
the desktop session's PATH lacks ~/.local/bin (pipx) or a venv's bin/. `--uninstall` removes both.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from sentio_desktop.errors import SentioError

APP_ID = "sentio"
ICON_FILE = "sentio.svg"


class DesktopEntryError(SentioError):
    """The menu entry or icon could not be written or removed."""


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share when unset or not absolute (as the XDG spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "share"


def entry_path(home: Path | None = None) -> Path:
    return (home or data_home()) / "applications" / f"{APP_ID}.desktop"


def icon_path(home: Path | None = None) -> Path:
    return (home or data_home()) / "icons" / "hicolor" / "scalable" / "apps" / ICON_FILE


# Characters that make an Exec= argument need double quotes (desktop entry spec, "The Exec key")
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def launch_argv() -> list[str]:
    """This installation's `sentio` script, else this interpreter running the CLI module."""
    script = Path(sys.executable).parent / "sentio"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sentio_desktop.cli"]


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\")


def exec_argument(arg: str) -> str:
    """One Exec= argument: quoted when needed, then the string escape of backslashes; a literal % is %%."""
    if any(char in _RESERVED for char in arg):
        arg = '"' + re.sub(r'(["`$\\\\])', r"\\\1", arg) + '"'
    return _escape_value(arg.replace("%", "%%"))


def desktop_entry(argv: list[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=Sentio\n"
        "GenericName=Music Mood Tagger\n"
        "Comment=Tag music with valence and arousal, see it on a mood map and build mood playlists\n"
        f"Exec={' '.join(exec_argument(a) for a in argv)}\n"
        f"TryExec={_escape_value(argv[0])}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "Categories=AudioVideo;Audio;\n"
        "Keywords=mood;valence;arousal;playlist;tags;music;\n"
        "StartupNotify=true\n"
    )


def install(home: Path | None = None) -> tuple[Path, Path]:
    """Write the icon and the entry; returns their paths. Re-running replaces them (e.g. after a move)."""
    entry, icon = entry_path(home), icon_path(home)
    try:
        icon.parent.mkdir(parents=True, exist_ok=True)
        icon.write_bytes(files("sentio_desktop").joinpath("resources", ICON_FILE).read_bytes())
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_suffix(".desktop.part")
        partial.write_text(desktop_entry(launch_argv()), encoding="utf-8")
        partial.replace(entry)  # a menu never sees half an entry
    except OSError as exc:
        raise DesktopEntryError(f"Cannot write the menu entry under {entry.parent.parent}: "
                                f"{exc.strerror or exc}.") from exc
    _refresh_menus(entry.parent)
    return entry, icon


def uninstall(home: Path | None = None) -> list[Path]:
    removed = []
    for path in (entry_path(home), icon_path(home)):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DesktopEntryError(f"Cannot remove {path}: {exc.strerror or exc}.") from exc
    return removed


def _refresh_menus(applications: Path) -> None:
    """Menus pick new entries up on their own; this only speeds it up where the tool exists."""
    tool = shutil.which("update-desktop-database")
    if tool:
        subprocess.run([tool, str(applications)], capture_output=True, check=False, timeout=30)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("install-desktop", help="add Sentio to the desktop's application menu (Linux)",
                       description="Write a menu entry and an icon for this user under $XDG_DATA_HOME "
                                   "(~/.local/share): applications/sentio.desktop and "
                                   "icons/hicolor/scalable/apps/sentio.svg.")
    p.add_argument("--uninstall", action="store_true", help="remove the menu entry and icon again")
    p.set_defaults(func=cmd_install_desktop)


def cmd_install_desktop(ctx: Any) -> int:
    if ctx.args.uninstall:
        removed = uninstall()
        print("Removed " + ", ".join(map(str, removed)) + "." if removed else "No Sentio menu entry to remove.")
        return 0
    entry, icon = install()
    print(f"Menu entry: {entry}\nIcon:       {icon}")
    return 0
