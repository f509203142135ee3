"""Wrap the PyInstaller one-folder bundle into a Debian package with ``dpkg-deb``.

Layout of the package:
  /opt/resnet-desktop/                  the bundle (executable + _internal/)
  /usr/bin/resnet-desktop               a two-line launcher script
  /usr/share/applications/resnet-desktop.desktop
  /usr/share/icons/hicolor/NxN/apps/resnet-desktop.png
  /usr/share/doc/resnet-desktop/copyright

The bundle is staged with hard links (no 4 GB copy) and compressed with a fast zstd level: the
CUDA libraries dominate the size and barely compress at any level, so a high level only costs time.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from resnet_desktop.bundle import CPU_ONLY_MARKER

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "resnet-desktop"
INSTALL_DIR = f"/opt/{PACKAGE}"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Libraries the bundled Qt (xcb platform plugin) and torch expect from the system; PyInstaller
# deliberately leaves graphics-stack and C-runtime libraries to the host.
DEPENDS = (
    "libc6 (>= 2.28)",
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "libfreetype6",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libdbus-1-3",
)
DESCRIPTION = """Classify, inspect and re-train ResNet image classifiers{edition}
 ResNet Desktop classifies photos with ImageNet ResNets (top-5 labels), shows
 feature maps and Grad-CAM heatmaps, and fine-tunes a new head on a labeled
 folder of your own photos. {devices}
 .
 Run "resnet-desktop --self-test" to check the installation."""
DEVICES_CUDA = "Runs on the CPU, or on an NVIDIA GPU when present."
DEVICES_CPU = "This CPU-only edition never uses a GPU\n and is about a third the size of the CUDA edition."

LAUNCHER = f"""#!/bin/sh
exec {INSTALL_DIR}/{PACKAGE} "$@"
"""

POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
fi
exit 0
"""

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: resnet-desktop

Files: *
License: MIT
Comment: The bundle also contains PyTorch, torchvision, Qt for Python (LGPLv3), NVIDIA CUDA
 libraries (NVIDIA EULA), Pillow and numpy under their own licences; sample photos are listed
 in /opt/resnet-desktop/_internal/assets/samples/LICENSES.md.
"""


def debian_arch() -> str:
    """The host's Debian architecture name (amd64, arm64)."""
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True).stdout.strip()


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link when possible (same file system): staging a multi-GB bundle then costs nothing."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _dir_size_kib(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024 + 1


def control_text(version: str, arch: str, installed_kib: int, *, cpu_only: bool = False) -> str:
    """The DEBIAN/control file."""
    description = DESCRIPTION.format(
        edition=" (CPU-only)" if cpu_only else "", devices=DEVICES_CPU if cpu_only else DEVICES_CUDA
    )
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: ResNet Desktop developers <resnet-desktop@users.noreply.github.com>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(DEPENDS)}\n"
        "Section: graphics\n"
        "Priority: optional\n"
        f"Description: {description}\n"
    )


def stage(bundle: Path, root: Path, version: str, arch: str) -> None:
    """Lay out the package tree under ``root`` (DEBIAN/ included)."""
    shutil.copytree(bundle, root / INSTALL_DIR.lstrip("/"), symlinks=True, copy_function=_link_or_copy)
    _write(root / "usr/bin" / PACKAGE, LAUNCHER, 0o755)
    desktop = REPO_ROOT / "assets" / f"{PACKAGE}.desktop"
    _write(root / "usr/share/applications" / desktop.name, desktop.read_text(encoding="utf-8"))
    icons = REPO_ROOT / "assets" / "icons"
    for size in ICON_SIZES:
        target = root / f"usr/share/icons/hicolor/{size}x{size}/apps/{PACKAGE}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(icons / f"{PACKAGE}-{size}.png", target)
        target.chmod(0o644)
    _write(root / f"usr/share/doc/{PACKAGE}/copyright", COPYRIGHT)
    installed_kib = _dir_size_kib(root)
    cpu_only = (bundle / "_internal" / CPU_ONLY_MARKER).is_file()
    _write(root / "DEBIAN/control", control_text(version, arch, installed_kib, cpu_only=cpu_only))
    _write(root / "DEBIAN/postinst", POSTINST, 0o755)
    _write(root / "DEBIAN/postrm", POSTRM, 0o755)


def build_deb(
    bundle: Path,
    out_dir: Path,
    version: str,
    *,
    arch: str | None = None,
    compressor: str = "zstd",
    level: int = 3,
    staging_parent: Path | None = None,
) -> Path:
    """Build ``<out_dir>/resnet-desktop_<version>_<arch>.deb`` from ``bundle``; return its path.

    The package is written under a temporary name and renamed into place, so a failed or
    interrupted build never leaves a truncated ``.deb`` that looks finished.
    """
    bundle = Path(bundle)
    if not (bundle / PACKAGE).is_file():
        raise FileNotFoundError(f"{bundle}: no '{PACKAGE}' executable here; build the bundle first")
    arch = arch or debian_arch()
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
    # Stage next to the bundle by default, so hard links work (same file system).
    staging_parent = staging_parent or bundle.parent
    with tempfile.TemporaryDirectory(prefix=".deb-staging-", dir=staging_parent) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        root.chmod(0o755)
        stage(bundle, root, version, arch)
        fd, partial = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=out_dir)
        os.close(fd)
        try:
            subprocess.run(
                ["dpkg-deb", "--root-owner-group", f"-Z{compressor}", f"-z{level}", "--build", str(root), partial],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            os.chmod(partial, 0o644)  # mkstemp makes it private; a package is for everyone to read
            os.replace(partial, final)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return final


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from resnet_desktop import __version__

    parser = argparse.ArgumentParser(description="Build the .deb from an existing PyInstaller bundle.")
    parser.add_argument("--bundle", type=Path, default=REPO_ROOT / "dist" / PACKAGE)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist")
    parser.add_argument("--compressor", default="zstd", choices=("zstd", "gzip", "xz", "none"))
    parser.add_argument("--level", type=int, default=3)
    args = parser.parse_args(argv)
    deb = build_deb(args.bundle, args.out, __version__, compressor=args.compressor, level=args.level)
    print(f"{deb} ({deb.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
