"""tools/check_qt_libs.py (run by ``make run``): names the apt packages for missing Qt system libraries."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "check_qt_libs.py"


@pytest.fixture
def tool():
    spec = importlib.util.spec_from_file_location("check_qt_libs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_qt(tmp_path: Path, ldd_lines: str) -> tuple[Path, Path]:
    """A Qt folder with the xcb plugin, and an ``ldd`` that prints ``ldd_lines`` for it (the OS edge)."""
    qt = tmp_path / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"")
    ldd = tmp_path / "ldd"
    ldd.write_text(f"#!/bin/sh\ncat <<'END'\n{ldd_lines}\nEND\n")
    ldd.chmod(ldd.stat().st_mode | stat.S_IEXEC)
    return qt, ldd


def test_missing_libraries_are_named_with_the_apt_command(tool, tmp_path: Path, monkeypatch, capsys) -> None:
    qt, ldd = _fake_qt(
        tmp_path,
        "\tlibQt6Gui.so.6 => /x/libQt6Gui.so.6 (0x1)\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibxkbcommon-x11.so.0 => not found\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibEGL.so.1 => /usr/lib/libEGL.so.1 (0x2)",
    )
    monkeypatch.setattr(tool, "qt_dir", lambda: qt)
    monkeypatch.setattr(tool.shutil, "which", lambda name: str(ldd))
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert tool.main() == 1
    err = capsys.readouterr().err
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in err
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in err


def test_nothing_missing_is_silent(tool, tmp_path: Path, monkeypatch, capsys) -> None:
    qt, ldd = _fake_qt(tmp_path, "\tlibxcb.so.1 => /usr/lib/libxcb.so.1 (0x1)")
    monkeypatch.setattr(tool, "qt_dir", lambda: qt)
    monkeypatch.setattr(tool.shutil, "which", lambda name: str(ldd))
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert tool.main() == 0
    assert capsys.readouterr().err == ""


def test_offscreen_needs_no_x11_libraries(tool, monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(tool, "check", lambda *a: pytest.fail("must not look"))
    assert tool.main() == 0


def test_every_package_in_the_readme(tool) -> None:
    """The README's apt line lists every package the script can ask for."""
    readme = (SCRIPT.parent.parent / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.strip().startswith("sudo apt-get install libxcb"))
    assert set(tool.PACKAGES.values()) <= set(line.split())
