"""``explain`` on awkward photos, and an --output that shows the whole photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.cli import main
from resnet_desktop.core.explain.heatmaps import network_box


def _args(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu"]


@pytest.mark.parametrize("size", [(1, 50), (50, 1), (1, 1)])
def test_explain_a_one_pixel_wide_image(tmp_path: Path, resnet18_weights: Path, size: tuple[int, int]) -> None:
    photo = tmp_path / "thin.png"
    Image.new("RGB", size, (10, 200, 30)).save(photo)
    out = tmp_path / "cam.png"
    assert main(["explain", str(photo), *_args(resnet18_weights), "--output", str(out)]) == 0
    assert Image.open(out).size == size


def test_explain_output_is_the_whole_photo_with_the_crop_outlined(tmp_path: Path, resnet18_weights: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (300, 451, 3), dtype=np.uint8)
    photo = tmp_path / "wide.png"
    Image.fromarray(pixels).save(photo)
    out = tmp_path / "cam.png"
    assert main(["explain", str(photo), *_args(resnet18_weights), "--output", str(out), "--opacity", "0.6"]) == 0
    picture = np.asarray(Image.open(out).convert("RGB"))
    assert picture.shape == pixels.shape  # 451x300, not the 263x262 crop
    left, top, right, bottom = network_box((451, 300), 256, 224)
    assert np.array_equal(picture[:, : left - 1], pixels[:, : left - 1])  # outside the crop: the photo as is
    assert np.array_equal(picture[:, right + 1 :], pixels[:, right + 1 :])
    assert (picture[top, left:right] == 255).all()  # the outline along the crop's top edge
    inner = (slice(top + 5, bottom - 5), slice(left + 5, right - 5))
    assert np.abs(picture[inner].astype(int) - pixels[inner]).mean() > 5  # the heatmap is over the crop


def test_crop_only_keeps_the_square_view(tmp_path: Path, resnet18_weights: Path) -> None:
    photo = tmp_path / "wide.png"
    Image.new("RGB", (451, 300), "white").save(photo)
    out = tmp_path / "cam.png"
    assert main(["explain", str(photo), *_args(resnet18_weights), "--output", str(out), "--crop-only"]) == 0
    width, height = Image.open(out).size
    assert abs(width - height) <= 1 and width < 300
