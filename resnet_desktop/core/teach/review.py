"""The review queue: what to look at next, so that each label teaches the most.

First the unlabeled photos of the scope by margin (the two likeliest classes closest: least sure
first; labeling these is what uncertainty sampling gains its labels from), then the labeled photos
whose out-of-fold prediction is another class (possible mistakes), most confident first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from resnet_desktop.core.teach.records import ReviewItem
from resnet_desktop.core.teach.session import TeachSession


def _under(path: str, folders: Sequence[Path]) -> bool:
    return not folders or any(path == str(f) or path.startswith(str(f).rstrip(os.sep) + os.sep) for f in folders)


def review_queue(session: TeachSession, n: int = 20, inputs: Sequence[Path] | None = None) -> list[ReviewItem]:
    """Up to ``n`` photos: least sure unlabeled ones, then possible mistakes (photos gone are skipped)."""
    scores = session.scores(inputs)
    items: list[ReviewItem] = []
    unlabeled = np.flatnonzero(scores.labeled < 0)
    for i in unlabeled[np.argsort(scores.margin[unlabeled], kind="stable")].tolist():
        if len(items) >= n:
            return items
        path = scores.paths[i]
        if not os.path.exists(path):
            continue
        items.append(
            ReviewItem(
                path=Path(path),
                predicted=scores.classes[int(scores.predicted[i])],
                confidence=float(scores.confidence[i]),
                reason="uncertain",
                margin=float(scores.margin[i]),
            )
        )
    fit = session.fit
    assert fit is not None  # scores() needs it
    data = fit.training
    folders = [Path(p).absolute() for p in inputs] if inputs else []
    wrong = np.flatnonzero(fit.oof_valid & (fit.oof_predicted != data.y))
    for i in wrong[np.argsort(-fit.oof_confidence[wrong], kind="stable")].tolist():
        if len(items) >= n:
            break
        key = data.keys[i]
        if not _under(key.path, folders) or not os.path.exists(key.path):
            continue
        items.append(
            ReviewItem(
                path=Path(key.path),
                predicted=data.classes[int(fit.oof_predicted[i])],
                confidence=float(fit.oof_confidence[i]),
                reason="disagrees",
                margin=0.0,
                label=data.classes[int(data.y[i])],
            )
        )
    return items
