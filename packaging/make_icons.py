"""Draw the app icon with Pillow and write the PNG set, a Windows .ico and a macOS .icns.

The motif is a residual block: three stacked layers and the skip connection that curves past
them, on a rounded blue square. Drawn once at 1024 px and downsampled (LANCZOS) for every size,
so small sizes stay smooth. Run ``python packaging/make_icons.py`` to regenerate assets/icons/.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = REPO_ROOT / "assets" / "icons"
APP_ID = "resnet-desktop"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
MASTER = 1024

BACKGROUND_TOP = (37, 99, 235)  # blue
BACKGROUND_BOTTOM = (30, 58, 138)  # deep blue
LAYER = (255, 255, 255)
SKIP = (251, 191, 36)  # amber


def _rounded_mask(size: int, radius: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=radius, fill=255)
    return mask


def _gradient(size: int) -> Image.Image:
    """A vertical gradient, built as a 1-px column and stretched (fast, no per-pixel loop)."""
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        pairs = zip(BACKGROUND_TOP, BACKGROUND_BOTTOM, strict=True)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in pairs))
    return column.resize((size, size))


def draw_master(size: int = MASTER) -> Image.Image:
    """The icon at ``size`` px (RGBA, transparent outside the rounded square)."""
    s = size / 1024
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    icon.paste(_gradient(size), (0, 0), _rounded_mask(size, round(200 * s)))
    draw = ImageDraw.Draw(icon)

    # Three layers of the block, left of centre.
    left, right, height = round(230 * s), round(640 * s), round(120 * s)
    tops = (round(250 * s), round(452 * s), round(654 * s))
    for top in tops:
        draw.rounded_rectangle((left, top, right, top + height), radius=round(40 * s), fill=LAYER)
    # Arrows between layers (short stems).
    stem = round(28 * s)
    centre = (left + right) // 2
    for upper, lower in itertools.pairwise(tops):
        draw.rectangle((centre - stem // 2, upper + height, centre + stem // 2, lower), fill=LAYER)

    # The skip connection: an arc from the top layer round to the bottom one, on the right.
    width = round(56 * s)
    top_y = tops[0] + height // 2
    bottom_y = tops[2] + height // 2
    radius = (bottom_y - top_y) // 2
    join_x = right + round(110 * s)  # the arc's centre; PIL draws the arc's width inwards
    half = width // 2
    box = (join_x - radius - half, top_y - half, join_x + radius + half, bottom_y + half)
    draw.arc(box, start=270, end=90, fill=SKIP, width=width)
    # Short horizontal runs joining the arc to the layers.
    draw.rectangle((right - round(10 * s), top_y - width // 2, join_x, top_y + width // 2 - 1), fill=SKIP)
    draw.rectangle((right - round(10 * s), bottom_y - width // 2 + 1, join_x, bottom_y + width // 2), fill=SKIP)
    # The "+" where the skip joins: a circle on the bottom layer's right end.
    plus_r = round(62 * s)
    cx, cy = right, bottom_y
    draw.ellipse((cx - plus_r, cy - plus_r, cx + plus_r, cy + plus_r), fill=SKIP)
    bar = round(14 * s)
    arm = round(34 * s)
    draw.rectangle((cx - arm, cy - bar, cx + arm, cy + bar), fill=BACKGROUND_BOTTOM)
    draw.rectangle((cx - bar, cy - arm, cx + bar, cy + arm), fill=BACKGROUND_BOTTOM)
    return icon


def _save_atomic(image: Image.Image, path: Path, **params: object) -> None:
    """Write via a temp file in the same folder and os.replace, so no half-written icon remains."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        image.save(tmp, **params)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_icons(out_dir: Path = ICON_DIR) -> list[Path]:
    """Write ``<app>-<N>.png`` for each size, ``<app>.ico`` and ``<app>.icns``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    written = []
    for size in PNG_SIZES:
        path = out_dir / f"{APP_ID}-{size}.png"
        _save_atomic(master.resize((size, size), Image.Resampling.LANCZOS), path, format="PNG", optimize=True)
        written.append(path)
    ico = out_dir / f"{APP_ID}.ico"
    _save_atomic(master, ico, format="ICO", sizes=[(n, n) for n in ICO_SIZES])
    icns = out_dir / f"{APP_ID}.icns"
    _save_atomic(master, icns, format="ICNS")
    written += [ico, icns]
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output folder (default: assets/icons)")
    args = parser.parse_args()
    for path in write_icons(args.out):
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
