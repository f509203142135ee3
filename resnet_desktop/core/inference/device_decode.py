"""Batched JPEG decoding on the engine's device (nvJPEG on CUDA), with resize and crop done there.

Opt-in (``Engine(decoder="device")``): on a GPU the CPU pool's Pillow decode is the limit long
before the model is, and ``torchvision.io.decode_jpeg(list, device="cuda")`` decodes a whole batch
at once (in hardware on A100/H100). The same code runs on the CPU (torchvision's libjpeg-turbo),
which is how it is tested without a GPU.

Every file first goes through the same checks as the CPU path (``images.open_header``: file
system, allow-listed formats, decompression bombs) on a thread pool that also reads the bytes.
Only plain 8-bit JPEGs (RGB or greyscale) that end with their end-of-image marker reach the
device; everything else (PNG, CMYK, MPO, truncated files, files the device decoder refuses, a
chunk that runs out of device memory) is decoded by ``decode.decode_one`` on the pool, so each
file gets the pixels or the one-line reason it would get from the CPU path. (One difference
remains: a JPEG damaged in the middle but complete at its end may decode to damaged pixels on
the device where Pillow refuses it.) EXIF orientation and the long-side pre-crop are applied to
the tensor as ``open_image`` and ``precrop_long_side`` apply them to the photo. Big JPEGs are
decoded in full (no draft mode on the device), which is closer to the reference than drafting.

A single device thread decodes the batches ahead of the consumer on its own CUDA stream and
waits for that stream before handing a batch over, so a batch is complete when it is yielded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from resnet_desktop.core.errors import ImageError, SettingsError
from resnet_desktop.core.images.opening import exif_orientation, open_header
from resnet_desktop.core.inference.decode import (
    CANCEL_POLL_S,
    MAX_BATCH_SIZE,
    PREFETCH_BATCHES,
    DecodedBatch,
    decode_one,
    default_workers,
    precrop_box,
)

if TYPE_CHECKING:
    from resnet_desktop.core.models.spec import Preprocessing

logger = logging.getLogger(__name__)

#: Pillow modes of JPEGs the device decodes (to RGB); CMYK/YCCK and the rest go to the CPU path.
DEVICE_MODES = ("RGB", "L")
#: The JPEG end-of-image marker: a file that does not end with it goes to the CPU path.
END_OF_IMAGE = b"\xff\xd9"
#: Decoded pixels per device call: bounds memory (a 12-MP photo is 36 MB as uint8, 4x that in float).
MAX_PIXELS_PER_CALL = 96 * 1024 * 1024

# torchvision 0.29 marks its image I/O deprecated in favour of TorchCodec; it still works and is
# what the GPU machines have (0.26). Filtered once here, not per call (catch_warnings is not thread-safe).
warnings.filterwarnings("ignore", message=r".*(TorchCodec|torchcodec).*", category=DeprecationWarning)

T = TypeVar("T")


@dataclass(frozen=True)
class Probe:
    """One file after its header was read: bytes for the device, a reason it failed, or neither
    (``data`` and ``error`` both None: the CPU path decodes it)."""

    data: torch.Tensor | None = None
    pixels: int = 0
    orientation: int = 1
    error: str | None = None


def probe(path: Path) -> Probe:
    """Read ``path``'s header (the CPU path's checks) and, for a plain JPEG, its bytes."""
    try:
        with open_header(path) as image:
            if image.format != "JPEG" or image.mode not in DEVICE_MODES:
                return Probe()
            turn = exif_orientation(image, path)
            pixels = image.width * image.height
        raw = bytearray(path.read_bytes())
    except ImageError as exc:
        return Probe(error=exc.reason)
    except OSError:
        return Probe()  # vanished or unreadable since the header: the CPU path words the reason
    if not raw.endswith(END_OF_IMAGE):
        # Truncated (Pillow refuses it; decoders on the device would fill in grey) or data after
        # the image: the CPU path tells the two apart.
        return Probe()
    return Probe(data=torch.frombuffer(raw, dtype=torch.uint8), pixels=pixels, orientation=turn)


def orient(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """``(C, H, W)`` turned upright for an EXIF orientation, as ``ImageOps.exif_transpose`` does."""
    if orientation == 2:  # mirrored
        return image.flip(-1)
    if orientation == 3:  # upside down
        return image.flip(-2, -1)
    if orientation == 4:  # mirrored upside down
        return image.flip(-2)
    if orientation == 5:  # transposed across the main diagonal
        return image.transpose(-2, -1)
    if orientation == 6:  # stored turned 90 degrees anticlockwise: turn it clockwise
        return image.transpose(-2, -1).flip(-1)
    if orientation == 7:  # transposed across the other diagonal
        return image.transpose(-2, -1).flip(-2, -1)
    if orientation == 8:  # stored turned 90 degrees clockwise: turn it anticlockwise
        return image.transpose(-2, -1).flip(-2)
    return image


def resize_and_crop_tensor(images: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` of one size -> ``(N, 3, crop, crop)``, as ``decode.resize_and_crop``
    does to a photo: long-side pre-crop, short side to ``resize_size`` (antialiased), centre crop."""
    height, width = images.shape[-2:]
    box = precrop_box(width, height, preprocessing.resize_size, preprocessing.crop_size)
    if box is not None:
        left, top, right, bottom = box
        images = images[..., top:bottom, left:right]
    interpolation = InterpolationMode(preprocessing.interpolation)
    images = F.resize(images, [preprocessing.resize_size], interpolation=interpolation, antialias=True)
    return F.center_crop(images, [preprocessing.crop_size])


def _chunks(indices: list[int], probes: list[Probe], budget: int) -> Iterator[list[int]]:
    """Consecutive groups of ``indices`` whose decoded pixels stay within ``budget`` (at least one each)."""
    chunk: list[int] = []
    pixels = 0
    for i in indices:
        if chunk and pixels + probes[i].pixels > budget:
            yield chunk
            chunk, pixels = [], 0
        chunk.append(i)
        pixels += probes[i].pixels
    if chunk:
        yield chunk


class DeviceDecoder:
    """Turns a batch of files into a uint8 ``(N, 3, crop, crop)`` tensor on ``device``."""

    def __init__(
        self,
        preprocessing: Preprocessing,
        device: torch.device,
        *,
        max_pixels_per_call: int = MAX_PIXELS_PER_CALL,
    ) -> None:
        self.preprocessing = preprocessing
        self.device = device
        self.max_pixels_per_call = max_pixels_per_call
        # The decoder's own stream, so decoding overlaps the model running on the default stream.
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        #: Seconds the device thread spent decoding, and files decoded on the device / on the CPU.
        self.busy_s = 0.0
        self.on_device = 0
        self.on_cpu = 0

    def _stream(self) -> AbstractContextManager[object]:
        return torch.cuda.stream(self.stream) if self.stream is not None else nullcontext()

    def decode_batch(self, paths: list[Path], probes: list[Future[Probe]], pool: ThreadPoolExecutor) -> DecodedBatch:
        """Runs on the device thread: wait for the probes, decode on the device (the CPU path on
        ``pool`` for the files the device does not take), assemble, wait for the stream."""
        found = [future.result() for future in probes]
        started = time.perf_counter()  # reading the files is the pool's time, not the decoder's
        pixels: list[torch.Tensor | None] = [None] * len(paths)
        errors: list[str | None] = [p.error for p in found]
        on_cpu: dict[int, Future[tuple[torch.Tensor | None, str | None]]] = {}

        def to_cpu_path(i: int) -> None:
            on_cpu[i] = pool.submit(decode_one, paths[i], self.preprocessing)

        for i, found_one in enumerate(found):
            if found_one.data is None and found_one.error is None:
                to_cpu_path(i)
        device_files = [i for i, p in enumerate(found) if p.data is not None]
        with self._stream():
            for chunk in _chunks(device_files, found, self.max_pixels_per_call):
                for i, tensor in zip(chunk, self._decode_chunk([found[i] for i in chunk]), strict=True):
                    if tensor is None:
                        to_cpu_path(i)
                    else:
                        pixels[i] = tensor
                        self.on_device += 1
            for i, future in on_cpu.items():
                tensor, errors[i] = future.result()
                pixels[i] = tensor.to(self.device) if tensor is not None else None
            self.on_cpu += len(on_cpu)
            kept = [t for t in pixels if t is not None]
            if kept:
                stacked = torch.stack(kept)
            else:
                stacked = torch.empty((0, 3, 0, 0), dtype=torch.uint8, device=self.device)
        if self.stream is not None:
            self.stream.synchronize()  # complete before the consumer's stream reads it
        self.busy_s += time.perf_counter() - started
        errors = [e if e is not None or pixels[i] is not None else "no pixels produced" for i, e in enumerate(errors)]
        return DecodedBatch(paths=paths, errors=errors, pixels=stacked)

    def _decode_chunk(self, found: list[Probe]) -> list[torch.Tensor | None]:
        """One device call for the chunk; on failure one call per file, so one bad file costs only
        itself (None: that file goes to the CPU path)."""
        out_of_memory = False
        try:
            return self._decode_on_device(found)
        except Exception as exc:  # noqa: BLE001 - nvJPEG errors, out of memory: the CPU path takes over
            out_of_memory = isinstance(exc, torch.cuda.OutOfMemoryError)
            logger.info("device decode of %d files failed (%s); trying them one by one", len(found), exc)
        if out_of_memory:  # outside the except block, whose traceback still holds the chunk's tensors
            torch.cuda.empty_cache()
        results: list[torch.Tensor | None] = []
        for one in found:
            try:
                results.extend(self._decode_on_device([one]))
            except Exception as exc:  # noqa: BLE001 - as above, for this file only
                logger.info("device decode failed (%s); decoding on the CPU instead", exc)
                results.append(None)
        return results

    def _decode_on_device(self, found: list[Probe]) -> list[torch.Tensor | None]:
        from torchvision.io import ImageReadMode, decode_jpeg

        data = [p.data for p in found if p.data is not None]
        decoded = decode_jpeg(data, mode=ImageReadMode.RGB, device=self.device)
        # torchvision decodes for devices other than CUDA on the CPU: move them (no-op on CUDA and CPU).
        upright = [orient(image.to(self.device), p.orientation) for image, p in zip(decoded, found, strict=True)]
        # One resize per distinct size (a camera's photos share one): fewer, larger kernels.
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(upright):
            by_size.setdefault(tuple(image.shape), []).append(i)
        results: list[torch.Tensor | None] = [None] * len(found)
        for members in by_size.values():
            batch = torch.stack([upright[i] for i in members])
            for i, crop in zip(members, resize_and_crop_tensor(batch, self.preprocessing), strict=True):
                results[i] = crop
        return results


def _wait(future: Future[T], cancel: threading.Event | None) -> T:
    if cancel is None:
        return future.result()
    while True:
        if cancel.is_set():
            raise _Cancelled
        try:
            return future.result(timeout=CANCEL_POLL_S)
        except FutureTimeout:
            continue


class _Cancelled(Exception):
    """Internal: the cancel flag was seen while waiting for a batch."""


def device_decode_batches(
    paths: Iterable[str | Path],
    decoder: DeviceDecoder,
    *,
    batch_size: int,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    prefetch_batches: int = PREFETCH_BATCHES,
) -> Generator[DecodedBatch, None, None]:
    """Like ``decode.decode_batches`` (same batches, order, errors, cancel and bounded memory), with
    the pixels decoded, resized and cropped by ``decoder`` on its device and returned there.

    Up to ``prefetch_batches`` batches are in flight, the one waited for included: with 2, the
    next batch decodes while the caller runs the model on this one; with 1 (or 0), a batch is
    decoded only when asked for.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise SettingsError(f"the batch size must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    source = iter([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="read")
    device_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-decode")
    window: deque[tuple[list[Future[Probe]], Future[DecodedBatch]]] = deque()
    exhausted = False
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            while not exhausted and len(window) < max(1, prefetch_batches):
                chunk = [Path(p) for p in islice(source, batch_size)]
                if not chunk:
                    exhausted = True
                    break
                probes = [pool.submit(probe, path) for path in chunk]  # reading runs ahead on the pool
                window.append((probes, device_thread.submit(decoder.decode_batch, chunk, probes, pool)))
            if not window:
                return
            try:
                batch = _wait(window[0][1], cancel)
            except _Cancelled:
                return
            window.popleft()
            if batch.pixels.is_cuda and batch.pixels.numel():  # now used on the consumer's stream: keep the
                # caching allocator from handing its memory to the decoder's stream while still in use
                batch.pixels.record_stream(torch.cuda.current_stream(batch.pixels.device))
            yield batch
    finally:
        for probes, future in window:
            future.cancel()
            for one in probes:
                one.cancel()
        device_thread.shutdown(wait=False, cancel_futures=True)
        pool.shutdown(wait=False, cancel_futures=True)
