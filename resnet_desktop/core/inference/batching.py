"""Decode files in a thread pool, a bounded window ahead, and hand them out in ordered batches.

Decoding a photo costs far more than running a ResNet on it, so files are decoded in a thread
pool (Pillow releases the GIL while decoding and resizing) while the caller runs the model on
the previous batch. Memory stays bounded: only a fixed window of files is in flight, and the input
iterable (e.g. ``images.discover()``) is consumed lazily, never drained up front. Torch-free: the
PyTorch engine (``inference.decode``) and the ONNX Runtime runner (``inference.ort_runner``) each
turn the decoded items into their own batch type.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Generic, TypeVar

from resnet_desktop.core.errors import SettingsError

#: How often a wait for a decode wakes up to look at the cancel flag (seconds).
CANCEL_POLL_S = 0.05
#: Batches decoded ahead of the one being consumed; bounds memory and keeps the pool busy.
PREFETCH_BATCHES = 2
#: The most images per batch: beyond it only memory grows, not speed.
MAX_BATCH_SIZE = 1024

T = TypeVar("T")


class Decoded(Generic[T]):
    """One file's outcome: its pixels (any type) or the reason it failed."""

    __slots__ = ("error", "path", "pixels")

    def __init__(self, path: Path, pixels: T | None, error: str | None) -> None:
        self.path, self.pixels, self.error = path, pixels, error


def default_workers() -> int:
    """Decode threads: one per usable core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class _Cancelled(Exception):
    """Internal: the cancel flag was seen while waiting for a decode."""


def _wait(future: Future[tuple[T | None, str | None]], cancel: threading.Event | None) -> tuple[T | None, str | None]:
    if cancel is None:
        return future.result()
    while True:
        if cancel.is_set():
            raise _Cancelled
        try:
            return future.result(timeout=CANCEL_POLL_S)
        except FutureTimeout:
            continue


def decoded_batches(
    paths: Iterable[str | Path],
    decode: Callable[[Path], tuple[T | None, str | None]],
    *,
    batch_size: int,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    prefetch_batches: int = PREFETCH_BATCHES,
    overlap: bool = True,
) -> Iterator[list[Decoded[T]]]:
    """Yield lists of up to ``batch_size`` decoded files, in input order, decoding ahead.

    At most ``batch_size * prefetch_batches`` files are pulled from ``paths`` beyond those already
    yielded. When ``cancel`` is set the generator stops within ~``CANCEL_POLL_S`` without waiting
    for the window; queued decodes are dropped and running ones finish in the background.
    ``overlap=False`` decodes a batch only when it is asked for (nothing decodes while the caller
    runs the model).
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise SettingsError(f"the batch size must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    window = batch_size * max(1, prefetch_batches) if overlap else batch_size
    source = iter([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    pending: deque[tuple[Path, Future[tuple[T | None, str | None]]]] = deque()
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
            pending.append((path, executor.submit(decode, path)))

    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            top_up()
            if not pending:
                return
            items: list[Decoded[T]] = []
            while pending and len(items) < batch_size:
                path, future = pending[0]
                try:
                    pixels, error = _wait(future, cancel)
                except _Cancelled:
                    return
                pending.popleft()
                items.append(Decoded(path, pixels, error))
                if overlap:
                    top_up()
            yield items
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
