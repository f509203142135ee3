"""Reading the embeddings in the library index: they belong to a backbone (``backbones``), so every
model on one backbone sees the same vectors. The model-id methods serve similar photos and
near-duplicates; the backbone methods serve the teach room (which scores without loading a model).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resnet_desktop.core.library.index_db import IndexConnection, LibraryIndexError

#: Rows per ``IN (...)`` lookup (SQLite's parameter limit is 32766 today, 999 on old builds).
_CHUNK = 500


@dataclass(frozen=True)
class EmbeddingRows:
    """Stored embeddings of one backbone: ``matrix[i]`` (float16, as stored) is ``paths[i]``'s."""

    file_ids: np.ndarray
    paths: list[str]
    sha256: list[str | None]
    matrix: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


class EmbeddingReads(IndexConnection):
    """The embedding reads of ``LibraryIndex``."""

    def _backbone(self, model_id: int) -> int:
        row = self._db.execute("SELECT backbone_id FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None or row[0] is None:
            raise LibraryIndexError(f"The library index has no model {model_id}")
        return int(row[0])

    # -- by model (similar photos, near-duplicates) --------------------------------------------

    def embeddings(
        self, model_id: int, inputs: Sequence[str | Path] | None = None, *, prune: bool = True
    ) -> tuple[list[int], list[Path], np.ndarray]:
        """(file ids, paths, float32 matrix) of the stored embeddings for the model (at or below ``inputs``)."""
        rows = self.embedding_rows(self._backbone(model_id), inputs, prune=prune)
        return rows.file_ids.tolist(), [Path(p) for p in rows.paths], rows.matrix.astype(np.float32)

    def embeddings_version(self, model_id: int) -> tuple[int, int]:
        """(count, last write seq) of the model's embeddings: changes whenever a cached matrix would."""
        return self.backbone_version(self._backbone(model_id))

    def embedding_of(self, path: str | Path, model_id: int) -> np.ndarray | None:
        row = self._db.execute(
            "SELECT e.vector FROM files f JOIN embeddings e ON e.file_id = f.id "
            "WHERE f.path = ? AND e.backbone_id = (SELECT backbone_id FROM models WHERE id = ?)",
            (str(path), model_id),
        ).fetchone()
        return np.frombuffer(row[0], dtype=np.float16).astype(np.float32) if row else None

    def embeddings_since(self, model_id: int, seq: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(file id, seq, float32 vector) written after ``seq``: what an ANN index has not seen yet."""
        for file_id, row_seq, blob in self._db.execute(
            "SELECT file_id, seq, vector FROM embeddings WHERE backbone_id = ? AND seq > ? ORDER BY seq",
            (self._backbone(model_id), seq),
        ):
            yield int(file_id), int(row_seq), np.frombuffer(blob, dtype=np.float16).astype(np.float32)

    def has_embedding(self, file_id: int, model_id: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM embeddings WHERE file_id = ? "
            "AND backbone_id = (SELECT backbone_id FROM models WHERE id = ?)",
            (file_id, model_id),
        ).fetchone()
        return row is not None

    def ann_state(self, model_id: int) -> tuple[int, int, int] | None:
        """(seq reached, vectors the ANN was trained on, dimension) for the model's ANN file, or None."""
        row = self._db.execute(
            "SELECT seq, trained, dim FROM ann_state WHERE backbone_id = ?", (self._backbone(model_id),)
        ).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def embedding_count(self, model_id: int) -> int:
        return self.backbone_version(self._backbone(model_id))[0]

    def ann_path(self, model_id: int) -> Path:
        """The ANN index file of the model's backbone, next to the index."""
        return self.path.with_name(f"{self.path.name}.backbone{self._backbone(model_id)}.faiss")

    # -- by backbone (teach) ---------------------------------------------------------------------

    def backbone_version(self, backbone_id: int) -> tuple[int, int]:
        """(count, last write seq) of a backbone's embeddings: changes whenever a cached matrix would."""
        row = self._db.execute(
            "SELECT count(*), coalesce(max(seq), 0) FROM embeddings WHERE backbone_id = ?", (backbone_id,)
        ).fetchone()
        return int(row[0]), int(row[1])

    def embedding_rows(
        self, backbone_id: int, inputs: Sequence[str | Path] | None = None, *, prune: bool = True
    ) -> EmbeddingRows:
        """Every stored embedding of the backbone (at or below ``inputs``), by path; files gone are pruned.

        The float16 matrix is filled row by row from the cursor, so reading 100,000 vectors never
        holds a second copy of them.
        """
        where, params = self._under(inputs) if inputs else ("1", [])
        count = int(
            self._db.execute(
                f"SELECT count(*) FROM files f JOIN embeddings e ON e.file_id = f.id "
                f"WHERE e.backbone_id = ? AND {where}",
                [backbone_id, *params],
            ).fetchone()[0]
        )
        cursor = self._db.execute(
            f"SELECT f.id, f.path, f.sha256, e.dim, e.vector FROM files f JOIN embeddings e ON e.file_id = f.id "
            f"WHERE e.backbone_id = ? AND {where} ORDER BY f.path",
            [backbone_id, *params],
        )
        ids = np.zeros(count, np.int64)
        paths: list[str] = []
        shas: list[str | None] = []
        matrix: np.ndarray | None = None
        gone: list[int] = []
        n = 0
        for file_id, path, sha, dim, blob in cursor:
            if prune and not os.path.exists(path):
                gone.append(int(file_id))
                continue
            if matrix is None:
                matrix = np.zeros((count, int(dim)), np.float16)
            if n >= count:  # another process added rows since the count: they wait for the next read
                break
            matrix[n] = np.frombuffer(blob, dtype=np.float16)
            ids[n] = file_id
            paths.append(str(path))
            shas.append(sha)
            n += 1
        if gone:
            self._write([("DELETE FROM files WHERE id = ?", (file_id,)) for file_id in gone])
        if matrix is None:
            matrix = np.zeros((0, 0), np.float16)
        return EmbeddingRows(ids[:n], paths, shas, matrix[:n])

    def vectors_by_hash(self, backbone_id: int, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Content hash -> float16 vector, for the hashes with a stored embedding (any copy's)."""
        wanted = list(dict.fromkeys(hashes))
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for sha, blob in self._db.execute(
                f"SELECT f.sha256, e.vector FROM files f JOIN embeddings e ON e.file_id = f.id "
                f"WHERE e.backbone_id = ? AND f.sha256 IN ({marks})",
                [backbone_id, *chunk],
            ):
                out.setdefault(str(sha), np.frombuffer(blob, dtype=np.float16))
        return out

    def files_by_inode(self, inodes: Iterable[int]) -> dict[int, list[tuple[str, int, int, str | None]]]:
        """Inode -> [(path, size, mtime_ns, sha256)] of the files the index knows (a label's last resort)."""
        wanted = list(dict.fromkeys(inodes))
        out: dict[int, list[tuple[str, int, int, str | None]]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for path, size, mtime_ns, inode, sha in self._db.execute(
                f"SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE inode IN ({marks})", chunk
            ):
                out.setdefault(int(inode), []).append((str(path), int(size), int(mtime_ns), sha))
        return out

    def files_by_path(self, paths: Iterable[str]) -> dict[str, tuple[int, int, int, str | None]]:
        """Path -> (size, mtime_ns, inode, sha256) of the files the index knows."""
        wanted = list(dict.fromkeys(paths))
        out: dict[str, tuple[int, int, int, str | None]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for path, size, mtime_ns, inode, sha in self._db.execute(
                f"SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE path IN ({marks})", chunk
            ):
                out[str(path)] = (int(size), int(mtime_ns), int(inode), sha)
        return out
