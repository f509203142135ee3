"""What the library folders ask of the index: one folder's rows at once (a scan compares them with the
disk), pruning rows of deleted photos, the date each photo was taken, browsing, and rule candidates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_desktop.core.images.reasons import is_about_the_content
from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.index_db import IndexConnection, parse_scores

#: What the index says about a photo for the folder's model.
OK, ERROR, NONE = "ok", "error", "none"


@dataclass(frozen=True)
class StoredFile:
    file_id: int
    size: int
    mtime_ns: int
    #: OK (a result), ERROR (a failure about the file's own bytes, remembered), NONE (not classified
    #: with this model, or a failure worth trying again).
    state: str


@dataclass(frozen=True)
class BrowseRow:
    prediction: Prediction
    #: EXIF date taken as ISO text; "" when the photo does not say or it was not read yet.
    taken: str


class IndexFolders(IndexConnection):
    """The library-folder queries of ``LibraryIndex``."""

    def model_id_of_key(self, key: str) -> int | None:
        """The id of a model already in the index (None: it never ran), without adding it."""
        row = self._db.execute("SELECT id FROM models WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row is not None else None

    def count_under(self, inputs: Sequence[str | Path], model_id: int) -> int:
        """How many results of the model the index holds at or below ``inputs`` (one query, no rows built)."""
        where, params = self._under(inputs)
        row = self._db.execute(
            f"SELECT count(*) FROM files f JOIN results r ON r.file_id = f.id WHERE r.model_id = ? AND {where}",
            [model_id, *params],
        ).fetchone()
        return int(row[0])

    def files_under(self, folder: Path, model_id: int) -> dict[str, StoredFile]:
        """Every file row at or below ``folder``, with whether the model has a result for it."""
        where, params = self._under([folder])
        out: dict[str, StoredFile] = {}
        for file_id, path, size, mtime_ns, scores, error in self._db.execute(
            f"SELECT f.id, f.path, f.size, f.mtime_ns, r.scores, r.error FROM files f "
            f"LEFT JOIN results r ON r.file_id = f.id AND r.model_id = ? WHERE {where}",
            [model_id, *params],
        ):
            if scores is not None:
                state = OK
            elif error is not None and is_about_the_content(str(error)):
                state = ERROR
            else:
                state = NONE
            out[str(path)] = StoredFile(int(file_id), int(size), int(mtime_ns), state)
        return out

    def prune(self, file_ids: Sequence[int]) -> int:
        """Forget files that are gone (their results and embeddings with them; labels live elsewhere)."""
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start : start + 500])
            self._write([(f"DELETE FROM files WHERE id IN ({','.join('?' * len(chunk))})", chunk)])
        return len(file_ids)

    def without_taken(self, folder: Path, limit: int = 500) -> list[tuple[int, str]]:
        """(file id, path) of files below ``folder`` whose date taken was never read."""
        where, params = self._under([folder])
        rows = self._db.execute(
            f"SELECT f.id, f.path FROM files f WHERE f.taken IS NULL AND {where} LIMIT ?", [*params, limit]
        ).fetchall()
        return [(int(i), str(p)) for i, p in rows]

    def set_taken(self, items: Sequence[tuple[int, str]]) -> None:
        self._write([("UPDATE files SET taken = ? WHERE id = ?", (taken, file_id)) for file_id, taken in items])

    def browse(
        self,
        folders: Sequence[Path],
        model_id: int,
        topk: int = 5,
        *,
        taken_from: str = "",
        taken_to: str = "",
    ) -> list[BrowseRow]:
        """The model's results at or below ``folders`` with their date taken, newest first (undated last).

        ``taken_from``/``taken_to`` (ISO dates, inclusive) keep only photos taken in that range.
        """
        where, params = self._under(folders)
        extra = ""
        values: list[Any] = []
        if taken_from:
            extra += " AND f.taken >= ?"
            values.append(taken_from)
        if taken_to:
            extra += " AND f.taken <= ? AND f.taken != ''"
            values.append(taken_to + "\uffff")  # the whole last day
        rows = self._db.execute(
            f"SELECT f.path, r.scores, r.error, coalesce(f.taken, '') FROM files f "
            f"JOIN results r ON r.file_id = f.id WHERE r.model_id = ? AND {where}{extra} "
            f"ORDER BY coalesce(f.taken, '') = '', f.taken DESC, f.path",
            [model_id, *params, *values],
        ).fetchall()
        out: list[BrowseRow] = []
        for path, scores, error, taken in rows:
            if scores is not None:
                prediction = Prediction(path=Path(path), scores=parse_scores(scores, topk))
            else:
                prediction = Prediction(path=Path(path), error=str(error))
            out.append(BrowseRow(prediction, str(taken)))
        return out

    def rule_candidates(self, folder: Path, model_id: int, since: float) -> list[tuple[str, str, str]]:
        """(path, sha256, scores JSON) of photos below ``folder`` classified at or after ``since``."""
        where, params = self._under([folder])
        rows = self._db.execute(
            f"SELECT f.path, coalesce(f.sha256, ''), r.scores FROM files f JOIN results r ON r.file_id = f.id "
            f"WHERE r.model_id = ? AND r.scores IS NOT NULL AND r.updated >= ? AND {where} ORDER BY f.path",
            [model_id, since, *params],
        ).fetchall()
        return [(str(p), str(h), str(s)) for p, h, s in rows]

    def run_sessions(self) -> tuple[list[tuple[int, list[Path], int]], str | None]:
        """The sessions of the latest app run (model id, inputs, top-k), oldest first, and the run.

        A session without a run (a CLI classify, or an index from before runs were recorded) is a run
        of its own.
        """
        last = self._db.execute("SELECT id, run FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        if last is None:
            return [], None
        last_id, run = last
        if run is None:
            rows = self._db.execute("SELECT model_id, inputs, topk FROM sessions WHERE id = ?", (last_id,)).fetchall()
        else:
            rows = self._db.execute(
                "SELECT model_id, inputs, topk FROM sessions WHERE run = ? ORDER BY id", (run,)
            ).fetchall()
        return [(int(m), [Path(p) for p in json.loads(i)], int(k)) for m, i, k in rows], run
