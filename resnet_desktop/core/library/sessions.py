"""Reopen a table from the library index: the last session's, or any folder's (no model needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.index import LibraryIndex


@dataclass(frozen=True)
class Reopened:
    inputs: list[Path]
    model_id: int
    model: str
    rows: list[Prediction]


def reopen_last(index: LibraryIndex) -> Reopened | None:
    """The latest app run's results: every session of it (each drop, each folder opened), with each
    session's model; a file in two sessions shows its later result. Files gone since are pruned.
    None: nothing was classified yet."""
    sessions, _run = index.run_sessions()
    if not sessions:
        return None
    rows: dict[str, Prediction] = {}
    inputs: list[Path] = []
    for model_id, session_inputs, topk in sessions:
        for row in index.results_under(session_inputs, model_id, topk):
            rows.pop(str(row.path), None)
            rows[str(row.path)] = row
        inputs.extend(item for item in session_inputs if item not in inputs)
    model_id = sessions[-1][0]
    return Reopened(inputs, model_id, index.model_description(model_id) or "", list(rows.values()))


def reopen_folder(index: LibraryIndex, folder: Path, model_id: int | None = None, topk: int = 5) -> Reopened:
    """What the index holds at or below ``folder``: with ``model_id``, else with the model that has most there."""
    folder = folder.absolute()
    if model_id is None:
        best = (0, 0)
        for candidate, _description in index.models():
            best = max(best, (index.count_under([folder], candidate), candidate))
        model_id = best[1]
    rows = index.results_under([folder], model_id, topk) if model_id else []
    return Reopened([folder], model_id, index.model_description(model_id) or "", rows)
