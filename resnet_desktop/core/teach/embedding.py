"""The set's backbone and its photos' embeddings: the one part of teaching that runs the network.

A label set is bound to the backbone of the base model the person chose (weights without ``fc``,
preprocessing, fp32: nothing is ever trained on int8 or half-precision embeddings). Photos the set
needs (its labeled photos, the photos in its scope) that have no stored embedding for it are
embedded once, through the same indexed run as classify (so they are classified by the base model
too, and a killed run keeps every batch it committed); all others reuse what the index holds.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.images import discover
from resnet_desktop.core.library.incremental import IndexedRun
from resnet_desktop.core.library.index import FP32, ModelIdentity
from resnet_desktop.core.models.ref import ref_of
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.photos import edited, find_vectors
from resnet_desktop.core.teach.records import EmbedCounts
from resnet_desktop.core.work import Step, Work

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import LoadedModel
    from resnet_desktop.core.teach.session import TeachSession


def bind_base(session: TeachSession, loaded: LoadedModel) -> bool:
    """Teach the set on ``loaded``'s backbone; True when that changed its backbone (the regularisation
    is chosen again then: it belongs to the old features)."""
    from resnet_desktop.core.models.headfile import backbone_ref_of

    identity = ModelIdentity.of(loaded, FP32)
    session.index.model_id(identity)  # registers the backbone (and settles one carried over from an old index)
    key = identity.backbone.key
    row = session.row
    if row.backbone_key == key:
        return False
    labels_mod.update_set(
        session.store,
        row.id,
        base_model=ref_of(loaded).text(),
        backbone_key=key,
        backbone_ref=json.dumps(backbone_ref_of(loaded).to_dict()),
        arch=loaded.arch,
        preprocessing=json.dumps(loaded.preprocessing.to_dict()),
        regularisation=None,
        regularisation_labels=0,
    )
    session.reload()
    session.fit = None
    return row.backbone_key is not None


def needed_photos(session: TeachSession, inputs: list[Path]) -> tuple[list[Path], int]:
    """(photos to embed, photos whose embedding is stored): the labeled photos, and every photo in
    ``inputs`` (the set's scope folders). A labeled photo edited since it was labeled takes its
    label with it (its new content is what is embedded)."""
    backbone = session.backbone_id
    keys = [k for k, _ in labels_mod.label_keys(session.store, session.row.id)]
    changed = edited(keys)
    if changed:
        for moved in changed:
            labels_mod.move_label(session.store, session.row.id, moved.old_sha, moved.key)
        session.labels_changed()
        keys = [k for k, _ in labels_mod.label_keys(session.store, session.row.id)]
    cache: dict[str, np.ndarray] = {}
    find_vectors(session.index, backbone, keys, cache)
    missing = {k.path: None for k in keys if k.sha256 not in cache and os.path.exists(k.path)}
    reused = len(keys) - len(missing)
    if inputs:
        stored = set(session.index.embedding_rows(backbone, inputs, prune=False).paths)
        for path in discover(inputs):
            text = str(path.absolute())
            if text in stored:
                reused += 1
            else:
                missing.setdefault(text, None)
    return [Path(p) for p in missing], reused


def embed_missing(
    session: TeachSession,
    loaded: LoadedModel,
    inputs: list[Path],
    *,
    device: str = "auto",
    cancel: threading.Event | None = None,
) -> Work[Step, EmbedCounts]:
    """Embed the photos the set needs that have no stored embedding yet (fp32, committed per batch)."""
    missing, reused = needed_photos(session, inputs)
    if not missing:
        return EmbedCounts(computed=0, reused=reused)

    def engine() -> Engine:
        from resnet_desktop.core.inference.engine import Engine

        return Engine(loaded, device, autocast=False)  # fp32 on every device: the set's backbone is fp32

    run = IndexedRun(engine, session.index, ModelIdentity.of(loaded, FP32), require_embedding=True)
    failed: list[tuple[Path, str]] = []
    computed = 0
    yield Step("Embedding photos", 0, len(missing))
    for done, item in enumerate(run.classify(missing, cancel=cancel), start=1):
        if item.prediction.error is not None:
            failed.append((item.prediction.path, item.prediction.error))
        elif item.from_index:
            reused += 1  # found by content under another path (a copy or a move)
        else:
            computed += 1
        yield Step("Embedding photos", done, len(missing))
    return EmbedCounts(computed=computed, reused=reused, failed=tuple(failed), notices=tuple(run.counts.notices or ()))
