"""core.explain.photo: every explain use case opens a photo the one way, long strips pre-cropped.

Before the front doors, ``resnet-desktop explain`` pre-cropped a 10000x1 strip but the Features panel
and the model lab did not: the strip was resized to millions of pixels on its way to the network.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.core.explain import api as explain
from resnet_desktop.core.explain import hooks
from resnet_desktop.core.inference.decode import MAX_RESIZED_ASPECT
from resnet_desktop.core.models.ref import ModelRef, load


@pytest.fixture(scope="module")
def loaded(resnet18_weights: Path):
    return load(ModelRef("resnet18", file=resnet18_weights))


@pytest.fixture
def strip(tmp_path: Path) -> Path:
    path = tmp_path / "strip.png"
    Image.fromarray((np.arange(20000) % 256).astype(np.uint8).reshape(1, 20000)).save(path)
    return path


@pytest.fixture
def seen_by_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every picture handed to the network's preprocessing."""
    sizes: list[tuple[int, int]] = []
    original = hooks.image_tensor

    def recording(image: Image.Image, preprocessing: object):  # type: ignore[no-untyped-def]
        sizes.append(image.size)
        return original(image, preprocessing)

    monkeypatch.setattr(hooks, "image_tensor", recording)
    return sizes


def _bound(loaded) -> int:  # type: ignore[no-untyped-def]
    prep = loaded.preprocessing
    return MAX_RESIZED_ASPECT * max(prep.resize_size, prep.crop_size)


def test_open_for_model_cuts_a_strip_and_leaves_a_photo_alone(loaded, strip: Path, sample_photos) -> None:
    opened = explain.open_for_model(strip, loaded.preprocessing)
    assert max(opened.size) * loaded.preprocessing.resize_size / min(opened.size) <= _bound(loaded) + 2
    photo = explain.open_for_model(sample_photos[0], loaded.preprocessing)
    assert photo.size == Image.open(sample_photos[0]).size  # ordinary photos: pixels unchanged


@pytest.mark.parametrize("use_case", ["features panel", "model lab", "cli explain"])
def test_every_use_case_hands_the_network_the_precropped_strip(
    use_case: str, loaded, strip: Path, seen_by_network: list[tuple[int, int]]
) -> None:
    if use_case == "features panel":
        prepared = explain.prepare(loaded, strip, "layer4", threading.Event(), budget_bytes=64 * 2**20)
        assert prepared.view.shape == (explain.VIEW_SIZE, explain.VIEW_SIZE, 3)
    elif use_case == "model lab":
        pair = explain.cam_pair(loaded, strip, 0, 1)
        assert pair.true_overlay.shape == pair.pred_overlay.shape
    else:
        explanation = explain.explain_photo(loaded, strip, target="1")
        assert explanation.cam.class_index == 1
    assert seen_by_network, "the photo went to the network"
    for width, height in seen_by_network:
        assert width <= 2 * _bound(loaded), f"{use_case}: a {width}x{height} picture reached the network"
