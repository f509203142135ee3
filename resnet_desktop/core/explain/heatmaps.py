"""Turn activations and Grad-CAM maps into pictures: colormaps, channel grids, overlays (numpy + Pillow).

Qt-free so the CLI and the GUI paint the same pixels. The perceptual colormaps (viridis, inferno,
magma, plasma, cividis; CC0, by Smith, van der Walt and Firing for matplotlib) are read from the
256-entry tables that pyqtgraph, one of our dependencies, ships as data files. We locate them with
``importlib.util.find_spec`` so that pyqtgraph itself (which imports Qt) is never imported here.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from resnet_desktop.core.atomic import write_with
from resnet_desktop.core.errors import SettingsError

COLORMAPS = ("inferno", "viridis", "magma", "plasma", "cividis")
DEFAULT_COLORMAP = "inferno"
GAP_GREY = 48
Normalization = Literal["channel", "layer"]
SortKey = Literal["index", "mean", "max"]


def _colormap_file(name: str) -> Path:
    """pyqtgraph's table for ``name``: in its installed package, or in a frozen app's bundle."""
    candidates = []
    spec = importlib.util.find_spec("pyqtgraph")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))))
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller: data collected under pyqtgraph/
    if bundle:
        candidates.append(Path(bundle) / "pyqtgraph")
    for root in candidates:
        path = root / "colors" / "maps" / f"{name}.csv"
        if path.is_file():
            return path
    raise RuntimeError(
        f"The {name} colormap table (pyqtgraph/colors/maps/{name}.csv) was not found; reinstall pyqtgraph."
    )


@functools.cache
def colormap_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """A (256, 3) uint8 lookup table for one of ``COLORMAPS``."""
    if name not in COLORMAPS:
        raise SettingsError(f"Unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    rows = [
        [float(v) for v in line.split(",")[:3]]
        for line in _colormap_file(name).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(";")
    ]
    table = np.asarray(rows, dtype=np.float64)
    if len(table) != 256:  # resample to 256 entries whatever the file holds
        x = np.linspace(0.0, 1.0, len(table))
        table = np.stack([np.interp(np.linspace(0.0, 1.0, 256), x, table[:, c]) for c in range(3)], axis=1)
    lut = np.clip(np.rint(table * 255.0), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def apply_colormap(values: np.ndarray, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Map values in [0, 1] (any shape; NaN -> 0) to RGB uint8 with shape ``values.shape + (3,)``."""
    index = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    index = np.clip(np.rint(index * 255.0), 0, 255).astype(np.uint8)
    return np.take(colormap_lut(name), index, axis=0)


def normalize_maps(maps: np.ndarray, mode: Normalization = "channel") -> np.ndarray:
    """Scale (C, H, W) maps to [0, 1]: each channel by its own min/max, or all by the layer's.

    Constant channels become 0 so a dead channel reads as dark rather than as noise.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if mode == "channel":
        axes = tuple(range(1, maps.ndim))
        low = maps.min(axis=axes, keepdims=True)
        high = maps.max(axis=axes, keepdims=True)
    elif mode == "layer":
        low, high = maps.min(), maps.max()
    else:
        raise SettingsError(f"Unknown normalisation {mode!r}; use 'channel' or 'layer'")
    span = np.asarray(high - low, dtype=np.float32)
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (maps - low) / safe, 0.0).astype(np.float32)


def channel_order(maps: np.ndarray, by: SortKey = "index") -> np.ndarray:
    """Channel indices of (C, H, W) maps: as is, or by mean / max activation, strongest first."""
    count = maps.shape[0]
    if by == "index":
        return np.arange(count)
    flat = np.asarray(maps, dtype=np.float32).reshape(count, -1)
    if by == "mean":
        key = flat.mean(axis=1)
    elif by == "max":
        key = flat.max(axis=1)
    else:
        raise SettingsError(f"Unknown sort key {by!r}; use 'index', 'mean' or 'max'")
    return np.argsort(-key, kind="stable")


def grid_columns(count: int, aspect: float = 1.0) -> int:
    """Columns for a roughly ``aspect`` (width / height) grid of ``count`` square tiles."""
    return max(1, int(np.ceil(np.sqrt(count * aspect))))


def tile_grid(tiles: np.ndarray, columns: int, *, pad: int = 1, fill: float | int = 0) -> np.ndarray:
    """Arrange (N, h, w[, 3]) tiles row-major in ``columns`` with ``pad`` pixels between (vectorised).

    Returns a (rows * (h + pad) - pad, columns * (w + pad) - pad[, 3]) array of the tiles' dtype.
    Tile ``i`` starts at row ``(i // columns) * (h + pad)``, column ``(i % columns) * (w + pad)``.
    """
    tiles = np.asarray(tiles)
    count, height, width = tiles.shape[:3]
    extra = tiles.shape[3:]
    rows = max(1, -(-count // columns))
    padded = np.full((rows * columns, height + pad, width + pad, *extra), fill, dtype=tiles.dtype)
    padded[:count, :height, :width] = tiles
    grid = padded.reshape(rows, columns, height + pad, width + pad, *extra)
    grid = grid.swapaxes(1, 2).reshape(rows * (height + pad), columns * (width + pad), *extra)
    return np.ascontiguousarray(grid[: grid.shape[0] - pad, : grid.shape[1] - pad])


def tile_at(x: int, y: int, tile_size: tuple[int, int], columns: int, count: int, pad: int = 1) -> int | None:
    """The tile index under grid pixel (x, y), or None for padding and empty cells."""
    height, width = tile_size
    col, dx = divmod(int(x), width + pad)
    row, dy = divmod(int(y), height + pad)
    if x < 0 or y < 0 or col >= columns or dx >= width or dy >= height:
        return None
    index = row * columns + col
    return index if index < count else None


def render_grid(
    maps: np.ndarray,
    *,
    normalization: Normalization = "channel",
    sort: SortKey = "index",
    columns: int | None = None,
    pad: int = 1,
    colormap: str = DEFAULT_COLORMAP,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Colour every channel of (C, H, W) maps into one RGB grid image.

    Returns ``(rgb uint8 grid, order, columns)``: ``order[i]`` is the channel shown in tile ``i``.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"A channel grid needs (C, H, W) maps, got shape {maps.shape}")
    order = channel_order(maps, sort)
    columns = columns or grid_columns(maps.shape[0])
    # Colour indices first (uint16 so that 256 can mark gaps), tile those, then one LUT lookup:
    # a single pass over the big array in each step, no float grid, no mask.
    scaled = normalize_maps(maps, normalization)
    np.multiply(scaled, 255.0, out=scaled)
    np.add(scaled, 0.5, out=scaled)
    index = scaled.astype(np.uint16)[order]
    lut = np.concatenate([colormap_lut(colormap), np.full((1, 3), GAP_GREY, dtype=np.uint8)])
    rgb = np.take(lut, tile_grid(index, columns, pad=pad, fill=256), axis=0)  # np.take: faster than fancy indexing
    return rgb, order, columns


def upsample(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float (H, W) map to ``size`` = (width, height)."""
    image = Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def overlay(
    image: Image.Image | np.ndarray, heatmap: np.ndarray, opacity: float = 0.5, colormap: str = DEFAULT_COLORMAP
) -> Image.Image:
    """Blend a [0, 1] heatmap (any size; resized bilinearly) over an RGB image with ``opacity``."""
    if not 0.0 <= opacity <= 1.0:
        raise SettingsError(f"Opacity must be between 0 and 1, got {opacity}")
    base = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float32)
    height, width = base.shape[:2]
    heat = heatmap if heatmap.shape == (height, width) else upsample(heatmap, (width, height))
    colored = apply_colormap(heat, colormap).astype(np.float32)
    blended = (1.0 - opacity) * base + opacity * colored
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8), mode="RGB")


def network_box(size: tuple[int, int], resize_size: int, crop_size: int) -> tuple[int, int, int, int]:
    """The square (left, top, right, bottom) of a ``size`` photo that Resize + CenterCrop keep.

    At least one pixel on each side, so a 1-pixel-wide photo still has a (tiny) view.
    """
    width, height = size
    side = min(width, height) * crop_size / resize_size
    left, top = (width - side) / 2.0, (height - side) / 2.0
    box = [round(left), round(top), round(left + side), round(top + side)]
    if box[2] <= box[0]:
        box[0], box[2] = _one_pixel(box[0], width)
    if box[3] <= box[1]:
        box[1], box[3] = _one_pixel(box[1], height)
    return box[0], box[1], box[2], box[3]


def _one_pixel(start: int, limit: int) -> tuple[int, int]:
    start = min(max(0, start), max(0, limit - 1))
    return start, start + 1


def network_view(image: Image.Image, resize_size: int, crop_size: int, output_size: int | None = None) -> Image.Image:
    """The square part of ``image`` the network sees after Resize(resize_size) + CenterCrop(crop_size).

    Cut at the photo's own resolution (sharper than the 224-pixel tensor), optionally resized to
    ``output_size``. Heatmaps of the network's input line up with it exactly.
    """
    view = image.convert("RGB").crop(network_box(image.size, resize_size, crop_size))
    if output_size is not None and view.size != (output_size, output_size):
        view = view.resize((output_size, output_size), Image.Resampling.BICUBIC)
    return view


def overlay_on_photo(
    image: Image.Image,
    heatmap: np.ndarray,
    resize_size: int,
    crop_size: int,
    *,
    opacity: float = 0.5,
    colormap: str = DEFAULT_COLORMAP,
    max_side: int | None = None,
) -> Image.Image:
    """The whole photo, with the heatmap blended over the part the network saw and that part outlined.

    ``max_side`` scales the result down (never up) so its longer side fits.
    """
    photo = image.convert("RGB")
    box = network_box(photo.size, resize_size, crop_size)
    if max_side is not None and max(photo.size) > max_side:
        factor = max_side / max(photo.size)
        photo = photo.resize(
            (max(1, round(photo.width * factor)), max(1, round(photo.height * factor))), Image.Resampling.BICUBIC
        )
        box = (
            int(box[0] * factor),
            int(box[1] * factor),
            max(int(box[0] * factor) + 1, round(box[2] * factor)),
            max(int(box[1] * factor) + 1, round(box[3] * factor)),
        )
    region = photo.crop(box)
    photo.paste(overlay(region, heatmap, opacity, colormap=colormap), box[:2])
    line = max(1, round(min(photo.size) / 150))
    ImageDraw.Draw(photo).rectangle(
        (box[0], box[1], box[2] - 1, box[3] - 1), outline=(255, 255, 255), width=min(line, box[2] - box[0])
    )
    return photo


def save_png(image: Image.Image, target: str | Path, *, overwrite: bool) -> Path:
    """Write a PNG through the one atomic writer (never replaces a file unless ``overwrite``)."""
    return write_with(target, lambda handle: image.save(handle, format="PNG"), overwrite=overwrite)
