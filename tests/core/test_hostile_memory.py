"""Memory stays bounded whatever the input: thin images, batch sizes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from resnet_desktop.cli import main
from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.decode import decode_batches, precrop_long_side, resize_and_crop
from resnet_desktop.core.models.spec import Preprocessing

REPO_ROOT = Path(__file__).resolve().parents[2]
PREP = Preprocessing(resize_size=256, crop_size=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def _reference(image: Image.Image) -> np.ndarray:
    resized = F.resize(image, [256], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return np.asarray(F.center_crop(resized, [224]), dtype=np.int16)


def test_a_one_pixel_high_image_is_not_upscaled_to_gigabytes(tmp_path: Path) -> None:
    """A 3000x1 PNG (a few hundred bytes) used to become 768,000x256 pixels (590 MB) before the crop."""
    path = tmp_path / "line.png"
    Image.fromarray((np.arange(3000) % 256).astype(np.uint8).reshape(1, 3000)).save(path)
    square = tmp_path / "square.png"
    Image.new("RGB", (300, 300), "grey").save(square)
    code = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from resnet_desktop.core.inference.decode import decode_one
        from resnet_desktop.core.models.spec import Preprocessing
        prep = Preprocessing(256, 224, (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))
        decode_one(Path({str(square)!r}), prep)  # warm up on an ordinary image: imports, buffers
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        pixels, error = decode_one(Path({str(path)!r}), prep)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print("SHAPE", tuple(pixels.shape), "GROWTH_MB", (after - before) // 1024)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert "SHAPE (3, 224, 224)" in done.stdout, done.stdout + done.stderr
    growth = int(done.stdout.split("GROWTH_MB")[1])
    assert growth < 100, f"decoding a 3000x1 image grew the peak memory by {growth} MB"


def test_thin_images_give_what_the_reference_transform_gives() -> None:
    rng = np.random.default_rng(0)
    for size in ((2000, 40), (30, 1500)):
        image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        assert precrop_long_side(image, 256, 224).size != image.size  # the bound applies
        ours = np.asarray(resize_and_crop(image, PREP), dtype=np.int16)
        assert ours.shape == (224, 224, 3)
        assert np.abs(ours - _reference(image)).mean() < 1.0


def test_ordinary_photos_are_not_touched() -> None:
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 451, 3), dtype=np.uint8))
    assert precrop_long_side(image, 256, 224) is image
    assert np.array_equal(np.asarray(resize_and_crop(image, PREP), dtype=np.int16), _reference(image))


def test_absurd_batch_sizes_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError, match="from 1 to 1024"):
        next(decode_batches([tmp_path / "a.png"], PREP, batch_size=1_000_000))
    photo = tmp_path / "a.png"
    Image.new("RGB", (32, 32)).save(photo)
    with pytest.raises(SystemExit) as info:
        main(["classify", str(photo), "--weights", "random", "--model", "resnet18", "--batch-size", "1000000"])
    assert info.value.code == 2
    assert "at most 1024 images per batch" in capsys.readouterr().err
