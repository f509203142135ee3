"""What runs ON the cluster: the model package, the per-actor classifier and the job's driver actor.

The Ray Data pipeline is ``from_arrow(manifest) -> map_batches(Classifier, actor pool) ->
iter_batches``. Each actor unpacks the model once (safetensors weights + names, no code) and runs
the project's own ``Engine`` on its batch of paths, so decoding (draft mode), errors (one row per bad
file, the same text as locally) and top-k are exactly the local ones. The files are read by the
workers themselves, not by ``read_binary_files``: a file that cannot be read must become an error
row, never a failed job. The driver runs as an actor on the cluster because Ray Data cannot
execute through a Ray Client connection; the client polls it for finished tables.
"""

from __future__ import annotations

import hashlib
import logging
import math
import queue
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from resnet_desktop.core.cluster import results
from resnet_desktop.core.cluster.remote_files import fetch, is_uri
from resnet_desktop.core.inference.records import Prediction

logger = logging.getLogger(__name__)

#: How long one ``Driver.next`` call waits for results before answering "nothing yet" (seconds).
POLL_S = 0.5
#: Most rows one ``Driver.next`` hands back (one Parquet part).
PART_ROWS = 4096
#: Finished tables the driver keeps before the pipeline waits for the client (backpressure).
QUEUE_TABLES = 16


@dataclass(frozen=True)
class ModelPackage:
    """A model as plain data: safetensors weights, architecture, class names, preprocessing."""

    arch: str
    categories: list[str]
    preprocessing: dict[str, Any]
    weights: bytes = field(repr=False)
    model_id: str
    source: str


def package_model(loaded: Any) -> ModelPackage:
    """Client side: turn a ``LoadedModel`` into a package (its weights as safetensors bytes)."""
    from safetensors.torch import save

    state = {k: v.detach().to("cpu").contiguous() for k, v in loaded.model.state_dict().items()}
    weights = save(state)
    digest = hashlib.sha256(weights).hexdigest()[:16]
    name = loaded.weights_name or (loaded.custom_file.name if loaded.custom_file else "weights")
    return ModelPackage(
        arch=loaded.arch,
        categories=list(loaded.categories),
        preprocessing=loaded.preprocessing.to_dict(),
        weights=weights,
        model_id=f"{loaded.arch}:{name}:sha256-{digest}",
        source=loaded.source,
    )


def unpack_model(package: ModelPackage) -> Any:
    """Worker side: the ``LoadedModel`` back, built with the project's own model code."""
    from safetensors.torch import load

    from resnet_desktop.core.models import weights as weights_io
    from resnet_desktop.core.models import zoo
    from resnet_desktop.core.models.spec import Preprocessing

    model = zoo.build_model(package.arch, len(package.categories))
    weights_io.apply_state_dict(model, load(package.weights), source=package.model_id)
    return zoo.LoadedModel(
        model=model.eval(),
        arch=package.arch,
        categories=list(package.categories),
        preprocessing=Preprocessing.from_dict(package.preprocessing, source=package.model_id),
        source=package.source,
    )


@dataclass(frozen=True)
class Plan:
    """How a job uses the cluster: actors, images per call, GPUs and CPU threads per actor."""

    actors: int
    batch_size: int
    gpus_per_actor: float
    cpus_per_actor: int


@dataclass(frozen=True)
class JobSettings:
    topk: int = 5
    #: Images per model call (and per Ray batch); None: 8 on CPUs, 64 per GPU.
    batch_size: int | None = None
    #: CPU threads (torch + decoding) per actor; None: 1 without GPUs, else the CPUs per GPU.
    cpus_per_actor: int | None = None
    #: Actor pool size; None: one per GPU, else one per ``cpus_per_actor`` CPUs of the cluster.
    actors: int | None = None

    def plan(self, resources: dict[str, float]) -> Plan:
        """The plan for a cluster with ``resources`` (``ray.cluster_resources()``)."""
        cpus = max(1, int(resources.get("CPU", 1)))
        gpus = int(resources.get("GPU", 0))
        if gpus:
            # Decoding runs in the actor's threads: give each GPU its share of the cores.
            threads = self.cpus_per_actor or max(1, cpus // gpus)
            return Plan(self.actors or gpus, self.batch_size or 64, 1.0, threads)
        threads = self.cpus_per_actor or 1
        return Plan(self.actors or max(1, cpus // threads), self.batch_size or 8, 0.0, threads)


class Classifier:
    """The actor's model: unpacked once in ``__init__``, then one call per batch of paths."""

    def __init__(self, package: ModelPackage | list[Any], settings: JobSettings, plan: Plan) -> None:
        import torch

        from resnet_desktop.core.inference.engine import Engine

        torch.set_num_threads(plan.cpus_per_actor)
        if not isinstance(package, ModelPackage):  # [ObjectRef]: fetched from the object store, once
            import ray

            package = cast(ModelPackage, ray.get(package[0]))
        self.topk = settings.topk
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.engine = Engine(unpack_model(package), device, batch_size=plan.batch_size, workers=plan.cpus_per_actor)
        # each row says its precision, so the library index never serves a bf16 result to an fp32 run
        self.model_id = results.with_precision(package.model_id, self.engine.numeric_precision)

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        paths = [str(p) for p in batch["path"]]
        seqs = [int(s) for s in batch["seq"]]
        if not any(is_uri(p) for p in paths):
            predictions = list(self.engine.classify(paths, topk=self.topk, embeddings=True))
            return results.to_table(predictions, seqs, self.model_id, paths)
        with tempfile.TemporaryDirectory(prefix="resnet-desktop-fetch-") as folder:
            return results.to_table(self._classify_uris(paths, Path(folder)), seqs, self.model_id, paths)

    def _classify_uris(self, paths: list[str], folder: Path) -> list[Prediction]:
        """Copy remote files next to the worker, classify the copies, answer under the URIs."""
        local: dict[int, Path] = {}
        answers: list[Prediction | None] = []
        for index, path in enumerate(paths):
            copy, reason = fetch(path, folder, index) if is_uri(path) else (Path(path), None)
            if copy is not None:
                local[index] = copy
            answers.append(Prediction(path=Path(path), error=reason) if reason is not None else None)
        found = self.engine.classify(list(local.values()), topk=self.topk, embeddings=True)
        for i, prediction in zip(local, found, strict=True):
            answers[i] = replace(prediction, path=Path(paths[i]))
        return [a for a in answers if a is not None]


class Driver:
    """The job's driver, an actor on the cluster: runs the pipeline, queues finished tables."""

    def __init__(self, manifest: Any, package_ref: list[Any], settings: JobSettings) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=QUEUE_TABLES)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(manifest, package_ref, settings), name="cluster-driver", daemon=True
        )
        self._thread.start()

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, manifest: Any, package_ref: list[Any], settings: JobSettings) -> None:
        try:
            import ray
            import ray.data

            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # the client shows its own progress line
            plan = settings.plan(ray.cluster_resources())
            pool, batch_size = plan.actors, plan.batch_size
            rows = manifest.num_rows
            # Enough blocks to keep every actor busy, few enough that scheduling stays cheap.
            block_rows = max(batch_size, min(batch_size * 4, math.ceil(rows / (pool * 4)) or 1))
            blocks = [manifest.slice(start, block_rows) for start in range(0, rows, block_rows)]
            dataset = ray.data.from_arrow(blocks).map_batches(
                Classifier,
                fn_constructor_args=(package_ref, settings, plan),
                batch_size=batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=pool),
                num_cpus=plan.cpus_per_actor,
                num_gpus=plan.gpus_per_actor,
            )
            for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                if not self._put(("table", table)):
                    return
            self._put(("done", None))
        except BaseException as exc:
            logger.exception("cluster job failed")
            self._put(("error", f"{type(exc).__name__}: {exc}"))

    def next(self, max_rows: int = PART_ROWS) -> tuple[str, Any]:
        """("table", rows) joined up to ``max_rows``; ("wait", None); ("done", None); ("error", text)."""
        import pyarrow as pa

        try:
            kind, item = self._queue.get(timeout=POLL_S)
        except queue.Empty:
            return ("wait", None)
        if kind != "table":
            return (kind, item)
        tables = [item]
        count = item.num_rows
        while count < max_rows:
            try:
                kind, more = self._queue.get_nowait()
            except queue.Empty:
                break
            if kind != "table":
                self._queue.put((kind, more))  # seen on the next call, after this table
                break
            tables.append(more)
            count += more.num_rows
        return ("table", pa.concat_tables(tables))

    def stop(self) -> None:
        self._stop.set()
