"""Where bundled files (icons, sample photos) live, in a checkout and in a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png")


def assets_dir() -> Path:
    """The ``assets/`` folder: next to the package in a checkout, in ``_MEIPASS`` when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


def sample_images() -> list[Path]:
    """The sample photos shipped for "Try sample images" and the self-test, sorted by name."""
    folder = assets_dir() / "samples"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)


def readme_file() -> Path:
    """The README (the user guide Help opens): the checkout's, or the copy bundled with the frozen app."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "README.md"
    return Path(__file__).resolve().parent.parent / "README.md"
