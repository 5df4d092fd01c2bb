"""`sentio install-desktop`: a valid menu entry and icon under $XDG_DATA_HOME, removable again."""
from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sentio_desktop import desktop_entry
from sentio_desktop.cli import EXIT_ERROR, EXIT_OK, main


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@pytest.fixture
def xdg(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_install_writes_a_valid_entry_and_icon_and_uninstall_removes_them(xdg, tmp_path, capsys):
    config = ["--config", str(tmp_path / "settings.toml")]
    assert main([*config, "install-desktop"]) == EXIT_OK
    entry, icon = xdg / "applications" / "sentio.desktop", xdg / "icons" / "hicolor" / "scalable" / "apps" / "sentio.svg"
    assert str(entry) in capsys.readouterr().out

    fields = read_entry(entry)
    assert fields["Type"] == "Application" and fields["Name"] == "Sentio" and fields["Icon"] == "sentio"
    assert fields["Terminal"] == "false" and "Audio;" in fields["Categories"]
    argv = shlex.split(fields["Exec"])
    assert Path(argv[0]).is_file() and Path(fields["TryExec"]).is_file()  # an absolute, existing launcher
    assert argv[1:] in ([], ["-m", "sentio_desktop.cli"])
    assert ET.parse(icon).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    validator = shutil.which("desktop-file-validate")
    if validator:  # desktop-file-utils, where installed
        result = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    assert main([*config, "install-desktop", "--uninstall"]) == EXIT_OK
    assert not entry.exists() and not icon.exists()
    assert main([*config, "install-desktop", "--uninstall"]) == EXIT_OK
    assert "No Sentio menu entry" in capsys.readouterr().out


def test_exec_quotes_paths_with_spaces_and_reserved_characters():
    assert desktop_entry.exec_argument("/usr/bin/sentio") == "/usr/bin/sentio"
    assert desktop_entry.exec_argument("/home/a b/bin/sentio") == '"/home/a b/bin/sentio"'
    # quote level: \$ and \" ; then the string level doubles every backslash
    assert desktop_entry.exec_argument('/x/$y"z') == '"/x/\\\\$y\\\\"z"'
    assert desktop_entry.exec_argument("/music/100%") == "/music/100%%"
    text = desktop_entry.desktop_entry(["/home/a b/bin/sentio"])
    assert 'Exec="/home/a b/bin/sentio"\n' in text and "TryExec=/home/a b/bin/sentio\n" in text


def test_an_unwritable_data_folder_is_one_sentence(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["--config", str(tmp_path / "settings.toml"), "install-desktop"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.startswith("sentio: Cannot write the menu entry under") and err.count("\n") == 0
