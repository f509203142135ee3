"""The library index: one SQLite file that remembers every file we classified, with which model,
what it said and the backbone embedding, so nothing is computed twice and a killed run resumes.

Tables (schema version in ``PRAGMA user_version``, upgraded by ``MIGRATIONS`` in order):

- ``files``: path, size, mtime_ns, inode, sha256 (computed only for files the engine classifies,
  so that a moved or renamed copy is recognised later), seen (last time it was looked at).
- ``models``: one row per model identity (architecture, weights or model-file hash, preprocessing,
  label list), keyed by a digest of all of them: a changed model never reuses old results.
- ``results``: file x model -> top-k scores as JSON, or the error.
- ``embeddings``: file x model -> the pooled backbone vector, float16 bytes; ``seq`` grows on every
  write so an ANN index next to this file can be brought up to date incrementally.
- ``sessions``: what was classified when (the GUI's "Reopen last session").

WAL mode with a busy timeout: the GUI and a CLI run may use one index at the same time; every
write is a short transaction. A connection belongs to the thread that opened it (sqlite3's rule),
so each worker opens its own ``LibraryIndex``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_desktop.core.errors import ResNetDesktopError
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.identity import FileStat as FileStat
from resnet_desktop.core.library.identity import ModelIdentity as ModelIdentity
from resnet_desktop.core.library.identity import sha256_file as sha256_file
from resnet_desktop.core.library.schema import MIGRATIONS as MIGRATIONS
from resnet_desktop.core.library.schema import SCHEMA_VERSION as SCHEMA_VERSION

if TYPE_CHECKING:
    pass

#: Overrides the index location (tests, portable installs); "off" disables the index.
INDEX_ENV = "RESNET_DESKTOP_INDEX"
INDEX_NAME = "library.sqlite3"
#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 30.0


class LibraryIndexError(ResNetDesktopError):
    """The library index cannot be used; classification goes on without it."""

    title = "The library index is not available"


class IndexCorruptError(LibraryIndexError):
    """The index file is not a readable SQLite database (it was moved aside)."""


class IndexLockedError(LibraryIndexError):
    """Another program holds the index longer than we can wait."""


def default_index_path() -> Path | None:
    """Where the index lives: ``$RESNET_DESKTOP_INDEX``, else the per-user data folder; None when "off"."""
    value = os.environ.get(INDEX_ENV, "").strip()
    if value.lower() in {"off", "0", "none"}:
        return None
    if value:
        return Path(value).expanduser()
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / INDEX_NAME


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


def _scores_json(prediction: Prediction) -> str:
    return json.dumps([[s.label, s.index, s.probability] for s in prediction.scores])


def _scores(text: str, topk: int) -> tuple[ClassScore, ...]:
    return tuple(ClassScore(label=str(a), index=int(b), probability=float(c)) for a, b, c in json.loads(text)[:topk])


def _move_aside(path: Path) -> Path:
    """Keep a broken index for a post-mortem under a new name; never delete what we cannot read."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def _is_locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


class LibraryIndex:
    """One connection to the index file. Use from the thread that opened it; close when done."""

    def __init__(self, path: Path, *, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        #: What a person should know (e.g. a corrupt file was moved aside and a new index begun).
        self.notices: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(timeout_s)
        except sqlite3.OperationalError as exc:  # locked, read-only, cannot be opened: not damage
            if _is_locked(exc):
                raise IndexLockedError(
                    f"The library index {self.path} is in use by another program; classifying without it."
                ) from exc
            raise LibraryIndexError(f"The library index {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not a database, malformed, failed its check
            try:
                aside = _move_aside(self.path)
            except OSError as move:
                raise IndexCorruptError(
                    f"The library index {self.path} is damaged ({exc}) and cannot be moved aside ({move.strerror})."
                ) from exc
            self.notices.append(
                f"The library index {self.path} was damaged ({exc}); it was moved aside to {aside.name} "
                "and a new, empty index was started."
            )
            try:
                self._db = self._connect(timeout_s)
            except sqlite3.Error as again:
                raise IndexCorruptError(f"The library index {self.path} cannot be created: {again}") from again
        except OSError as exc:
            raise LibraryIndexError(f"The library index {self.path} cannot be opened: {exc.strerror}") from exc

    def _connect(self, timeout_s: float) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise LibraryIndexError(
                f"the library index was written by a newer version (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); classifying without it"
            )
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LibraryIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """One short transaction; a lock held past the busy timeout becomes ``IndexLockedError``."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise IndexLockedError(
                f"The library index {self.path} stayed locked by another program; going on without it."
            ) from exc
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- models ------------------------------------------------------------------------------

    def model_id(self, identity: ModelIdentity) -> int:
        row = self._db.execute("SELECT id FROM models WHERE key = ?", (identity.key,)).fetchone()
        if row is not None:
            return int(row[0])
        self._write(
            [
                (
                    "INSERT OR IGNORE INTO models(key, arch, weights, preprocessing, description, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        identity.key,
                        identity.arch,
                        identity.weights,
                        identity.preprocessing,
                        identity.description,
                        time.time(),
                    ),
                )
            ]
        )
        return int(self._db.execute("SELECT id FROM models WHERE key = ?", (identity.key,)).fetchone()[0])

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
        (old path still there) gets its own row with the same result. Error rows are never reused.
        """
        row = self._db.execute(
            "SELECT f.id, f.size, f.mtime_ns, r.topk, r.scores FROM files f "
            "LEFT JOIN results r ON r.file_id = f.id AND r.model_id = ? WHERE f.path = ?",
            (model_id, stat.path),
        ).fetchone()
        if row is not None:
            file_id, size, mtime_ns, stored_topk, scores = row
            if size == stat.size and mtime_ns == stat.mtime_ns and scores is not None and stored_topk >= topk:
                return Hit(Prediction(path=Path(stat.path), scores=_scores(scores, topk)), int(file_id))
            if size == stat.size and mtime_ns == stat.mtime_ns:
                return None  # unchanged but not (or not deeply enough) classified with this model
            return None  # changed: classify again (its row is updated when the result comes)
        return self._find_moved(stat, model_id, topk)

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
                        "INSERT INTO embeddings(file_id, model_id, dim, vector, seq) "
                        "SELECT (SELECT id FROM files WHERE path = ?), model_id, dim, vector, "
                        "(SELECT coalesce(max(seq), 0) + 1 FROM embeddings) FROM embeddings WHERE file_id = ?",
                        (stat.path, file_id),
                    ),
                ]
            )
            new_id = int(self._db.execute("SELECT id FROM files WHERE path = ?", (stat.path,)).fetchone()[0])
        scores = self._db.execute(
            "SELECT scores FROM results WHERE file_id = ? AND model_id = ?", (new_id, model_id)
        ).fetchone()[0]
        return Hit(Prediction(path=Path(stat.path), scores=_scores(scores, topk)), new_id, moved_from=old_path)

    # -- writes ------------------------------------------------------------------------------

    def store(self, model_id: int, topk: int, items: Sequence[tuple[FileStat, str | None, Prediction]]) -> None:
        """Commit one batch of engine results: (stat taken before classifying, sha256, prediction).

        One transaction per batch: a run killed at any moment keeps every batch committed before it.
        """
        if not items:
            return
        now = time.time()
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
            scores = _scores_json(prediction) if prediction.error is None else None
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
                        f"INSERT OR REPLACE INTO embeddings(file_id, model_id, dim, vector, seq) "
                        f"VALUES ({file_ref}, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM embeddings))",
                        (stat.path, model_id, int(vector.shape[0]), vector.tobytes()),
                    )
                )
            else:
                statements.append(
                    (
                        f"DELETE FROM embeddings WHERE file_id = {file_ref} AND model_id = ?",
                        (stat.path, model_id),
                    )
                )
        self._write(statements)

    def add_session(self, model_id: int, inputs: Sequence[str | Path], topk: int) -> int:
        self._write(
            [
                (
                    "INSERT INTO sessions(model_id, inputs, topk, started) VALUES (?, ?, ?, ?)",
                    (model_id, json.dumps([str(p) for p in inputs]), topk, time.time()),
                )
            ]
        )
        return int(self._db.execute("SELECT max(id) FROM sessions").fetchone()[0])

    # -- reading back ------------------------------------------------------------------------

    def last_session(self) -> tuple[int, list[Path], int] | None:
        """(model id, inputs, top-k) of the latest session, or None."""
        row = self._db.execute("SELECT model_id, inputs, topk FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return int(row[0]), [Path(p) for p in json.loads(row[1])], int(row[2])

    def folders(self) -> list[Path]:
        """The inputs of past sessions, newest first, each once."""
        seen: dict[str, None] = {}
        for (inputs,) in self._db.execute("SELECT inputs FROM sessions ORDER BY id DESC"):
            for item in json.loads(inputs):
                seen.setdefault(item, None)
        return [Path(p) for p in seen]

    def _under(self, inputs: Sequence[str | Path]) -> tuple[str, list[Any]]:
        """SQL matching the files at or below ``inputs`` (path-prefix ranges use the path index)."""
        clauses: list[str] = []
        params: list[Any] = []
        for item in inputs:
            text = str(Path(item).absolute()) if not Path(item).is_absolute() else str(item)
            prefix = text.rstrip(os.sep) + os.sep
            clauses.append("(f.path = ? OR (f.path >= ? AND f.path < ?))")
            params += [text, prefix, prefix[:-1] + chr(ord(os.sep) + 1)]
        return "(" + " OR ".join(clauses or ["1"]) + ")", params

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
                out.append(Prediction(path=Path(path), scores=_scores(scores, topk)))
            else:
                out.append(Prediction(path=Path(path), error=str(error)))
        if gone:
            self._write([("DELETE FROM files WHERE id = ?", (file_id,)) for file_id in gone])
        return out

    def embeddings(
        self, model_id: int, inputs: Sequence[str | Path] | None = None, *, prune: bool = True
    ) -> tuple[list[int], list[Path], np.ndarray]:
        """(file ids, paths, float32 matrix) of the stored embeddings for the model (at or below ``inputs``)."""
        where, params = self._under(inputs) if inputs else ("1", [])
        rows = self._db.execute(
            f"SELECT f.id, f.path, e.dim, e.vector FROM files f JOIN embeddings e ON e.file_id = f.id "
            f"WHERE e.model_id = ? AND {where} ORDER BY f.path",
            [model_id, *params],
        ).fetchall()
        ids: list[int] = []
        paths: list[Path] = []
        blobs: list[bytes] = []
        gone: list[int] = []
        dim = int(rows[0][2]) if rows else 0  # one model, one dimension
        for file_id, path, _dim, blob in rows:
            if prune and not os.path.exists(path):
                gone.append(int(file_id))
                continue
            ids.append(int(file_id))
            paths.append(Path(path))
            blobs.append(blob)
        if gone:
            self._write([("DELETE FROM files WHERE id = ?", (file_id,)) for file_id in gone])
        # one buffer, one conversion: per-row numpy arrays cost more than the query itself
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), dim).astype(np.float32)
        return ids, paths, matrix

    def embeddings_version(self, model_id: int) -> tuple[int, int]:
        """(count, last write seq) of the model's embeddings: changes whenever a cached matrix would."""
        row = self._db.execute(
            "SELECT count(*), coalesce(max(seq), 0) FROM embeddings WHERE model_id = ?", (model_id,)
        ).fetchone()
        return int(row[0]), int(row[1])

    def embedding_of(self, path: str | Path, model_id: int) -> np.ndarray | None:
        row = self._db.execute(
            "SELECT e.vector FROM files f JOIN embeddings e ON e.file_id = f.id WHERE f.path = ? AND e.model_id = ?",
            (str(path), model_id),
        ).fetchone()
        return np.frombuffer(row[0], dtype=np.float16).astype(np.float32) if row else None

    def embeddings_since(self, model_id: int, seq: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(file id, seq, float32 vector) written after ``seq``: what an ANN index has not seen yet."""
        for file_id, row_seq, blob in self._db.execute(
            "SELECT file_id, seq, vector FROM embeddings WHERE model_id = ? AND seq > ? ORDER BY seq",
            (model_id, seq),
        ):
            yield int(file_id), int(row_seq), np.frombuffer(blob, dtype=np.float16).astype(np.float32)

    def ann_state(self, model_id: int) -> tuple[int, int, int] | None:
        """(seq reached, vectors the ANN was trained on, dimension) for the model's ANN file, or None."""
        row = self._db.execute("SELECT seq, trained, dim FROM ann_state WHERE model_id = ?", (model_id,)).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def set_ann_state(self, model_id: int, seq: int, trained: int, dim: int) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO ann_state(model_id, seq, trained, dim) VALUES (?, ?, ?, ?)",
                    (model_id, seq, trained, dim),
                )
            ]
        )

    def embedding_count(self, model_id: int) -> int:
        return int(self._db.execute("SELECT count(*) FROM embeddings WHERE model_id = ?", (model_id,)).fetchone()[0])

    def ann_path(self, model_id: int) -> Path:
        """The model's ANN index file, next to the index."""
        return self.path.with_name(f"{self.path.name}.model{model_id}.faiss")

    def paths_of(self, file_ids: Sequence[int]) -> dict[int, Path]:
        out: dict[int, Path] = {}
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for file_id, path in self._db.execute(f"SELECT id, path FROM files WHERE id IN ({marks})", chunk):
                out[int(file_id)] = Path(path)
        return out

    # -- hygiene -----------------------------------------------------------------------------

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
        )

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
            [(f"DELETE FROM {table}", ()) for table in ("sessions", "embeddings", "results", "files", "models")]
        )
        self._db.execute("VACUUM")

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def open_index(path: Path | None = None) -> LibraryIndex | None:
    """The default index, or None when it is switched off (``RESNET_DESKTOP_INDEX=off``)."""
    target = path if path is not None else default_index_path()
    return LibraryIndex(target) if target is not None else None
