"""Parallel decoding of image files into model-ready batches (shared by the engine and fine-tuning).

Decoding a photo costs far more than running a ResNet on it, so files are decoded in a thread
pool (Pillow releases the GIL while decoding and resizing) while the caller runs the model on
the previous batch. Big JPEGs are decoded in draft mode (DCT scaling), several times cheaper
than a full decode, which still leaves the short side at least ``resize_size`` pixels.

Memory stays bounded: only a fixed window of files is in flight, and the input iterable
(e.g. ``images.discover()``) is consumed lazily, never drained up front.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from resnet_desktop.core.errors import ImageError, SettingsError
from resnet_desktop.core.images import open_image

if TYPE_CHECKING:
    from resnet_desktop.core.models.spec import Preprocessing

logger = logging.getLogger(__name__)

#: How often a wait for a decode wakes up to look at the cancel flag (seconds).
CANCEL_POLL_S = 0.05
#: Batches decoded ahead of the one being consumed; bounds memory and keeps the pool busy.
PREFETCH_BATCHES = 2

#: Resized images are kept within this many times the model input along their long side (memory).
MAX_RESIZED_ASPECT = 4
#: The most images per batch: beyond it only memory grows, not speed.
MAX_BATCH_SIZE = 1024

#: Draft target relative to ``resize_size``: 2x leaves photos under twice the model input undrafted
#: (identical to the reference) and halves the logit difference on big ones for a few ms more.
DRAFT_OVERSAMPLE = 2

Augment = Callable[[Image.Image], Image.Image]
Transform = Callable[[Image.Image], torch.Tensor]


def default_workers() -> int:
    """Decode threads: one per usable core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def draft_size_for(preprocessing: Preprocessing) -> tuple[int, int]:
    """The JPEG draft request: the decoded short side stays >= ``DRAFT_OVERSAMPLE * resize_size``.

    Pillow picks the largest DCT scale (1/2, 1/4, 1/8) for which *both* sides stay at least the
    requested size, so a square request is safe for any aspect ratio and any EXIF orientation.
    Oversampling 2x means only photos at least twice the model input are drafted and the final
    antialiased resize still does real work, which keeps the result close to the full decode.
    """
    side = DRAFT_OVERSAMPLE * max(preprocessing.resize_size, preprocessing.crop_size)
    return (side, side)


def resize_and_crop(image: Image.Image, preprocessing: Preprocessing) -> Image.Image:
    """Shorter side to ``resize_size`` (antialiased, in Pillow: fastest on CPU), then centre crop.

    A very long, thin image (10000x1) would be upscaled to millions of pixels along its long side
    only to be cropped away; such images are centre-cropped first to what the final crop can see.
    """
    interpolation = InterpolationMode(preprocessing.interpolation)
    image = precrop_long_side(image, preprocessing.resize_size, preprocessing.crop_size)
    image = F.resize(image, [preprocessing.resize_size], interpolation=interpolation, antialias=True)
    return F.center_crop(image, [preprocessing.crop_size])


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

    Shared with the device decoder, so both paths crop the same pixels.
    """
    short, long = min(width, height), max(width, height)
    scale = resize_size / short
    limit = MAX_RESIZED_ASPECT * max(resize_size, crop_size)
    if long * scale <= limit:
        return None
    keep = min(long, math.ceil(limit / scale))  # still far wider than the crop: the filter margin
    start = (long - keep) // 2
    return (start, 0, start + keep, height) if width > height else (0, start, width, start + keep)


def normalize(
    pixels: torch.Tensor,
    preprocessing: Preprocessing,
    *,
    device: torch.device | str = "cpu",
    non_blocking: bool = False,
) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` -> float32 normalised with the weights' own mean/std, channels_last.

    The uint8 batch is moved first (4x fewer bytes over PCIe), then scaled and normalised on the
    device with the same torchvision functions the reference transform uses.
    """
    x = pixels.to(device, non_blocking=non_blocking)
    x = F.convert_image_dtype(x, torch.float32)
    x = F.normalize(x, mean=list(preprocessing.mean), std=list(preprocessing.std), inplace=True)
    return x.contiguous(memory_format=torch.channels_last)


def decode_one(
    path: Path,
    preprocessing: Preprocessing,
    *,
    augment: Augment | None = None,
    transform: Transform | None = None,
) -> tuple[torch.Tensor | None, str | None]:
    """Decode one file into a uint8 ``(3, crop, crop)`` tensor, or return the reason it failed."""
    try:
        image = open_image(path, draft_size=draft_size_for(preprocessing))
        image = precrop_long_side(image, preprocessing.resize_size, preprocessing.crop_size)
        if augment is not None:
            image = augment(image)
        if transform is not None:
            return transform(image), None
        return F.pil_to_tensor(resize_and_crop(image, preprocessing)), None
    except ImageError as exc:
        return None, exc.reason
    except Exception as exc:  # one bad file must never stop a batch of thousands
        logger.warning("Unexpected error while preparing %s", path, exc_info=True)
        return None, f"could not be prepared for the model ({type(exc).__name__}: {exc})"


@dataclass
class DecodedBatch:
    """Consecutive input files, in input order, with the pixels of those that decoded.

    ``pixels[j]`` belongs to ``paths[ok_positions[j]]``; files whose ``errors[i]`` is not None have
    no pixels.
    """

    paths: list[Path]
    errors: list[str | None]
    pixels: torch.Tensor

    @property
    def ok_positions(self) -> list[int]:
        return [i for i, error in enumerate(self.errors) if error is None]

    def __len__(self) -> int:
        return len(self.paths)


def _assemble(items: list[tuple[Path, torch.Tensor | None, str | None]], pin_memory: bool) -> DecodedBatch:
    tensors = [t for _, t, e in items if e is None and t is not None]
    if tensors:
        shape = (len(tensors), *tensors[0].shape)
        try:
            pixels = torch.empty(shape, dtype=tensors[0].dtype, pin_memory=pin_memory)
            torch.stack(tensors, out=pixels)
        except RuntimeError:  # sizes differ (custom transform) or pinning unavailable
            pixels = torch.stack(tensors)
    else:
        pixels = torch.empty((0, 3, 0, 0), dtype=torch.uint8)
    errors = [e if e is not None or t is not None else "no pixels produced" for _, t, e in items]
    return DecodedBatch(paths=[p for p, _, _ in items], errors=errors, pixels=pixels)


class _Cancelled(Exception):
    """Internal: the cancel flag was seen while waiting for a decode."""


def _wait(
    future: Future[tuple[torch.Tensor | None, str | None]], cancel: threading.Event | None
) -> tuple[torch.Tensor | None, str | None]:
    if cancel is None:
        return future.result()
    while True:
        if cancel.is_set():
            raise _Cancelled
        try:
            return future.result(timeout=CANCEL_POLL_S)
        except FutureTimeout:
            continue


def decode_batches(
    paths: Iterable[str | Path],
    preprocessing: Preprocessing,
    *,
    batch_size: int,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    augment: Augment | None = None,
    transform: Transform | None = None,
    pin_memory: bool = False,
    prefetch_batches: int = PREFETCH_BATCHES,
    overlap: bool = True,
) -> Generator[DecodedBatch, None, None]:
    """Yield :class:`DecodedBatch` es of up to ``batch_size`` files, in input order, decoding ahead.

    At most ``batch_size * prefetch_batches`` files are pulled from ``paths`` beyond those already
    yielded. ``augment`` (PIL -> PIL) runs on the decoded image before resize/crop (fine-tuning);
    ``transform`` (PIL -> uint8 CHW tensor) replaces resize/crop entirely. When ``cancel`` is set the
    generator stops within ~``CANCEL_POLL_S`` without waiting for the window; queued decodes are
    dropped and running ones finish in the background. ``overlap=False`` decodes a batch only when
    it is asked for (nothing decodes while the caller runs the model): on a CPU-only machine this
    avoids decode threads and the model's threads fighting over the same cores.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise SettingsError(f"the batch size must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    window = batch_size * max(1, prefetch_batches) if overlap else batch_size
    source = iter([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    pending: deque[tuple[Path, Future[tuple[torch.Tensor | None, str | None]]]] = deque()
    exhausted = False
    executor = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="decode")

    def top_up() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < window:
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                return
            path = Path(item)
            future = executor.submit(decode_one, path, preprocessing, augment=augment, transform=transform)
            pending.append((path, future))

    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            top_up()
            if not pending:
                return
            items: list[tuple[Path, torch.Tensor | None, str | None]] = []
            while pending and len(items) < batch_size:
                path, future = pending[0]
                try:
                    tensor, error = _wait(future, cancel)
                except _Cancelled:
                    return
                pending.popleft()
                items.append((path, tensor, error))
                if overlap:
                    top_up()
            yield _assemble(items, pin_memory)
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
