"""Keywords only: each photo's labels into its XMP sidecar(s), no file copied or moved.

The plan is an organize plan of ``SidecarOp``s alone, so it goes through the same journal, apply and
undo as an organize (undo takes out exactly the keywords it added, and deletes a sidecar only if it
created it). A library folder's XMP rule plans with it; so does "Write Keywords…" in the app, whose
journals live in the app's data folder (``keyword_journals``), not among the person's photos.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library.index_db import default_index_path
from resnet_desktop.core.library.organize import (
    DEFAULT_THRESHOLD,
    OrganizeOptions,
    Plan,
    SidecarOp,
    Skipped,
    chosen_scores,
)
from resnet_desktop.core.library.xmp import Naming, hierarchical_keyword, sidecar_paths

#: Where "Write Keywords…" keeps its journals: beside the library index (or the app's data folder).
KEYWORD_JOURNALS = "keyword-journals"


def keywords_plan(
    photos: Iterable[Prediction],
    folder: str | os.PathLike[str] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    topk: int = 1,
    naming: Naming = Naming.FULL,
) -> Plan:
    """The labels among each photo's top ``topk`` at or above ``threshold`` as keywords of its sidecar(s).

    ``folder``: what the journal names as the place acted on (by default the photos' common parent).
    Photos below the threshold and error rows are listed in ``skipped``, with why."""
    options = OrganizeOptions(threshold=threshold, topk=topk, xmp=True, xmp_naming=naming)
    options.check()
    rows = list(photos)
    plan = Plan(Path(os.path.abspath(folder)) if folder is not None else _common_parent(rows), options)
    for prediction in rows:
        if not prediction.ok:
            plan.skipped.append(Skipped(prediction.path, prediction.error or "not classified", error=True))
            continue
        labels = tuple(s.label for s in chosen_scores(prediction, threshold, topk))
        if not labels:
            top = prediction.top1.probability if prediction.top1 else 0.0
            plan.skipped.append(Skipped(prediction.path, f"{_percent(top)} sure, below the threshold {threshold:.0%}"))
            continue
        hierarchical = tuple(hierarchical_keyword(label) for label in labels)
        for sidecar in sidecar_paths(prediction.path, naming):
            plan.operations.append(SidecarOp(prediction.path, sidecar, labels, hierarchical))
    return plan


def _percent(p: float) -> str:
    """Cut, not rounded (99.996% is not "100%" when the threshold is 100%)."""
    return f"{math.floor(p * 10_000) / 100:g}%"


def _common_parent(rows: Sequence[Prediction]) -> Path:
    parents = {str(Path(os.path.abspath(p.path)).parent) for p in rows}
    if not parents:
        return Path(os.getcwd())
    try:
        return Path(os.path.commonpath(sorted(parents)))
    except ValueError:  # different drives on Windows: the journal still names every sidecar
        return Path(sorted(parents)[0])


def keyword_journals() -> Path:
    """The folder of "Write Keywords…" journals (beside the library index, else the app's data folder)."""
    index = default_index_path()
    if index is not None:
        return index.parent / KEYWORD_JOURNALS
    from platformdirs import user_data_path

    return user_data_path("resnet-desktop", appauthor=False) / KEYWORD_JOURNALS
