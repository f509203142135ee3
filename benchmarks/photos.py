"""Camera-like JPEGs for the benchmarks, generated from the sample photos (torch-free, so worker
processes start in a fraction of a second).

Each image is a seeded random crop of one sample photo (flipped half the time), scaled to the
asked size, with sensor-like noise so that it compresses (and decodes) like a real camera file
rather than a smooth blow-up. Files are cached by size and index: a rerun skips what exists.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def sample_photos() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def write_photo(path: Path, source: Path, size: tuple[int, int], seed: int) -> Path:
    """One JPEG of ``size`` at ``path`` (written under a temporary name, then renamed)."""
    width, height = size
    rng = np.random.default_rng(seed)
    with Image.open(source) as opened:
        base = opened.convert("RGB")
    side = rng.uniform(0.6, 1.0)  # a random crop, so that images of one sample still differ
    box_w, box_h = int(base.width * side), int(base.height * side)
    left = int(rng.integers(0, base.width - box_w + 1))
    top = int(rng.integers(0, base.height - box_h + 1))
    image = base.crop((left, top, left + box_w, top + box_h)).resize(size, Image.BICUBIC)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    noise = rng.standard_normal((height, width, 3), dtype=np.float32) * 5
    noisy = np.asarray(image, dtype=np.float32) + noise
    tmp = path.with_suffix(".partial")
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=90)
    os.replace(tmp, path)
    return path


def _context() -> multiprocessing.context.BaseContext:
    # fork starts workers instantly and is safe before any CUDA or thread-pool use (the callers
    # generate first); elsewhere spawn, which imports only this torch-free module.
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def generate_jpegs(
    count: int,
    size: tuple[int, int],
    *,
    folder: Path | None = None,
    seed: int = 0,
    processes: int | None = None,
) -> list[Path]:
    """``count`` JPEGs of ``size`` in ``folder`` (default: the temp folder, by size), made in
    ``processes`` worker processes (default: one per core; 1 makes them in this process)."""
    width, height = size
    folder = folder or Path(tempfile.gettempdir()) / f"resnet-desktop-bench-{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    photos = sample_photos()
    paths = [folder / f"photo-{i:04d}.jpg" for i in range(count)]
    jobs = [(p, photos[i % len(photos)], size, seed * 1_000_003 + i) for i, p in enumerate(paths) if not p.exists()]
    workers = min(processes or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        for job in jobs:
            write_photo(*job)
    elif jobs:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            list(pool.map(write_photo, *zip(*jobs, strict=True), chunksize=max(1, len(jobs) // (4 * workers))))
    return paths
