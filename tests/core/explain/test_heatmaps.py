"""Colormaps, channel grids and overlays (numpy + Pillow, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.explain.heatmaps import (
    COLORMAPS,
    GAP_GREY,
    _colormap_file,
    apply_colormap,
    channel_order,
    colormap_lut,
    network_view,
    normalize_maps,
    overlay,
    render_grid,
    tile_at,
    tile_grid,
)
from tests.helpers import SAMPLES_DIR


@pytest.mark.parametrize("name", COLORMAPS)
def test_colormap_tables_come_from_the_shipped_data(name: str) -> None:
    lut = colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    rows = [line for line in _colormap_file(name).read_text().splitlines() if line and not line.startswith(";")]
    first, last = (np.array([float(v) for v in row.split(",")[:3]]) for row in (rows[0], rows[-1]))
    np.testing.assert_array_equal(lut[0], np.rint(first * 255))
    np.testing.assert_array_equal(lut[-1], np.rint(last * 255))
    # Perceptual maps rise in lightness: dark end darker than the bright end.
    assert lut[0].astype(int).sum() < lut[128].astype(int).sum() < lut[-1].astype(int).sum()


def test_apply_colormap_maps_zero_and_one_to_the_ends() -> None:
    rgb = apply_colormap(np.array([[0.0, 1.0], [np.nan, 2.0]]), "viridis")
    lut = colormap_lut("viridis")
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_array_equal(rgb[0, 0], lut[0])
    np.testing.assert_array_equal(rgb[0, 1], lut[255])
    np.testing.assert_array_equal(rgb[1, 0], lut[0])  # NaN -> 0
    np.testing.assert_array_equal(rgb[1, 1], lut[255])  # clipped
    with pytest.raises(SettingsError, match="jet"):
        colormap_lut("jet")


def test_normalisation_per_channel_and_per_layer() -> None:
    maps = np.stack([np.full((4, 4), 3.0), np.arange(16.0).reshape(4, 4), np.arange(16.0).reshape(4, 4) * 10])
    per_channel = normalize_maps(maps, "channel")
    assert per_channel[0].max() == 0.0  # a constant channel is dark, not noise
    np.testing.assert_allclose(per_channel[1], per_channel[2])
    assert per_channel[1].min() == 0.0 and per_channel[1].max() == 1.0
    per_layer = normalize_maps(maps, "layer")
    assert per_layer.min() == 0.0 and per_layer.max() == 1.0
    assert per_layer[1].max() == pytest.approx(15 / 150)


def test_channel_order_strongest_first() -> None:
    maps = np.zeros((3, 2, 2), dtype=np.float32)
    maps[0, 0, 0] = 10.0  # highest max, low mean
    maps[2] = 3.0  # highest mean (channel 0 averages 2.5)
    assert channel_order(maps, "index").tolist() == [0, 1, 2]
    assert channel_order(maps, "max").tolist() == [0, 2, 1]
    assert channel_order(maps, "mean").tolist() == [2, 0, 1]


def test_tile_grid_places_each_tile_and_tile_at_inverts_it() -> None:
    count, h, w, columns, pad = 7, 3, 5, 3, 2
    tiles = np.stack([np.full((h, w), i + 1, dtype=np.int32) for i in range(count)])
    grid = tile_grid(tiles, columns, pad=pad, fill=-1)
    assert grid.shape == (3 * (h + pad) - pad, columns * (w + pad) - pad)
    for i in range(count):
        top, left = (i // columns) * (h + pad), (i % columns) * (w + pad)
        assert (grid[top : top + h, left : left + w] == i + 1).all()
        assert tile_at(left + w - 1, top + h - 1, (h, w), columns, count, pad) == i
    assert tile_at(w, 0, (h, w), columns, count, pad) is None  # in the padding
    assert tile_at(2 * (w + pad), 2 * (h + pad), (h, w), columns, count, pad) is None  # empty 9th cell
    assert (grid == -1).sum() == grid.size - count * h * w


def test_render_grid_shows_every_channel_in_sorted_order() -> None:
    rng = np.random.default_rng(0)
    maps = rng.random((10, 4, 4)).astype(np.float32)
    maps[7] += 5.0
    rgb, order, columns = render_grid(maps, sort="mean", normalization="layer", colormap="inferno")
    assert order[0] == 7 and sorted(order.tolist()) == list(range(10))
    assert columns == 4 and rgb.shape == (3 * 5 - 1, 4 * 5 - 1, 3) and rgb.dtype == np.uint8
    # Tile 0 is channel 7, the brightest; the two empty cells and the gaps are neutral grey.
    assert rgb[:4, :4].astype(int).sum() > rgb[5:9, :4].astype(int).sum()
    assert (rgb[4, :] == GAP_GREY).all() and (rgb[-4:, -4:] == GAP_GREY).all()


def test_overlay_opacity_blends_between_image_and_heatmap() -> None:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    heat = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(np.asarray(overlay(image, heat, 0.0)), np.asarray(image))
    full = np.asarray(overlay(image, heat, 1.0, colormap="viridis"))
    assert full.shape == (30, 40, 3)
    np.testing.assert_array_equal(full[0, 0], colormap_lut("viridis")[0])
    half = np.asarray(overlay(image, heat, 0.5, colormap="viridis")).astype(int)
    assert np.abs(half - (np.asarray(image).astype(int) + full) / 2).max() <= 1
    with pytest.raises(SettingsError, match="Opacity"):
        overlay(image, heat, 1.5)


def test_network_view_is_the_region_the_centre_crop_keeps() -> None:
    from torchvision import transforms

    photo = Image.open(SAMPLES_DIR / "cat.jpg").convert("RGB")
    view = network_view(photo, 256, 224, output_size=224)
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])(photo)
    assert view.size == (224, 224)
    difference = np.abs(np.asarray(view, dtype=float) - np.asarray(reference, dtype=float)).mean()
    assert difference < 6.0  # same region, only resampling differs
    shifted = network_view(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 256, 224, output_size=224)
    assert np.abs(np.asarray(shifted, dtype=float) - np.asarray(reference, dtype=float)).mean() > difference
