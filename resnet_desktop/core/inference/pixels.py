"""Model-ready pixels with Pillow and numpy only: the torch-free half of decoding.

One photo becomes a uint8 ``(3, crop, crop)`` array: opened robustly (``core.images``; big JPEGs in
draft mode), long thin images pre-cropped, shorter side resized (Pillow's antialiased resampling, as
torchvision does for PIL images) and centre-cropped with torchvision's rounding, so the pixels are
identical to ``Preprocessing.reference_transforms()`` on an undrafted photo. Both engines use it:
PyTorch wraps the array with ``torch.from_numpy`` (``inference.decode``), ONNX Runtime normalises it
here (``normalize_array``) and never imports torch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images import open_image

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from resnet_desktop.core.models.spec import Preprocessing

logger = logging.getLogger(__name__)

#: Resized images are kept within this many times the model input along their long side (memory).
MAX_RESIZED_ASPECT = 4
#: Draft target relative to ``resize_size``: 2x leaves photos under twice the model input undrafted
#: (identical to the reference) and halves the logit difference on big ones for a few ms more.
DRAFT_OVERSAMPLE = 2

#: torchvision's ``InterpolationMode`` value -> Pillow's resampling filter (``pil_modes_mapping``).
_PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "nearest-exact": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}

Augment = Callable[[Image.Image], Image.Image]


def draft_size_for(preprocessing: Preprocessing) -> tuple[int, int]:
    """The JPEG draft request: the decoded short side stays >= ``DRAFT_OVERSAMPLE * resize_size``.

    Pillow picks the largest DCT scale (1/2, 1/4, 1/8) for which *both* sides stay at least the
    requested size, so a square request is safe for any aspect ratio and any EXIF orientation.
    Oversampling 2x means only photos at least twice the model input are drafted and the final
    antialiased resize still does real work, which keeps the result close to the full decode.
    """
    side = DRAFT_OVERSAMPLE * max(preprocessing.resize_size, preprocessing.crop_size)
    return (side, side)


def precrop_long_side(image: Image.Image, resize_size: int, crop_size: int) -> Image.Image:
    """Centre-crop the long side of an image whose resize would exceed ``MAX_RESIZED_ASPECT`` times
    the final size, keeping what the centre crop sees plus a margin for the resampling filter.

    Images within the bound (every ordinary photo) are returned unchanged, so their pixels stay
    identical to torchvision's reference transform.
    """
    box = precrop_box(image.width, image.height, resize_size, crop_size)
    return image if box is None else image.crop(box)


def precrop_box(width: int, height: int, resize_size: int, crop_size: int) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) box :func:`precrop_long_side` keeps, or None to keep it all.

    Shared with the device decoder, so every path crops the same pixels.
    """
    short, long = min(width, height), max(width, height)
    scale = resize_size / short
    limit = MAX_RESIZED_ASPECT * max(resize_size, crop_size)
    if long * scale <= limit:
        return None
    keep = min(long, math.ceil(limit / scale))  # still far wider than the crop: the filter margin
    start = (long - keep) // 2
    return (start, 0, start + keep, height) if width > height else (0, start, width, start + keep)


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """torchvision's ``resize(img, [short_side])`` output size: the long side is truncated, not rounded."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


def center_crop(image: Image.Image, crop: int) -> Image.Image:
    """torchvision's ``center_crop`` for PIL images: black padding when too small, ``round`` offsets."""
    width, height = image.size
    if crop > width or crop > height:
        padded = Image.new(image.mode, (max(width, crop), max(height, crop)))  # black, as torchvision pads
        padded.paste(image, ((crop - width) // 2 if crop > width else 0, (crop - height) // 2 if crop > height else 0))
        image = padded
        width, height = image.size
        if (width, height) == (crop, crop):
            return image
    top = int(round((height - crop) / 2.0))
    left = int(round((width - crop) / 2.0))
    return image.crop((left, top, left + crop, top + crop))


def resize_and_crop(image: Image.Image, preprocessing: Preprocessing) -> Image.Image:
    """Shorter side to ``resize_size`` (antialiased, in Pillow: fastest on CPU), then centre crop.

    A very long, thin image (10000x1) would be upscaled to millions of pixels along its long side
    only to be cropped away; such images are centre-cropped first to what the final crop can see.
    """
    image = precrop_long_side(image, preprocessing.resize_size, preprocessing.crop_size)
    size = resized_size(image.width, image.height, preprocessing.resize_size)
    if size != image.size:
        image = image.resize(size, _PIL_FILTERS[preprocessing.interpolation])
    return center_crop(image, preprocessing.crop_size)


def to_chw(image: Image.Image) -> NDArray[np.uint8]:
    """An RGB image as a uint8 ``(3, H, W)`` array (a writable view of one contiguous copy)."""
    return np.array(image, dtype=np.uint8).transpose(2, 0, 1)


def decode_array(
    path: Path, preprocessing: Preprocessing, *, augment: Augment | None = None
) -> tuple[NDArray[np.uint8] | None, str | None]:
    """Decode one file into a uint8 ``(3, crop, crop)`` array, or return the reason it failed."""
    try:
        image = open_image(path, draft_size=draft_size_for(preprocessing))
        image = precrop_long_side(image, preprocessing.resize_size, preprocessing.crop_size)
        if augment is not None:
            image = augment(image)
        return to_chw(resize_and_crop(image, preprocessing)), None
    except ImageError as exc:
        return None, exc.reason
    except Exception as exc:  # one bad file must never stop a batch of thousands
        logger.warning("Unexpected error while preparing %s", path, exc_info=True)
        return None, f"could not be prepared for the model ({type(exc).__name__}: {exc})"


def normalize_array(pixels: NDArray[np.uint8], preprocessing: Preprocessing) -> NDArray[np.float32]:
    """uint8 ``(N, 3, H, W)`` -> float32 scaled to [0, 1] and normalised with the weights' mean/std.

    The same float32 operations, in the same order, as ``convert_image_dtype`` + ``normalize``.
    """
    x = pixels.astype(np.float32)
    x /= np.float32(255)
    mean = np.asarray(preprocessing.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(preprocessing.std, dtype=np.float32).reshape(1, 3, 1, 1)
    x -= mean
    x /= std
    return x
