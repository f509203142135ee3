"""Writing the library index: one batch of engine results per transaction (so a killed run keeps
every batch committed before it), sessions, the ANN state, forgetting a folder, clearing it all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.identity import FileStat
from resnet_desktop.core.library.index_db import IndexConnection, LibraryIndexError, scores_json


class IndexWrites(IndexConnection):
    """The writes of ``LibraryIndex``; each is one short transaction (``IndexConnection._write``)."""

    # -- writes ------------------------------------------------------------------------------

    def store(self, model_id: int, topk: int, items: Sequence[tuple[FileStat, str | None, Prediction]]) -> None:
        """Commit one batch of engine results: (stat taken before classifying, sha256, prediction).

        One transaction per batch: a run killed at any moment keeps every batch committed before it.
        """
        if not items:
            return
        now = time.time()
        backbone = self._db.execute("SELECT backbone_id FROM models WHERE id = ?", (model_id,)).fetchone()
        if backbone is None or backbone[0] is None:
            raise LibraryIndexError(f"The library index has no model {model_id}")
        backbone_id = int(backbone[0])
        statements: list[tuple[str, Sequence[Any]]] = []
        for stat, sha, prediction in items:
            statements.append(
                (
                    "INSERT INTO files(path, size, mtime_ns, inode, sha256, seen) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                    "inode = excluded.inode, sha256 = excluded.sha256, seen = excluded.seen",
                    (stat.path, stat.size, stat.mtime_ns, stat.inode, sha, now),
                )
            )
            file_ref = "(SELECT id FROM files WHERE path = ?)"
            scores = scores_json(prediction) if prediction.error is None else None
            statements.append(
                (
                    f"INSERT OR REPLACE INTO results(file_id, model_id, topk, scores, error, updated) "
                    f"VALUES ({file_ref}, ?, ?, ?, ?, ?)",
                    (stat.path, model_id, topk, scores, prediction.error, now),
                )
            )
            if prediction.embedding is not None and prediction.error is None:
                vector = np.asarray(prediction.embedding, dtype=np.float16)
                statements.append(
                    (
                        # seq is taken inside the transaction, so two writers never share one
                        f"INSERT OR REPLACE INTO embeddings(file_id, backbone_id, dim, vector, seq) "
                        f"VALUES ({file_ref}, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM embeddings))",
                        (stat.path, backbone_id, int(vector.shape[0]), vector.tobytes()),
                    )
                )
            else:
                statements.append(
                    (
                        f"DELETE FROM embeddings WHERE file_id = {file_ref} AND backbone_id = ?",
                        (stat.path, backbone_id),
                    )
                )
        self._write(statements)

    def store_results(self, model_id: int, topk: int, items: Sequence[tuple[FileStat, Prediction]]) -> None:
        """Results only, for files the index knows (their embeddings are left alone): what a head computed
        from stored embeddings (the teach room's versions), so a run of that model finds them."""
        now = time.time()
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO results(file_id, model_id, topk, scores, error, updated) "
                    "SELECT id, ?, ?, ?, NULL, ? FROM files WHERE path = ? AND size = ? AND mtime_ns = ?",
                    (model_id, topk, scores_json(prediction), now, stat.path, stat.size, stat.mtime_ns),
                )
                for stat, prediction in items
            ]
        )

    def add_session(self, model_id: int, inputs: Sequence[str | Path], topk: int, *, run: str | None = None) -> int:
        """Remember a classify run's inputs; ``run`` ties the sessions of one app run together."""
        self._write(
            [
                (
                    "INSERT INTO sessions(model_id, inputs, topk, started, run) VALUES (?, ?, ?, ?, ?)",
                    (model_id, json.dumps([str(p) for p in inputs]), topk, time.time(), run),
                )
            ]
        )
        return int(self._db.execute("SELECT max(id) FROM sessions").fetchone()[0])

    def set_ann_state(self, model_id: int, seq: int, trained: int, dim: int) -> None:
        """Where the ANN file of the model's backbone has got to."""
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO ann_state(backbone_id, seq, trained, dim) "
                    "VALUES ((SELECT backbone_id FROM models WHERE id = ?), ?, ?, ?)",
                    (model_id, seq, trained, dim),
                )
            ]
        )

    # -- hygiene ---------------------------------------------------------------------------

    def forget(self, folder: str | Path) -> int:
        """Drop everything stored about files at or below ``folder`` (and its sessions); the count."""
        where, params = self._under([folder])
        ids = [int(r[0]) for r in self._db.execute(f"SELECT f.id FROM files f WHERE {where}", params)]
        statements: list[tuple[str, Sequence[Any]]] = [("DELETE FROM files WHERE id = ?", (i,)) for i in ids]
        target = str(folder)
        for session_id, inputs in self._db.execute("SELECT id, inputs FROM sessions").fetchall():
            if any(Path(p) == Path(target) or Path(target) in Path(p).parents for p in json.loads(inputs)):
                statements.append(("DELETE FROM sessions WHERE id = ?", (session_id,)))
        self._write(statements)
        return len(ids)

    def clear(self) -> None:
        """Forget everything (the file stays, empty)."""
        self._write(
            [
                (f"DELETE FROM {table}", ())
                for table in ("sessions", "ann_state", "embeddings", "results", "files", "models", "backbones")
            ]
        )
        self._db.execute("VACUUM")
