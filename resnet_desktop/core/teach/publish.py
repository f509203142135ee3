"""A version's answers into the library index, computed from stored embeddings: so "Organize by these
classes" and "Write keywords" (the organize and XMP rooms, which classify through the index) find
every photo of the set's scope there and decode none.

The version's index identity is the one ``ModelIdentity.of`` gives the loaded head file at fp32
(its file's hash, its backbone's tensors hash, preprocessing, class names), built here without
loading it. Only photos unchanged since their embedding was stored get a result; a run at another
precision (a GPU's bf16) computes its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.index import FP32, FileStat, ModelIdentity, sha256_file
from resnet_desktop.core.teach.session import TeachSession
from resnet_desktop.core.teach.versions import head_of, version_file

TOPK = 5
_BATCH = 2000


def version_identity(session: TeachSession, file: Path, classes: tuple[str, ...]) -> ModelIdentity:
    """What ``ModelIdentity.of(load(file), "fp32")`` is, without torch."""
    key = session.row.backbone_key
    backbone = session.index.backbone_identity(key) if key else None
    if backbone is None or session.row.arch is None:
        raise TeachError(f"The label set {session.row.name!r} has not been taught yet; teach it first")
    weights = f"sha256:{sha256_file(file)}+backbone:{backbone.weights.removeprefix('tensors:')}"
    return ModelIdentity(
        arch=session.row.arch,
        weights=weights,
        preprocessing=backbone.preprocessing,
        description=f"{file.name} ({session.row.arch}, {len(classes)} classes, taught)",
        categories_digest=hashlib.sha256("\n".join(classes).encode()).hexdigest()[:16],
        precision=FP32,
        backbone=backbone,
    )


def publish(session: TeachSession, number: int | None = None) -> int:
    """Store version ``number``'s (the active one's) top-5 for every photo of the scope; how many."""
    file = version_file(session.store, session.row, number)
    head = head_of(file)
    identity = version_identity(session, file, head.classes)
    model_id = session.index.model_id(identity)
    rows = session.scope_rows()
    known = session.index.files_by_path(rows.paths)
    k = min(TOPK, len(head.classes))
    stored = 0
    for start in range(0, len(rows), _BATCH):
        probs = head.probabilities(rows.matrix[start : start + _BATCH])
        best = np.argsort(-probs, axis=1)[:, :k]
        items = []
        for offset, path in enumerate(rows.paths[start : start + _BATCH]):
            record = known.get(path)
            if record is None:
                continue
            size, mtime_ns, inode, _sha = record
            scores = tuple(ClassScore(head.classes[c], int(c), float(probs[offset, c])) for c in best[offset].tolist())
            items.append((FileStat(path, size, mtime_ns, inode), Prediction(path=Path(path), scores=scores)))
        session.index.store_results(model_id, k, items)
        stored += len(items)
    return stored
