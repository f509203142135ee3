"""Turn a decoded image of any mode into 8-bit RGB without clipping or losing transparency.

CMYK goes through its embedded ICC profile when there is one, LAB through an sRGB transform,
alpha and palette/colour-key transparency are composited on white, and 16/32-bit or float data is
scaled by the range it is stored in (stretched from its own min..max only when outside them).
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from resnet_desktop.core.images.reasons import one_line

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")


def to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as RGB; the same object when it already is RGB without transparency."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode.startswith("I") or mode == "F":
        return _high_bit_to_l(img).convert("RGB")
    if mode == "CMYK":
        return _cmyk_to_rgb(img)
    if mode == "LAB":
        converted = ImageCms.applyTransform(img, _lab_to_srgb())
        return converted if converted is not None else img.convert("RGB")
    if mode == "La":  # premultiplied; Pillow converts it only to LA
        img, mode = img.convert("LA"), "LA"
    has_alpha = mode in ("RGBA", "RGBa", "LA", "PA") or "transparency" in img.info
    if mode == "P" and img.palette is not None and img.palette.mode == "RGBA":
        has_alpha = True
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _high_bit_to_l(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer or float data to 8 bits by the range the data is stored in."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        out = (arr.astype(np.uint32) * 255 + 32767) // 65535
        return Image.fromarray(out.astype(np.uint8))
    data = arr.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return Image.new("L", img.size, 0)
    lo, hi = float(data[finite].min()), float(data[finite].max())
    if img.mode == "F" and lo >= 0.0 and hi <= 1.0:
        scaled = data * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        scaled = data
    elif lo >= 0.0 and hi <= 65535.0:
        scaled = data * (255.0 / 65535.0)
    else:
        scaled = (data - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(data)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(img, source, _srgb_profile(), outputMode="RGB")
            if out is not None:
                return out
        except Exception as exc:  # noqa: BLE001 - a bad profile falls back to the plain formula
            logger.info("Ignoring unusable CMYK colour profile: %s", one_line(exc))
    return img.convert("RGB")


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB")
