"""Batched, streaming, cancellable classification: paths in, one :class:`Prediction` per file out.

The engine overlaps parallel decoding (``inference.decode``) with the model, runs its own
inference copy of the model (BatchNorm folded into the convolutions, channels_last, ``eval()`` +
``inference_mode()``), and on CUDA uses pinned uint8 batches, non-blocking copies and bf16
autocast. Results come out in input order, errors included, with memory bounded however many
files there are. CPU precision stays fp32 (bf16 moved top-5 sets; see docs/PERFORMANCE.md), and
the model uses one intra-op thread per core (``classify --threads 1`` for busy machines).
``decoder="device"`` decodes JPEGs in batches on the engine's device instead of the CPU pool
(``inference.device_decode``; for GPUs, where Pillow on the CPU is the limit).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence, Sized
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image

from resnet_desktop.core.devices import device_name as _device_name
from resnet_desktop.core.devices import resolve_device
from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.backend_rule import record_auto_accelerator
from resnet_desktop.core.inference.backends import select as select_backend
from resnet_desktop.core.inference.decode import (
    PREFETCH_BATCHES,
    DecodedBatch,
    decode_batches,
    default_workers,
    normalize,
)
from resnet_desktop.core.inference.device_decode import DeviceDecoder, device_decode_batches
from resnet_desktop.core.inference.folding import fold_batchnorm
from resnet_desktop.core.inference.records import ClassScore, Prediction, Progress, RunTimings

if TYPE_CHECKING:
    from resnet_desktop.core.inference.backend_rule import Plan
    from resnet_desktop.core.inference.fast import PhotoSet
    from resnet_desktop.core.inference.onnx_backend import OnnxRuntimeBackend
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

#: Batch size on CPU: small enough for a prompt cancel, large enough that throughput is flat.
CPU_BATCH_SIZE = 8
#: Batch bounds on accelerators; the real size is picked from free memory.
GPU_MIN_BATCH, GPU_MAX_BATCH = 16, 256
#: The engine's precision settings by what their numbers are (``Engine.numeric_precision``).
PRECISION_NAMES = {"fp32": "fp32", "fast": "int8", "torch.bfloat16": "bf16", "torch.float16": "fp16"}
#: Rough bf16 inference working set per 224x224 image for the biggest ResNets, with headroom.
GPU_BYTES_PER_IMAGE = 48 * 1024 * 1024
#: Who decodes: "pool" (Pillow on a thread pool, draft mode for big JPEGs; the default) or "device"
#: (JPEGs batched through torchvision on the engine's device: nvJPEG on CUDA; see device_decode).
DECODERS = ("pool", "device")


def default_batch_size(device: torch.device, crop_size: int = 224) -> int:
    """CPU: a fixed small batch. CUDA: a power of two that fits the free memory, within bounds."""
    if device.type != "cuda":
        return CPU_BATCH_SIZE
    free, _total = torch.cuda.mem_get_info(device)
    per_image = GPU_BYTES_PER_IMAGE * (crop_size / 224) ** 2
    fits = int(free * 0.5 / per_image)
    size = GPU_MIN_BATCH
    while size * 2 <= min(fits, GPU_MAX_BATCH):
        size *= 2
    return size


def _autocast_dtype(device: torch.device) -> torch.dtype | None:
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError)


class Engine:
    """A model placed on a device, ready to classify streams of files.

    The engine runs its own copy of the model (BatchNorm folded, channels_last, on the device), so
    ``loaded.model`` stays on the CPU, unchanged, and the engine can fall back to it after repeated
    out-of-memory.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        device: str | torch.device = "auto",
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        autocast: torch.dtype | None | bool = True,
        backend: str = "torch",
        precision: str = "fp32",
        calibration: Sequence[Path] | None = None,
        decoder: str = "pool",
        photos: PhotoSet | None = None,
        ref: ModelRef | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        """``backend``/``precision`` follow ``backend_rule``; fast mode builds (or reuses) the int8
        graph from ``photos`` (or ``calibration``, split into calibration and verification photos)
        and refuses with ``FastModeRefused`` unless its gate passes. ``ref`` is the reference the
        person gave, remembered with the cached graph so the next start finds it without torch."""
        if decoder not in DECODERS:
            raise SettingsError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
        self.loaded = loaded
        self.preprocessing = loaded.preprocessing
        self.categories = list(loaded.categories)
        self.device = resolve_device(device)
        self.device_name = _device_name(self.device)
        if device == "auto":  # what "auto" found, so a torch-free start can decide without torch
            record_auto_accelerator(self.device_name if self.device.type != "cpu" else None)
        self.workers = workers or default_workers()
        self.batch_size = batch_size or default_batch_size(self.device, self.preprocessing.crop_size)
        if self.batch_size < 1:
            raise SettingsError("the batch size must be at least 1")
        #: Largest chunk the model gets at once; halves on out-of-memory.
        self.forward_batch_size = self.batch_size
        #: Decode the next batches while the model runs (see ``decode_batches``).
        self.overlap = True
        #: Things a person should know about this run (e.g. a fallback to the CPU).
        self.notices: list[str] = []
        self.decoder = decoder
        #: The device decoder (its counters say how many files it took) while ``decoder`` is "device".
        self.device_decoder = DeviceDecoder(self.preprocessing, self.device) if decoder == "device" else None
        #: Where the last (or current) classify run's time went.
        self.last_run: RunTimings | None = None
        if autocast is True:
            self.autocast_dtype = _autocast_dtype(self.device)
        else:
            self.autocast_dtype = autocast or None
        #: The placed PyTorch copy; None while ONNX Runtime runs the model (no second copy in memory).
        self._model: torch.nn.Module | None = None
        #: Pooled backbone outputs of the current forward, collected only while embeddings are asked for.
        self._pooled: list[torch.Tensor] | None = None
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if photos is None and calibration is not None:
            from resnet_desktop.core.inference.fast import split_photos

            photos = split_photos(list(calibration))
        selection = select_backend(
            loaded,
            backend,
            self.device,
            self._ensure_model,
            batch=self.batch_size,
            precision=precision,
            photos=photos,
            refs=[ref] if ref is not None else [],
            workers=self.workers,
            say=say,
        )
        self.backend, self._ort = selection.name, selection.ort
        self.plan: Plan | None = selection.plan
        #: The measurement behind ``auto`` (None when nothing was measured).
        self.backend_choice = selection.choice
        self.precision = precision if self._ort is not None else "fp32"
        self.notices.extend(selection.notices)
        if self._ort is None:
            self._ensure_model()
            self._warm_up()
        else:
            self._model = None  # measured with it, maybe: the runner needs none
        logger.info(
            "Engine ready: %s on %s (%s), batch %d, %d decode workers, autocast %s",
            loaded.arch,
            self.device_name,
            self.backend,
            self.batch_size,
            self.workers,
            self.autocast_dtype,
        )

    # -- model -------------------------------------------------------------------------------

    @staticmethod
    def _place(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """An inference copy: BatchNorm folded into the convolutions, channels_last, on ``device``.

        Folding saves one memory-bound pass per BatchNorm. The copy leaves ``loaded.model``
        untouched for hooks (feature maps) and for a later CPU fallback.
        """
        placed = fold_batchnorm(model.eval())
        return placed.to(device).to(memory_format=torch.channels_last).eval()

    def _hook_pooled(self, model: torch.nn.Module) -> None:
        """The embedding is the input of ``fc``: a hook on ``avgpool`` keeps it, no second forward."""
        pool = getattr(model, "avgpool", None)
        if isinstance(pool, torch.nn.Module) and isinstance(getattr(model, "fc", None), torch.nn.Module):
            # Through a weak reference: the engine holds the model, so a hook holding the engine would be
            # a cycle, and every finished engine (a model lab run, a teach refit) would keep its model
            # copy (~100 MB for resnet50) until the next full garbage collection.
            engine = weakref.ref(self)

            def record_pooled(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
                live = engine()
                if live is not None:
                    live._record_pooled(module, inputs, output)

            pool.register_forward_hook(record_pooled)

    def _ensure_model(self) -> torch.nn.Module:
        """The placed PyTorch model, placed now if it is not (ONNX Runtime engines place it only on demand)."""
        if self._model is None:
            self._model = self._place(self.loaded.model, self.device)
            self._hook_pooled(self._model)
        return self._model

    @property
    def model(self) -> torch.nn.Module:
        """The placed model (on ``device``, channels_last, eval); for benchmarks and diagnostics."""
        return self._ensure_model()

    @property
    def numeric_precision(self) -> str:
        """What the numbers are computed in: "fp32", "bf16"/"fp16" (CUDA autocast) or "int8" (the
        Fast Mode). Part of the library index's identity, so results of two precisions never mix."""
        if self._ort is not None:
            return PRECISION_NAMES.get(self.precision, self.precision)
        if self.autocast_dtype is not None:
            return PRECISION_NAMES.get(str(self.autocast_dtype), str(self.autocast_dtype))
        return "fp32"

    @property
    def onnxruntime(self) -> OnnxRuntimeBackend | None:
        """The ONNX Runtime backend when it runs the model (else None); for benchmarks and diagnostics."""
        return self._ort

    def autocast(self) -> AbstractContextManager[object]:
        """The precision context the engine runs the model in (a no-op for fp32)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _warm_up(self) -> None:
        """On accelerators, one full-size forward pass so the first real batch does not pay for
        kernel selection (and an out-of-memory shows up now). On the CPU the first batch is only
        slightly slower, so no time is spent up front."""
        if self.device.type == "cpu":
            return
        crop = self.preprocessing.crop_size
        pixels = torch.zeros((self.forward_batch_size, 3, crop, crop), dtype=torch.uint8)
        if self.device.type == "cuda":
            pixels = pixels.pin_memory()
        self.logits(pixels)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _run(self, pixels: torch.Tensor) -> torch.Tensor:
        non_blocking = self.device.type == "cuda" and pixels.is_pinned()
        x = normalize(pixels, self.preprocessing, device=self.device, non_blocking=non_blocking)
        with torch.inference_mode(), self.autocast():
            out = self._ensure_model()(x)
        return out.float().cpu()

    def _record_pooled(self, _module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
        if self._pooled is not None:
            self._pooled.append(torch.flatten(output, 1).float().cpu())

    def _after_oom(self) -> None:
        """Halve the chunk size; below 1, move to the CPU (with a notice); on the CPU, give up."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.forward_batch_size > 1:
            self.forward_batch_size //= 2
            logger.warning("Out of memory on %s: batch size now %d", self.device_name, self.forward_batch_size)
            return
        if self.device.type == "cpu":
            raise MemoryError("Out of memory on the CPU even with one image per batch.")
        notice = f"Out of memory on {self.device_name} even with one image per batch; continuing on the CPU."
        logger.warning(notice)
        self.notices.append(notice)
        self.device = torch.device("cpu")
        self.device_name = _device_name(self.device)
        self.autocast_dtype = None
        if self.device_decoder is not None:  # later runs decode on the CPU pool, the CPU's fast path
            self.decoder, self.device_decoder = "pool", None
        self._model = None  # drops the GPU copy
        self._ensure_model()
        self.forward_batch_size = self.batch_size
        torch.cuda.empty_cache()

    def logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """Raw fp32 logits on the CPU for a uint8 ``(N, 3, H, W)`` batch, surviving out-of-memory."""
        return self._forward(pixels, embeddings=False)[0]

    def logits_and_embeddings(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits and the pooled backbone features (``fc``'s input) from the same forward pass.

        The embeddings are ``None`` for a model without ``avgpool`` + ``fc`` (a bare backbone).
        """
        return self._forward(pixels, embeddings=True)

    def _forward(self, pixels: torch.Tensor, *, embeddings: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._ort is not None:  # CPU only: no out-of-memory dance; the graph's second output is the embedding
            ort_logits, ort_vectors = self._ort.run(normalize(pixels, self.preprocessing))
            return ort_logits, ort_vectors if embeddings else None
        outputs: list[torch.Tensor] = []
        self._pooled = [] if embeddings else None
        try:
            start = 0
            while start < pixels.shape[0]:
                chunk = pixels[start : start + self.forward_batch_size]
                kept = len(self._pooled) if self._pooled is not None else 0
                oom = False
                try:
                    outputs.append(self._run(chunk))
                except Exception as exc:
                    if not _is_oom(exc):
                        raise
                    oom = True  # handled outside the except block so the traceback's tensors are freed
                if oom:
                    if self._pooled is not None:
                        del self._pooled[kept:]
                    self._after_oom()
                    continue
                start += chunk.shape[0]
            pooled = self._pooled
        finally:
            self._pooled = None
        logits = torch.cat(outputs) if outputs else torch.empty((0, len(self.categories)))
        vectors = torch.cat(pooled) if pooled else None
        if vectors is not None and vectors.shape[0] != logits.shape[0]:
            vectors = None  # the model does not run avgpool once per image: no embedding
        return logits, vectors

    # -- streaming ---------------------------------------------------------------------------

    def decode(
        self, paths: Iterable[str | Path], *, cancel: threading.Event | None = None
    ) -> Generator[DecodedBatch, None, None]:
        """The engine's own decoder settings (batch size, workers, pinning) over ``paths``."""
        if self.device_decoder is not None:
            return device_decode_batches(
                paths,
                self.device_decoder,
                batch_size=self.batch_size,
                workers=self.workers,
                cancel=cancel,
                prefetch_batches=PREFETCH_BATCHES if self.overlap else 1,
            )
        return decode_batches(
            paths,
            self.preprocessing,
            batch_size=self.batch_size,
            workers=self.workers,
            cancel=cancel,
            pin_memory=self.device.type == "cuda",
            overlap=self.overlap,
        )

    def _predictions(self, batch: DecodedBatch, topk: int, embeddings: bool) -> list[Prediction]:
        pairs = zip(batch.paths, batch.errors, strict=True)
        results: list[Prediction] = [Prediction(path=p, error=e) for p, e in pairs]
        positions = batch.ok_positions
        if positions:
            logits, vectors = self._forward(batch.pixels, embeddings=embeddings)
            probs = logits.softmax(dim=1)
            values, indices = probs.topk(min(topk, probs.shape[1]), dim=1)
            for row, position in enumerate(positions):
                scores = tuple(
                    ClassScore(label=self._label(int(i)), index=int(i), probability=float(v))
                    for v, i in zip(values[row].tolist(), indices[row].tolist(), strict=True)
                )
                vector = vectors[row].numpy() if vectors is not None else None
                results[position] = Prediction(path=batch.paths[position], scores=scores, embedding=vector)
        return results

    def _label(self, index: int) -> str:
        return self.categories[index] if index < len(self.categories) else f"class {index}"

    def classify(
        self,
        paths: Iterable[str | Path],
        *,
        topk: int = 5,
        cancel: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
        total: int | None = None,
        embeddings: bool = False,
    ) -> Iterator[Prediction]:
        """Yield one :class:`Prediction` per input file, in input order, as batches finish.

        ``paths`` is consumed lazily (pass ``images.discover(...)`` directly). ``cancel`` is checked
        between batches and while waiting for decodes; what was yielded before stays valid.
        ``progress`` is called after each batch from the thread iterating this generator.
        ``embeddings`` fills each prediction's ``embedding`` from the same forward pass.
        """
        if topk < 1:
            raise SettingsError("top-k must be at least 1")
        if self._ort is not None:  # numpy pixels straight into ONNX Runtime: no torch tensors on the way
            runner = self._ort.runner
            runner.batch_size, runner.workers, runner.overlap = self.batch_size, self.workers, self.overlap
            yield from runner.classify(
                paths, topk=topk, cancel=cancel, progress=progress, total=total, embeddings=embeddings
            )
            return
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if total is None and isinstance(paths, Sized):
            total = len(paths)
        started = time.perf_counter()
        done = failed = 0
        waited = 0.0
        self.last_run = RunTimings(images=0, elapsed_s=0.0, decode_wait_s=0.0)
        batches = self.decode(paths, cancel=cancel)
        try:
            while True:
                asked = time.perf_counter()
                batch = next(batches, None)
                waited += time.perf_counter() - asked
                if batch is None:
                    return
                for prediction in self._predictions(batch, topk, embeddings):
                    done += 1
                    failed += prediction.error is not None
                    yield prediction
                elapsed = time.perf_counter() - started
                self.last_run = RunTimings(images=done, elapsed_s=elapsed, decode_wait_s=waited)
                if progress is not None:
                    rate = done / elapsed if elapsed > 0 else 0.0
                    progress(Progress(done=done, failed=failed, total=total, images_per_second=rate, elapsed_s=elapsed))
                if cancel is not None and cancel.is_set():
                    return
        finally:
            batches.close()


def reference_logits(loaded: LoadedModel, path: str | Path) -> torch.Tensor:
    """The naive pipeline's fp32 logits: full decode, torchvision's own transform, batch of one."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    x = loaded.preprocessing.reference_transforms()(image)
    model = loaded.model.eval()
    with torch.inference_mode():
        return model(x[None].to(next(model.parameters()).device)).float().cpu()[0]


def reference_predict(loaded: LoadedModel, path: str | Path, topk: int = 5) -> Prediction:
    """What a textbook loop would answer for ``path``: the yardstick for the fast path's accuracy."""
    probs = reference_logits(loaded, path).softmax(dim=0)
    values, indices = probs.topk(min(topk, probs.shape[0]))
    categories = list(loaded.categories)
    scores = tuple(
        ClassScore(label=categories[i] if i < len(categories) else f"class {i}", index=i, probability=v)
        for v, i in zip(values.tolist(), indices.tolist(), strict=True)
    )
    return Prediction(path=Path(path), scores=scores)
