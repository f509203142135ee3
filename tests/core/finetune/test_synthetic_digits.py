"""scikit-learn's digits drawn as a labeled folder: what the GPU suite fine-tunes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.core.finetune.data import scan_dataset
from resnet_desktop.core.finetune.synthetic import make_digits_folder


def test_digits_become_a_labeled_folder_of_photos(tmp_path: Path) -> None:
    root = make_digits_folder(tmp_path / "digits", per_class=3, size=48)
    scan = scan_dataset(root)
    assert scan.ok and scan.classes == [str(d) for d in range(10)] and set(scan.counts.values()) == {3}
    image = Image.open(scan.files["1"][0])
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (48, 48)
    pixels = np.asarray(image.convert("L"))
    assert pixels.min() < 80 and pixels.max() > 230  # dark ink on white paper, not a blank square


def test_digits_keep_their_shapes_apart(tmp_path: Path) -> None:
    """The mean 0 and mean 1 differ where the strokes are (a 1 has no ink at the sides of its centre)."""
    root = make_digits_folder(tmp_path / "digits", per_class=10, size=32)
    means = {
        d: np.mean([np.asarray(Image.open(p).convert("L"), float) for p in sorted((root / d).iterdir())], 0)
        for d in ("0", "1")
    }
    assert np.abs(means["0"] - means["1"]).mean() > 20


def test_digits_refuse_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match="already exists and is not empty; choose a new folder"):
        make_digits_folder(tmp_path)
    assert (tmp_path / "mine.txt").read_text(encoding="utf-8") == "keep me"
