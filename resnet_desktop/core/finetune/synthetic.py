"""A generated labeled folder (coloured shapes on noisy backgrounds) for demos, tests and benchmarks.

Each class has its own shape and colour family, drawn at random positions, sizes and tints on a
random background, so classes are learnable but not identical images.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

#: (class name, shape, base colour) for up to six classes.
CLASS_STYLES = (
    ("circles", "ellipse", (200, 40, 40)),
    ("squares", "rectangle", (40, 80, 200)),
    ("triangles", "triangle", (40, 170, 60)),
    ("stripes", "stripes", (220, 200, 40)),
    ("rings", "ring", (150, 60, 180)),
    ("crosses", "cross", (240, 130, 30)),
)


def _jitter(colour: tuple[int, int, int], rng: random.Random, amount: int) -> tuple[int, int, int]:
    red, green, blue = (max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)
    return red, green, blue


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill: tuple[int, int, int]
) -> None:
    x0, y0, x1, y1 = box
    if shape == "ellipse":
        draw.ellipse(box, fill=fill)
    elif shape == "rectangle":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)
    elif shape == "ring":
        draw.ellipse(box, outline=fill, width=max(3, (x1 - x0) // 8))
    elif shape == "cross":
        w = max(3, (x1 - x0) // 5)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        draw.rectangle((cx - w, y0, cx + w, y1), fill=fill)
        draw.rectangle((x0, cy - w, x1, cy + w), fill=fill)
    else:  # stripes
        step = max(6, (x1 - x0) // 6)
        for x in range(x0, x1, step * 2):
            draw.rectangle((x, y0, x + step, y1), fill=fill)


def make_image(
    style: tuple[str, str, tuple[int, int, int]], size: tuple[int, int], rng: random.Random, *, any_colour: float = 0.0
) -> Image.Image:
    """One picture of ``style``: 1-3 shapes on a random soft background.

    ``any_colour`` is the chance that a shape takes any class's colour.
    """
    width, height = size
    background = tuple(rng.randint(60, 200) for _ in range(3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 3)):
        side = rng.randint(min(size) // 4, min(size) // 2)
        x0 = rng.randint(0, width - side)
        y0 = rng.randint(0, height - side)
        colour = rng.choice(CLASS_STYLES)[2] if rng.random() < any_colour else style[2]
        _draw_shape(draw, style[1], (x0, y0, x0 + side, y0 + side), _jitter(colour, rng, 50))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.5)))


def make_labeled_folder(
    root: str | Path,
    *,
    classes: int = 3,
    per_class: int | list[int] = 8,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    suffix: str = ".jpg",
    any_colour: float = 0.0,
) -> Path:
    """Write ``root/<class>/<class>_NNN.jpg``; refuses to write into an existing non-empty folder.

    ``any_colour`` is the chance that a shape is drawn in another class's colour (harder to tell apart).
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty; choose a new folder")
    if not 1 <= classes <= len(CLASS_STYLES):
        raise ValueError(f"classes must be between 1 and {len(CLASS_STYLES)}")
    counts = per_class if isinstance(per_class, list) else [per_class] * classes
    rng = random.Random(seed)
    for style, count in zip(CLASS_STYLES[:classes], counts, strict=True):
        folder = root / style[0]
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            make_image(style, size, rng, any_colour=any_colour).save(folder / f"{style[0]}_{i:03d}{suffix}", quality=90)
    return root


def make_digits_folder(
    root: str | Path,
    *,
    per_class: int | None = None,
    size: int = 64,
    suffix: str = ".jpg",
) -> Path:
    """scikit-learn's handwritten digits (8x8, 1,797 in all) drawn as ``size`` x ``size`` RGB images in
    ``root/<digit>/digit_NNNN.jpg``: data with real structure a head can learn, for tests and
    benchmarks. ``per_class`` keeps the first that many of each digit. Needs scikit-learn (a test
    dependency); refuses to write into an existing non-empty folder.
    """
    from sklearn.datasets import load_digits

    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty; choose a new folder")
    digits = load_digits()
    written = [0] * 10
    for index, (pixels, digit) in enumerate(zip(digits.images, digits.target, strict=True)):
        label = int(digit)
        if per_class is not None and written[label] >= per_class:
            continue
        ink = (255 - pixels * (255 / 16)).clip(0, 255).astype("uint8")  # dark ink on white paper
        image = Image.fromarray(ink).resize((size, size), Image.Resampling.BICUBIC).convert("RGB")
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"digit_{index:04d}{suffix}", quality=95)
        written[label] += 1
    return root
