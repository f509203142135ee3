"""scikit-learn's handwritten digits drawn as image files: a labeled folder with real structure.

1,797 8x8 grey digits (0..16) become small RGB PNGs in ``<root>/<digit>/``, split deterministically
into parts (e.g. training, calibration, held-out) so tests and benchmarks learn and verify on
different photos. Nothing is downloaded: the digits ship inside scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_NAMES = [str(d) for d in range(10)]


def make_digits_folders(
    root: Path, parts: Sequence[tuple[str, float]], *, size: int = 64, seed: int = 0
) -> dict[str, Path]:
    """Write the digits into ``root/<part>/<digit>/<n>.png`` for each (part, share) in ``parts``.

    Each digit's images are shuffled with ``seed`` and cut by the shares (the last part takes the
    rest), so every part holds every class in about the same proportions.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0 * 255).clip(0, 255).astype(np.uint8)
    rng = np.random.default_rng(seed)
    folders = {name: root / name for name, _ in parts}
    for digit in range(10):
        indices = np.flatnonzero(digits.target == digit)
        rng.shuffle(indices)
        start = 0
        for number, (name, share) in enumerate(parts):
            end = len(indices) if number == len(parts) - 1 else start + round(share * len(indices))
            folder = folders[name] / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for i in indices[start:end]:
                grey = Image.fromarray(255 - images[i], mode="L").resize((size, size), Image.Resampling.BILINEAR)
                grey.convert("RGB").save(folder / f"{i:04d}.png")
            start = end
    return folders


def labeled_files(folder: Path) -> tuple[list[Path], list[int]]:
    """The PNGs under ``folder/<digit>/`` and their digit, in a stable order."""
    paths = sorted(folder.glob("*/*.png"))
    return paths, [int(p.parent.name) for p in paths]
