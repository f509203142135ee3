"""Generated photos with real structure (shapes, gradients, texture) and their near-duplicates."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def structured_photo(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A scene of its own: a colour gradient, a few filled shapes and some blurred noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w)[None, :, None]
    angle = rng.uniform(0, 1)
    s = np.linspace(0, 1, h)[:, None, None]
    mix = np.clip(angle * t + (1 - angle) * s, 0, 1)
    pixels = (a * (1 - mix) + b * mix).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(pixels, (h, w, 3)).copy())
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(15, w // 2)), y0 + int(rng.integers(15, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.uniform() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    noise = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(2))
    return Image.blend(image, noise, 0.15)


def make_photos(folder: Path, count: int, *, start: int = 0, size: tuple[int, int] = (160, 120)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"photo_{i:03d}.jpg"
        structured_photo(i, size).save(path, quality=92)
        paths.append(path)
    return paths


def near_copies(original: Path, folder: Path) -> list[Path]:
    """A resized, a recompressed and a slightly cropped copy of ``original``."""
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(original) as opened:
        image = opened.convert("RGB")
    w, h = image.size
    stem = original.stem
    resized = folder / f"{stem}_small.png"
    image.resize((w * 3 // 4, h * 3 // 4), Image.Resampling.LANCZOS).save(resized)
    recompressed = folder / f"{stem}_q40.jpg"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=40)
    recompressed.write_bytes(buffer.getvalue())
    cropped = folder / f"{stem}_crop.jpg"
    dx, dy = w // 20, h // 20
    image.crop((dx, dy, w - dx, h - dy)).save(cropped, quality=90)
    return [resized, recompressed, cropped]
