"""Parallel decoding of image files into model-ready torch batches (the engine and fine-tuning).

The pixels come from ``inference.pixels`` (Pillow + numpy, shared with the torch-free ONNX Runtime
path, so both backends see the same pixels) and the thread pool from ``inference.batching``; this
module adds what PyTorch needs: uint8 tensors stacked into (optionally pinned) batches, a custom
``transform`` for fine-tuning's augmented views, and ``normalize`` on the device.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torchvision.transforms import functional as F

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images import open_image
from resnet_desktop.core.inference.batching import (
    CANCEL_POLL_S as CANCEL_POLL_S,
)
from resnet_desktop.core.inference.batching import (
    MAX_BATCH_SIZE as MAX_BATCH_SIZE,
)
from resnet_desktop.core.inference.batching import (
    PREFETCH_BATCHES,
    Decoded,
    decoded_batches,
)
from resnet_desktop.core.inference.batching import default_workers as default_workers
from resnet_desktop.core.inference.pixels import DRAFT_OVERSAMPLE as DRAFT_OVERSAMPLE
from resnet_desktop.core.inference.pixels import MAX_RESIZED_ASPECT as MAX_RESIZED_ASPECT
from resnet_desktop.core.inference.pixels import draft_size_for, precrop_long_side, to_chw
from resnet_desktop.core.inference.pixels import precrop_box as precrop_box
from resnet_desktop.core.inference.pixels import resize_and_crop as resize_and_crop

if TYPE_CHECKING:
    from resnet_desktop.core.models.spec import Preprocessing

logger = logging.getLogger(__name__)

Augment = Callable[[Image.Image], Image.Image]
Transform = Callable[[Image.Image], torch.Tensor]

__all__ = [
    "CANCEL_POLL_S",
    "DRAFT_OVERSAMPLE",
    "MAX_BATCH_SIZE",
    "MAX_RESIZED_ASPECT",
    "PREFETCH_BATCHES",
    "DecodedBatch",
    "decode_batches",
    "decode_one",
    "default_workers",
    "draft_size_for",
    "normalize",
    "precrop_box",
    "precrop_long_side",
    "resize_and_crop",
]


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
        return torch.from_numpy(to_chw(resize_and_crop(image, preprocessing))), None
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


def _assemble(items: list[Decoded[torch.Tensor]], pin_memory: bool) -> DecodedBatch:
    tensors = [d.pixels for d in items if d.error is None and d.pixels is not None]
    if tensors:
        shape = (len(tensors), *tensors[0].shape)
        try:
            pixels = torch.empty(shape, dtype=tensors[0].dtype, pin_memory=pin_memory)
            torch.stack(tensors, out=pixels)
        except RuntimeError:  # sizes differ (custom transform) or pinning unavailable
            pixels = torch.stack(tensors)
    else:
        pixels = torch.empty((0, 3, 0, 0), dtype=torch.uint8)
    errors = [d.error if d.error is not None or d.pixels is not None else "no pixels produced" for d in items]
    return DecodedBatch(paths=[d.path for d in items], errors=errors, pixels=pixels)


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
    """Yield :class:`DecodedBatch` es of up to ``batch_size`` files, in input order, decoding ahead
    (``inference.batching.decoded_batches``: bounded window, lazy input, prompt cancel).

    ``augment`` (PIL -> PIL) runs on the decoded image before resize/crop (fine-tuning);
    ``transform`` (PIL -> uint8 CHW tensor) replaces resize/crop entirely.
    """

    def decode(path: Path) -> tuple[torch.Tensor | None, str | None]:
        return decode_one(path, preprocessing, augment=augment, transform=transform)

    for items in decoded_batches(
        paths,
        decode,
        batch_size=batch_size,
        workers=workers,
        cancel=cancel,
        prefetch_batches=prefetch_batches,
        overlap=overlap,
    ):
        yield _assemble(items, pin_memory)
