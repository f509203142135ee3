"""Before ``make run``: are the system libraries Qt's X11 (xcb) platform plugin needs installed?

PySide6 wheels bundle Qt but not the X11/GL/font libraries of the system. When one is missing Qt
only says "Could not load the Qt platform plugin "xcb" ... even though it was found", which tells
a person nothing. This runs ``ldd`` on the plugin and the Qt libraries it loads and prints the
``apt-get`` line for what is missing. It installs nothing. Exit status 1 when something is missing.

    .venv/bin/python tools/check_qt_libs.py
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: soname -> Debian/Ubuntu package (the libraries the Qt 6 xcb plugin, Gui and Widgets link or dlopen).
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

#: Relative to PySide6/Qt: the xcb plugin and the Qt libraries it pulls in.
CHECKED = (
    "plugins/platforms/libqxcb.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Gui.so.6",
    "lib/libQt6Widgets.so.6",
    "lib/libQt6DBus.so.6",
)


def qt_dir() -> Path | None:
    """PySide6's bundled Qt folder, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def missing_sonames(ldd_output: str) -> list[str]:
    """The ``libfoo.so.N => not found`` lines of ``ldd`` output, in order, without repeats."""
    found: list[str] = []
    for line in ldd_output.splitlines():
        name, _, rest = line.strip().partition("=>")
        if rest.strip() == "not found" and name.strip() not in found:
            found.append(name.strip())
    return found


def apt_command(sonames: list[str]) -> str:
    packages = sorted({PACKAGES.get(name, name) for name in sonames})
    return "sudo apt-get install " + " ".join(packages)


def check(qt: Path, ldd: str = "ldd") -> list[str]:
    """Missing sonames for the xcb plugin and the Qt libraries it loads."""
    missing: list[str] = []
    for relative in CHECKED:
        library = qt / relative
        if not library.is_file():
            continue
        result = subprocess.run([ldd, str(library)], capture_output=True, text=True, check=False)
        missing += [name for name in missing_sonames(result.stdout) if name not in missing]
    return missing


def main() -> int:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return 0  # only the X11 plugin needs these; macOS, Windows, offscreen and Wayland are fine
    qt = qt_dir()
    ldd = shutil.which("ldd")
    if qt is None or ldd is None:
        return 0  # nothing to check with: let Qt speak for itself
    missing = check(qt, ldd)
    if not missing:
        return 0
    print(
        "ResNet Desktop cannot start its window: Qt's X11 plugin needs system libraries that are not "
        f"installed ({', '.join(missing)}).\nOn Debian/Ubuntu install them with:\n\n    {apt_command(missing)}\n",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
