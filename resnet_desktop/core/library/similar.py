"""Similar photos and near-duplicates from the embeddings in the library index (numpy; faiss when large).

Similarity is the cosine of two embeddings of the same model. Up to ``ANN_THRESHOLD`` stored
vectors an exact matrix-vector product answers a query in tens of milliseconds; above it, a faiss
IVF-Flat index (inverted lists of full vectors, inner product on unit vectors) is kept in a file
next to the index and brought up to date incrementally from the index's write sequence.
``docs/PERFORMANCE.md`` has the measurements behind that choice (faiss HNSW and usearch built
far slower on this kind of machine for the same recall).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.library.index import LibraryIndex

logger = logging.getLogger(__name__)

#: Above this many stored vectors of one model, queries go to the ANN index (when faiss is installed).
ANN_THRESHOLD = 100_000
#: Default cosine above which two photos count as near-duplicates.
DUPLICATE_THRESHOLD = 0.95
#: Inverted lists probed per query: recall >= 0.95 in the benchmark at a few ms per query.
NPROBE = 16
_BLOCK = 2048


@dataclass(frozen=True)
class Neighbour:
    path: Path
    score: float
    file_id: int


def normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), float32, C-contiguous."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def top_k(matrix: np.ndarray, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the ``k`` rows of a unit-row ``matrix`` most similar to ``vector``, best first."""
    if matrix.shape[0] == 0 or k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = matrix @ normalize(vector[None])[0]
    k = min(k, scores.shape[0])
    rows = np.argpartition(-scores, k - 1)[:k]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return rows, scores[rows]


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _faiss() -> Any:
    import faiss  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return faiss


class AnnIndex:
    """A model's faiss IVF-Flat index, stored next to the library index, updated from its write sequence."""

    def __init__(self, index: LibraryIndex, model_id: int) -> None:
        self.index = index
        self.model_id = model_id
        self.path = index.ann_path(model_id)
        self._ivf: Any = None

    def _train(self, dim: int) -> tuple[Any, int]:
        """A new, trained, empty IVF index: ~4*sqrt(n) lists, trained on a sample of the stored vectors."""
        faiss = _faiss()
        ids, _paths, matrix = self.index.embeddings(self.model_id, prune=False)
        count = len(ids)
        lists = max(1, min(int(4 * math.sqrt(count)), count // 39))
        sample = matrix[np.random.default_rng(0).permutation(count)[: lists * 64]]
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.train(normalize(sample))
        return ivf, count

    def update(self) -> Any:
        """Load the stored index and add what was written since (retraining when the library grew 4x)."""
        faiss = _faiss()
        state = self.index.ann_state(self.model_id)
        count = self.index.embedding_count(self.model_id)
        ivf = None
        seq = 0
        trained = 0
        if state is not None and self.path.is_file() and count <= 4 * max(state[1], 1):
            try:
                ivf = faiss.deserialize_index(np.fromfile(self.path, dtype=np.uint8))
                seq, trained = state[0], state[1]
            except Exception as exc:  # noqa: BLE001 - a damaged ANN file is only a cache: rebuild it
                logger.warning("Rebuilding the ANN index %s: %s", self.path, exc)
                ivf = None
        changed = False
        if ivf is None:
            first = next(self.index.embeddings_since(self.model_id, 0), None)
            if first is None:
                return None
            ivf, trained = self._train(first[2].shape[0])
            seq, changed = 0, True
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        for file_id, row_seq, vector in self.index.embeddings_since(self.model_id, seq):
            ids.append(file_id)
            vectors.append(vector)
            seq = max(seq, row_seq)
        if ids:
            id_array = np.asarray(ids, dtype=np.int64)
            ivf.remove_ids(id_array)  # a re-classified file replaces its old vector
            ivf.add_with_ids(normalize(np.stack(vectors)), id_array)
            changed = True
        if changed:
            data = faiss.serialize_index(ivf)
            write_bytes(self.path, np.asarray(data).tobytes(), overwrite=True)
            self.index.set_ann_state(self.model_id, seq, trained, int(ivf.d))
        self._ivf = ivf
        return ivf

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        ivf = self._ivf if self._ivf is not None else self.update()
        if ivf is None:
            return []
        ivf.nprobe = min(NPROBE, ivf.nlist)
        scores, ids = ivf.search(normalize(vector[None]), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def similar(
    index: LibraryIndex,
    model_id: int,
    vector: np.ndarray,
    *,
    k: int = 10,
    inputs: Sequence[str | Path] | None = None,
    exclude: str | Path | None = None,
    ann_threshold: int = ANN_THRESHOLD,
) -> list[Neighbour]:
    """The ``k`` stored photos most similar to ``vector`` (at or below ``inputs`` when given), best first.

    ``exclude`` (the query photo itself) is left out. Exact below ``ann_threshold`` stored vectors
    or without faiss; the ANN index otherwise.
    """
    skip = str(exclude) if exclude is not None else None
    if index.embedding_count(model_id) > ann_threshold and faiss_available():
        return _similar_ann(index, model_id, vector, k, inputs, skip)
    ids, paths, unit = _unit_matrix(index, model_id, inputs)
    rows, scores = top_k(unit, vector, k + 4)
    out = [Neighbour(paths[r], float(s), ids[r]) for r, s in zip(rows.tolist(), scores.tolist(), strict=True)]
    # a cached matrix may hold a photo deleted since: never offer it
    return [n for n in out if str(n.path) != skip and os.path.exists(n.path)][:k]


#: The last unit-row matrix read from an index, so that repeated queries (the GUI) do not read it again.
_matrix_cache: dict[tuple[str, int, tuple[str, ...]], tuple[tuple[int, int], list[int], list[Path], np.ndarray]] = {}


def _unit_matrix(
    index: LibraryIndex, model_id: int, inputs: Sequence[str | Path] | None
) -> tuple[list[int], list[Path], np.ndarray]:
    key = (str(index.path), model_id, tuple(str(p) for p in inputs or ()))
    version = index.embeddings_version(model_id)
    cached = _matrix_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1], cached[2], cached[3]
    ids, paths, matrix = index.embeddings(model_id, inputs)
    unit = normalize(matrix)
    _matrix_cache.clear()  # one matrix at a time: it can be hundreds of MB
    _matrix_cache[key] = (index.embeddings_version(model_id), ids, paths, unit)
    return ids, paths, unit


def _similar_ann(
    index: LibraryIndex,
    model_id: int,
    vector: np.ndarray,
    k: int,
    inputs: Sequence[str | Path] | None,
    skip: str | None,
) -> list[Neighbour]:
    ask = k + 1 if not inputs else 20 * k  # a folder filter is applied to the answer: ask for more
    found = AnnIndex(index, model_id).search(vector, ask)
    paths = index.paths_of([file_id for file_id, _score in found])
    prefixes = [str(Path(p).absolute()) for p in inputs or ()]
    out: list[Neighbour] = []
    for file_id, score in found:
        path = paths.get(file_id)
        if path is None or str(path) == skip or not os.path.exists(path):
            continue  # forgotten or deleted since the ANN index last saw it
        if prefixes and not any(str(path) == p or str(path).startswith(p.rstrip(os.sep) + os.sep) for p in prefixes):
            continue
        out.append(Neighbour(path, score, file_id))
    return out[:k]


def duplicate_groups(matrix: np.ndarray, threshold: float = DUPLICATE_THRESHOLD) -> list[list[int]]:
    """Rows whose cosine is at least ``threshold`` to another row, grouped (transitively), each group
    sorted, groups by their first row. Blocked so that memory stays O(block x n)."""
    unit = normalize(matrix)
    n = unit.shape[0]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, n, _BLOCK):
        block = unit[start : start + _BLOCK] @ unit.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = find(start + r), find(c)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])
