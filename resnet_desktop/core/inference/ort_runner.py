"""Classification on ONNX Runtime without torch: Pillow + numpy pixels, an ORT session, a numpy head.

The runner takes a model the graph cache knows (``graph_store.StoredModel``): the backbone's graph
gives the embedding, the model's own ``fc`` (fp32, in numpy) gives the logits, so every head on one
backbone shares one graph and the int8 graph's last layer stays exact. It streams the same
``Prediction`` records as the PyTorch engine, in input order, errors included, with the same cancel
and progress contract, and decodes in the same bounded thread pool (``inference.batching``).
Nothing on this route imports torch; the PyTorch engine runs its ONNX Runtime backend through it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.batching import Decoded, decoded_batches, default_workers
from resnet_desktop.core.inference.pixels import decode_array, normalize_array
from resnet_desktop.core.inference.records import ClassScore, Prediction, Progress
from resnet_desktop.core.models.backbone import EMBEDDING_NAME, INPUT_NAME
from resnet_desktop.core.models.ort_session import session as ort_session

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from resnet_desktop.core.inference.backend_rule import Plan
    from resnet_desktop.core.inference.graph_store import StoredModel

logger = logging.getLogger(__name__)

#: Batch size on the CPU: small enough for a prompt cancel, large enough that throughput is flat.
CPU_BATCH_SIZE = 8


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def top_k(probs: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
    """The ``k`` largest probabilities per row, largest first (ties: lower class index first)."""
    k = min(k, probs.shape[1])
    indices = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(probs, indices, axis=1), indices


def predictions(
    paths: list[Path],
    errors: list[str | None],
    logits: NDArray[np.float32],
    vectors: NDArray[np.float32] | None,
    categories: list[str],
    topk: int,
) -> list[Prediction]:
    """One record per file: ``logits[j]`` (and ``vectors[j]``) belong to the j-th file without an error."""
    results = [Prediction(path=p, error=e) for p, e in zip(paths, errors, strict=True)]
    positions = [i for i, error in enumerate(errors) if error is None]
    if positions:
        values, indices = top_k(softmax(np.array(logits, dtype=np.float32)), topk)
        for row, position in enumerate(positions):
            scores = tuple(
                ClassScore(
                    label=categories[i] if i < len(categories) else f"class {i}", index=int(i), probability=float(v)
                )
                for v, i in zip(values[row].tolist(), indices[row].tolist(), strict=True)
            )
            vector = vectors[row] if vectors is not None else None
            results[position] = Prediction(path=paths[position], scores=scores, embedding=vector)
    return results


class OrtRunner:
    """A cached model on ONNX Runtime (fp32 or the verified int8 graph), ready to classify streams of files."""

    backend = "onnxruntime"
    device_name = "CPU"

    def __init__(
        self,
        stored: StoredModel,
        *,
        graph: Path | None = None,
        precision: str = "fp32",
        threads: int | None = None,
        batch_size: int | None = None,
        workers: int | None = None,
        plan: Plan | None = None,
        notices: Iterable[str] = (),
    ) -> None:
        self.stored = stored
        self.categories = list(stored.categories)
        self.preprocessing = stored.preprocessing
        self.source = stored.source
        self.precision = precision
        self.plan = plan
        self.threads = threads or default_workers()
        self.workers = workers or default_workers()
        self.batch_size = batch_size or CPU_BATCH_SIZE
        if self.batch_size < 1:
            raise SettingsError("the batch size must be at least 1")
        #: Decode the next batches while the model runs (see ``batching.decoded_batches``).
        self.overlap = True
        self.notices: list[str] = list(notices)
        self.graph_path = graph or stored.fp32_graph()
        self.session = ort_session(self.graph_path, threads=self.threads)
        self.weight, self.bias = stored.head()
        self._weight_t = np.ascontiguousarray(self.weight.T)

    def run(self, x: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Logits and embeddings of a normalised float32 ``(N, 3, H, W)`` batch."""
        (embedding,) = self.session.run([EMBEDDING_NAME], {INPUT_NAME: np.ascontiguousarray(x, dtype=np.float32)})
        vectors = np.asarray(embedding, dtype=np.float32)
        logits = vectors @ self._weight_t
        logits += self.bias
        return logits, vectors

    def run_pixels(self, pixels: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Logits and embeddings of a uint8 ``(N, 3, H, W)`` batch."""
        return self.run(normalize_array(pixels, self.preprocessing))

    def decode(
        self, paths: Iterable[str | Path], *, cancel: threading.Event | None = None
    ) -> Iterator[list[Decoded[NDArray[np.uint8]]]]:
        preprocessing = self.preprocessing

        def decode(path: Path) -> tuple[NDArray[np.uint8] | None, str | None]:
            return decode_array(path, preprocessing)

        return decoded_batches(
            paths, decode, batch_size=self.batch_size, workers=self.workers, cancel=cancel, overlap=self.overlap
        )

    def _predictions(self, items: list[Decoded[NDArray[np.uint8]]], topk: int, embeddings: bool) -> list[Prediction]:
        errors = [d.error if d.error is not None or d.pixels is not None else "no pixels produced" for d in items]
        ok = [d.pixels for d, e in zip(items, errors, strict=True) if e is None and d.pixels is not None]
        if not ok:
            empty = np.empty((0, len(self.categories)), dtype=np.float32)
            return predictions([d.path for d in items], errors, empty, None, self.categories, topk)
        logits, vectors = self.run_pixels(np.stack(ok))
        return predictions(
            [d.path for d in items], errors, logits, vectors if embeddings else None, self.categories, topk
        )

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
        """Yield one :class:`Prediction` per input file, in input order, as batches finish
        (the contract of ``Engine.classify``)."""
        if topk < 1:
            raise SettingsError("top-k must be at least 1")
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if total is None and isinstance(paths, Sized):
            total = len(paths)
        started = time.perf_counter()
        done = failed = 0
        for items in self.decode(paths, cancel=cancel):
            for prediction in self._predictions(items, topk, embeddings):
                done += 1
                failed += prediction.error is not None
                yield prediction
            if progress is not None:
                elapsed = time.perf_counter() - started
                rate = done / elapsed if elapsed > 0 else 0.0
                progress(Progress(done=done, failed=failed, total=total, images_per_second=rate, elapsed_s=elapsed))
            if cancel is not None and cancel.is_set():
                return
