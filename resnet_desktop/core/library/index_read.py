"""Reading the library index: model and backbone rows, the lookup of a file's stored result (by
path, or by content when it was moved or copied), results below folders, sessions, sizes.
(Embeddings are read in ``index_embeddings``.)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_desktop.core.images.reasons import is_about_the_content
from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.identity import BackboneIdentity, FileStat, ModelIdentity, sha256_file
from resnet_desktop.core.library.index_db import IndexConnection, LibraryIndexError, parse_scores
from resnet_desktop.core.library.schema import LEGACY_BACKBONE, model_key

#: The precisions an engine writes (``Engine.numeric_precision``), for readers that do not run one.
STORED_PRECISIONS = ("fp32", "bf16", "fp16", "int8")

#: Paths per lookup query (SQLite allows 32,766 parameters; 500 keeps each statement small).
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Hit:
    """A result that came back from the index (``moved_from`` when it was found by content)."""

    prediction: Prediction
    file_id: int
    moved_from: str | None = None


@dataclass(frozen=True)
class IndexInfo:
    path: Path
    size_bytes: int
    files: int
    results: int
    embeddings: int
    models: int
    backbones: int = 0


def _stored_hit(
    stat: FileStat, row: tuple[int, int, int, int | None, str | None, str | None], topk: int, path: Path | None
) -> Hit | None:
    """The stored result of the file known by this path, if it is still valid for ``stat``."""
    file_id, size, mtime_ns, stored_topk, scores, error = row
    unchanged = size == stat.size and mtime_ns == stat.mtime_ns
    if unchanged and scores is not None and stored_topk is not None and stored_topk >= topk:
        return Hit(Prediction(path=path or Path(stat.path), scores=parse_scores(scores, topk)), file_id)
    if unchanged and error is not None and is_about_the_content(str(error)):
        return Hit(Prediction(path=path or Path(stat.path), scores=(), error=str(error)), file_id)
    return None  # changed (its row is updated when the result comes), or not classified deeply enough


class IndexReads(IndexConnection):
    """The lookups of ``LibraryIndex`` (a lookup that finds a moved file also moves its row)."""

    # -- models ------------------------------------------------------------------------------

    def model_id(self, identity: ModelIdentity) -> int:
        """The row of ``identity`` (created on first use), with its backbone row.

        A model carried over from a version-2 index has a provisional backbone until it is loaded
        again; then its embeddings join the backbone they really belong to (``_settle_backbone``).
        """
        row = self._db.execute(
            "SELECT m.id, b.id, b.key FROM models m LEFT JOIN backbones b ON b.id = m.backbone_id WHERE m.key = ?",
            (identity.key,),
        ).fetchone()
        if row is not None and row[2] == identity.backbone.key:
            return int(row[0])
        if row is not None and row[2] is not None and row[2].startswith(LEGACY_BACKBONE):
            self._settle_backbone(int(row[1]), identity.backbone)
            return int(row[0])
        backbone_id = self.backbone_id(identity.backbone)
        statements: list[tuple[str, Sequence[Any]]] = []
        if row is not None:  # same name, other backbone weights (e.g. another torch's random init)
            statements.append(("DELETE FROM models WHERE id = ?", (int(row[0]),)))
        statements.append(
            (
                "INSERT OR IGNORE INTO models(key, arch, weights, preprocessing, description, created, "
                "backbone_id, precision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    identity.key,
                    identity.arch,
                    identity.weights,
                    identity.preprocessing,
                    identity.description,
                    time.time(),
                    backbone_id,
                    identity.precision,
                ),
            )
        )
        self._write(statements)
        return int(self._db.execute("SELECT id FROM models WHERE key = ?", (identity.key,)).fetchone()[0])

    def stored_model_id(self, identity: ModelIdentity) -> int:
        """For reading (similar photos, reopening): the row of ``identity`` when the index holds results
        for it, else the same model's row at the precision with the most results (a library classified
        on a GPU in bf16 is still found by a reader that assumes fp32)."""
        best: tuple[int, int] | None = None
        for precision in STORED_PRECISIONS:
            row = self._db.execute(
                "SELECT m.id, (SELECT count(*) FROM results r WHERE r.model_id = m.id) FROM models m WHERE m.key = ?",
                (model_key(identity.base_key, precision),),
            ).fetchone()
            if row is None or not row[1]:
                continue
            if precision == identity.precision:
                break  # its own rows win
            if best is None or int(row[1]) > best[0]:
                best = (int(row[1]), int(row[0]))
        else:
            if best is not None:
                return best[1]
        return self.model_id(identity)

    def backbone_id(self, identity: BackboneIdentity) -> int:
        """The row of a backbone (created on first use): what embeddings are stored under."""
        row = self._db.execute("SELECT id FROM backbones WHERE key = ?", (identity.key,)).fetchone()
        if row is not None:
            return int(row[0])
        self._write([_insert_backbone(identity)])
        return int(self._db.execute("SELECT id FROM backbones WHERE key = ?", (identity.key,)).fetchone()[0])

    def backbone_identity(self, key: str) -> BackboneIdentity | None:
        """The stored identity of a backbone (the teach room names models on it without loading one)."""
        row = self._db.execute(
            "SELECT arch, weights, preprocessing, precision, description FROM backbones WHERE key = ?", (key,)
        ).fetchone()
        return BackboneIdentity(*(str(v) for v in row)) if row is not None else None

    def find_backbone(self, key: str) -> int | None:
        """The backbone row with this key, without creating one (no model needed: the teach room)."""
        row = self._db.execute("SELECT id FROM backbones WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else None

    def backbone_of(self, model_id: int) -> int:
        """The backbone a model's embeddings are stored under."""
        row = self._db.execute("SELECT backbone_id FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None or row[0] is None:
            raise LibraryIndexError(f"The library index has no model {model_id}")
        return int(row[0])

    def _settle_backbone(self, legacy_id: int, identity: BackboneIdentity) -> None:
        """A provisional backbone becomes the real one, or its embeddings move into the real one."""
        real = self._db.execute("SELECT id FROM backbones WHERE key = ?", (identity.key,)).fetchone()
        if real is None:
            self._write(
                [
                    (
                        "UPDATE backbones SET key = ?, arch = ?, weights = ?, preprocessing = ?, precision = ?, "
                        "description = ? WHERE id = ?",
                        (
                            identity.key,
                            identity.arch,
                            identity.weights,
                            identity.preprocessing,
                            identity.precision,
                            identity.description,
                            legacy_id,
                        ),
                    )
                ]
            )
            return
        self._write(
            [
                (
                    # new write numbers, above every one so far, so an ANN index picks the rows up
                    "INSERT OR IGNORE INTO embeddings(file_id, backbone_id, dim, vector, seq) "
                    "SELECT file_id, ?, dim, vector, seq + (SELECT coalesce(max(seq), 0) FROM embeddings) "
                    "FROM embeddings WHERE backbone_id = ?",
                    (int(real[0]), legacy_id),
                ),
                ("UPDATE models SET backbone_id = ? WHERE backbone_id = ?", (int(real[0]), legacy_id)),
                ("DELETE FROM backbones WHERE id = ?", (legacy_id,)),
            ]
        )

    def models(self) -> list[tuple[int, str]]:
        """(id, description) of every model with stored results, oldest first."""
        rows = self._db.execute("SELECT id, description FROM models ORDER BY id").fetchall()
        return [(int(i), str(d)) for i, d in rows]

    def model_description(self, model_id: int) -> str | None:
        row = self._db.execute("SELECT description FROM models WHERE id = ?", (model_id,)).fetchone()
        return str(row[0]) if row else None

    # -- lookups -----------------------------------------------------------------------------

    def lookup(self, stat: FileStat, model_id: int, topk: int) -> Hit | None:
        """The stored result for this exact file (same path, size and mtime), or one found by content.

        A file known under another path whose old path is gone was moved: its row follows it. A copy
        (old path still there) gets its own row with the same result. A failure is remembered while the
        file is unchanged when it is about the file's own bytes (truncated, not an image); a failure that
        depends on the machine (permission, a missing decoder) is tried again.
        """
        return self.lookup_many([stat], model_id, topk)[0]

    def lookup_many(
        self, stats: Sequence[FileStat], model_id: int, topk: int, paths: Sequence[Path] | None = None
    ) -> list[Hit | None]:
        """``lookup`` of many files: one query per ``LOOKUP_CHUNK`` paths; only files the index does not
        know by path are looked for by content (one query each). ``paths``: the ``Path`` of each stat,
        used in the hits' predictions (making 10,000 of them again costs more than the query)."""
        rows: dict[str, tuple[int, int, int, int | None, str | None, str | None]] = {}
        for start in range(0, len(stats), LOOKUP_CHUNK):
            chunk = [s.path for s in stats[start : start + LOOKUP_CHUNK]]
            marks = ",".join("?" * len(chunk))
            for path, *row in self._db.execute(
                "SELECT f.path, f.id, f.size, f.mtime_ns, r.topk, r.scores, r.error FROM files f "
                f"LEFT JOIN results r ON r.file_id = f.id AND r.model_id = ? WHERE f.path IN ({marks})",
                [model_id, *chunk],
            ):
                rows[str(path)] = (int(row[0]), int(row[1]), int(row[2]), row[3], row[4], row[5])
        out: list[Hit | None] = []
        for position, stat in enumerate(stats):
            row = rows.get(stat.path)
            if row is None:
                out.append(self._find_moved(stat, model_id, topk))
            else:
                out.append(_stored_hit(stat, row, topk, paths[position] if paths is not None else None))
        return out

    def _find_moved(self, stat: FileStat, model_id: int, topk: int) -> Hit | None:
        candidates = self._db.execute(
            "SELECT f.id, f.path, f.mtime_ns, f.inode, f.sha256 FROM files f "
            "JOIN results r ON r.file_id = f.id AND r.model_id = ? "
            "WHERE f.size = ? AND r.scores IS NOT NULL AND r.topk >= ?",
            (model_id, stat.size, topk),
        ).fetchall()
        if not candidates:
            return None
        sha: str | None = None
        for file_id, old_path, mtime_ns, inode, stored_sha in candidates:
            if inode == stat.inode and mtime_ns == stat.mtime_ns and not os.path.exists(old_path):
                return self._adopt(int(file_id), str(old_path), stat, stored_sha, model_id, topk)
            if stored_sha is None:
                continue
            if sha is None:
                try:
                    sha = sha256_file(Path(stat.path))
                except OSError:
                    return None
            if sha == stored_sha:
                return self._adopt(int(file_id), str(old_path), stat, sha, model_id, topk)
        return None

    def _adopt(self, file_id: int, old_path: str, stat: FileStat, sha: str | None, model_id: int, topk: int) -> Hit:
        """A file found by content: the row moves with it, or a copy gets the same result and embedding."""
        now = time.time()
        if not os.path.exists(old_path):
            self._write(
                [
                    (
                        "UPDATE files SET path = ?, size = ?, mtime_ns = ?, inode = ?, sha256 = ?, seen = ? "
                        "WHERE id = ?",
                        (stat.path, stat.size, stat.mtime_ns, stat.inode, sha, now, file_id),
                    )
                ]
            )
            new_id = file_id
        else:
            self._write(
                [
                    (
                        "INSERT INTO files(path, size, mtime_ns, inode, sha256, seen) VALUES (?, ?, ?, ?, ?, ?)",
                        (stat.path, stat.size, stat.mtime_ns, stat.inode, sha, now),
                    ),
                    (
                        "INSERT INTO results(file_id, model_id, topk, scores, error, updated) "
                        "SELECT (SELECT id FROM files WHERE path = ?), model_id, topk, scores, error, ? "
                        "FROM results WHERE file_id = ?",
                        (stat.path, now, file_id),
                    ),
                    (
                        "INSERT INTO embeddings(file_id, backbone_id, dim, vector, seq) "
                        "SELECT (SELECT id FROM files WHERE path = ?), backbone_id, dim, vector, "
                        "seq + (SELECT coalesce(max(seq), 0) FROM embeddings) FROM embeddings WHERE file_id = ?",
                        (stat.path, file_id),
                    ),
                ]
            )
            new_id = int(self._db.execute("SELECT id FROM files WHERE path = ?", (stat.path,)).fetchone()[0])
        scores = self._db.execute(
            "SELECT scores FROM results WHERE file_id = ? AND model_id = ?", (new_id, model_id)
        ).fetchone()[0]
        return Hit(Prediction(path=Path(stat.path), scores=parse_scores(scores, topk)), new_id, moved_from=old_path)

    # -- reading back ------------------------------------------------------------------------

    def last_session(self) -> tuple[int, list[Path], int] | None:
        """(model id, inputs, top-k) of the latest session, or None."""
        row = self._db.execute("SELECT model_id, inputs, topk FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return int(row[0]), [Path(p) for p in json.loads(row[1])], int(row[2])

    def recent_files(self, limit: int) -> list[Path]:
        """The files classified most recently (readable ones: they have a content hash), newest first."""
        rows = self._db.execute(
            "SELECT path FROM files WHERE sha256 IS NOT NULL ORDER BY seen DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Path(path) for (path,) in rows]

    def folders(self) -> list[Path]:
        """The inputs of past sessions, newest first, each once."""
        seen: dict[str, None] = {}
        for (inputs,) in self._db.execute("SELECT inputs FROM sessions ORDER BY id DESC"):
            for item in json.loads(inputs):
                seen.setdefault(item, None)
        return [Path(p) for p in seen]

    def results_under(
        self, inputs: Sequence[str | Path], model_id: int, topk: int = 5, *, prune: bool = True
    ) -> list[Prediction]:
        """Every stored result at or below ``inputs`` for the model, by path; files gone are pruned."""
        where, params = self._under(inputs)
        rows = self._db.execute(
            f"SELECT f.id, f.path, r.scores, r.error FROM files f JOIN results r ON r.file_id = f.id "
            f"WHERE r.model_id = ? AND {where} ORDER BY f.path",
            [model_id, *params],
        ).fetchall()
        out: list[Prediction] = []
        gone: list[int] = []
        for file_id, path, scores, error in rows:
            if prune and not os.path.exists(path):
                gone.append(int(file_id))
                continue
            if scores is not None:
                out.append(Prediction(path=Path(path), scores=parse_scores(scores, topk)))
            else:
                out.append(Prediction(path=Path(path), error=str(error)))
        if gone:
            self._write([("DELETE FROM files WHERE id = ?", (file_id,)) for file_id in gone])
        return out

    def paths_of(self, file_ids: Sequence[int]) -> dict[int, Path]:
        out: dict[int, Path] = {}
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for file_id, path in self._db.execute(f"SELECT id, path FROM files WHERE id IN ({marks})", chunk):
                out[int(file_id)] = Path(path)
        return out

    def info(self) -> IndexInfo:
        def count(table: str) -> int:
            return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        size = sum(p.stat().st_size for p in (self.path, self.path.with_name(self.path.name + "-wal")) if p.exists())
        return IndexInfo(
            path=self.path,
            size_bytes=size,
            files=count("files"),
            results=count("results"),
            embeddings=count("embeddings"),
            models=count("models"),
            backbones=count("backbones"),
        )

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _insert_backbone(identity: BackboneIdentity) -> tuple[str, Sequence[Any]]:
    return (
        "INSERT OR IGNORE INTO backbones(key, arch, weights, preprocessing, precision, description, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            identity.key,
            identity.arch,
            identity.weights,
            identity.preprocessing,
            identity.precision,
            identity.description,
            time.time(),
        ),
    )
