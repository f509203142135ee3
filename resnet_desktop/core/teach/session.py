"""One label set at work: its labels resolved to stored embeddings, refits, scores of its scope.

A session caches what is costly to read again (the scope's embedding matrix, the labels' vectors,
the last head and out-of-fold heads for warm starts), so a label change costs one short refit and
one matrix product. It holds a store and an index connection, so it belongs to the thread that
opened them (sqlite3's rule); the GUI keeps one on its teach worker.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.index import EmbeddingRows, LibraryIndex
from resnet_desktop.core.teach import fit as fitting
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.photos import find_vectors
from resnet_desktop.core.teach.records import ClassFigures, FitReport, HeadReady, PhotoKey, Scores
from resnet_desktop.core.teach.split import FOLDS, HELD_OUT_FOLD, cap, rank_of, split
from resnet_desktop.core.teach.store import UserStore
from resnet_desktop.core.work import Step, Work, check_cancel

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import LoadedModel

#: The regularisation is chosen again once this many labels were added since the last choice.
REGULARISATION_EVERY = 100
#: Test hook: set, a refit stands still after training its head, until it is killed.
REFIT_PAUSE_ENV = "RESNET_DESKTOP_TEACH_REFIT_PAUSE"


@dataclass
class Training:
    """The labels that have an embedding, capped and split: ``x[i]`` is labeled ``classes[y[i]]``."""

    classes: tuple[str, ...]
    keys: list[PhotoKey]
    x: np.ndarray
    y: np.ndarray
    folds: np.ndarray
    held_out: np.ndarray
    #: Labels whose photo has no embedding (not embedded yet, or gone).
    without_embedding: list[PhotoKey]


@dataclass
class FitState:
    """The last refit: its head, thresholds, held-out and out-of-fold predictions (rows of ``training``)."""

    head: fitting.Head
    thresholds: np.ndarray
    training: Training
    held_predicted: np.ndarray
    oof_valid: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    oof_predicted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    oof_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


class TeachSession:
    """A label set, its store and the library index (both opened by the caller, in this thread)."""

    def __init__(self, store: UserStore, index: LibraryIndex, set_name: str | None = None) -> None:
        self.store = store
        self.index = index
        self.row = labels_mod.find_set(store, set_name)
        self._vectors: dict[str, np.ndarray] = {}
        self._scope: tuple[tuple[object, ...], EmbeddingRows] | None = None
        self._scope_rows_by_sha: dict[str, int] = {}
        self._labels_by_sha: dict[str, str] | None = None
        self.fit: FitState | None = None
        self._fold_heads: dict[int, fitting.Head] = {}
        #: The head ``versions.current_head_file`` wrote last, and the model loaded from it (its Grad-CAMs).
        self.current_head_written: fitting.Head | None = None
        self.current_loaded: tuple[fitting.Head, LoadedModel] | None = None

    # -- the set ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the set's row again (after a change by another front end or process)."""
        self.row = labels_mod.find_set(self.store, self.row.name)
        self._labels_by_sha = None

    @property
    def backbone_id(self) -> int:
        """The index's backbone the set is taught on; refused until a teach run has chosen one."""
        key = self.row.backbone_key
        found = self.index.find_backbone(key) if key else None
        if found is None:
            raise TeachError(
                f"The label set {self.row.name!r} has not been taught yet (its photos have no embeddings); "
                "run teach first"
            )
        return found

    def labels_changed(self) -> None:
        """Call after labeling: the next refit and scores read the labels again."""
        self._labels_by_sha = None

    # -- embeddings ----------------------------------------------------------------------------

    def scope_rows(self, inputs: Sequence[Path] | None = None) -> EmbeddingRows:
        """Stored embeddings of the set's scope (or ``inputs``): read once, then reused until the index
        writes new ones (a cold read is a few seconds at 100,000 photos, a warm one free)."""
        backbone = self.backbone_id
        folders = tuple(str(p) for p in (inputs if inputs is not None else self.row.scope))
        key = (backbone, folders, self.index.backbone_version(backbone))
        if self._scope is None or self._scope[0] != key:
            self._scope = None  # let the old matrix go before reading the new one
            rows = self.index.embedding_rows(backbone, [Path(f) for f in folders] or None, prune=False)
            self._scope = (key, rows)
            self._scope_rows_by_sha = {sha: i for i, sha in enumerate(rows.sha256) if sha is not None}
        return self._scope[1]

    def training(self) -> Training:
        """The labels resolved to vectors (an edited photo's label follows it), capped and split."""
        backbone = self.backbone_id
        names = tuple(c.name for c in labels_mod.classes(self.store, self.row.id))
        pairs = labels_mod.label_keys(self.store, self.row.id)
        kept_rows = cap([k.sha256 for k, _ in pairs], [c for _, c in pairs])
        pairs = [pairs[i] for i in kept_rows]
        if self._scope is not None and self._scope[0][0] == backbone:  # in memory already: no query
            matrix = self._scope[1].matrix
            for key, _ in pairs:
                row = self._scope_rows_by_sha.get(key.sha256)
                if row is not None and key.sha256 not in self._vectors:
                    self._vectors[key.sha256] = matrix[row]
        for moved in find_vectors(self.index, backbone, [k for k, _ in pairs], self._vectors):
            labels_mod.move_label(self.store, self.row.id, moved.old_sha, moved.key)
            pairs = [(moved.key if k.sha256 == moved.old_sha else k, c) for k, c in pairs]
        have = [i for i, (k, _) in enumerate(pairs) if k.sha256 in self._vectors]
        index_of = {name: i for i, name in enumerate(names)}
        keys = [pairs[i][0] for i in have]
        dim = next(iter(self._vectors.values())).shape[0] if self._vectors else 0
        x = np.stack([self._vectors[k.sha256] for k in keys]) if keys else np.zeros((0, dim), np.float16)
        kept = split([k.sha256 for k in keys], [pairs[i][1] for i in have], limit=len(keys) or 1)
        return Training(
            classes=names,
            keys=keys,
            x=x,
            y=np.array([index_of[pairs[i][1]] for i in have], dtype=np.int64),
            folds=kept.folds,
            held_out=kept.held_out,
            without_embedding=[k for k, _ in pairs if k.sha256 not in self._vectors],
        )

    # -- learning ------------------------------------------------------------------------------

    @property
    def regularisation(self) -> float:
        return self.row.regularisation if self.row.regularisation is not None else fitting.DEFAULT_C

    def regularisation_due(self) -> bool:
        """Never chosen, or ``REGULARISATION_EVERY`` labels added since it was."""
        count = sum(c.labeled for c in labels_mod.classes(self.store, self.row.id))
        return self.row.regularisation is None or count >= self.row.regularisation_labels + REGULARISATION_EVERY

    def choose_regularisation(self, cancel: threading.Event | None = None) -> Work[Step, float]:
        """Cross-validate C on a subsample of the training labels and keep it in the store."""
        yield Step("Choosing the regularisation")
        data = self.training()
        train = ~data.held_out
        if len(np.unique(data.y[train])) < 2:
            return self.regularisation
        order = np.array([rank_of(k.sha256) for k in data.keys], dtype=np.int64)[train]
        c = fitting.choose_regularisation(data.x[train], data.y[train], order, cancel=cancel)
        labels_mod.update_set(self.store, self.row.id, regularisation=c, regularisation_labels=len(data.keys))
        self.reload()
        return c

    def refit(self, cancel: threading.Event | None = None) -> Work[HeadReady | Step, FitReport]:
        """Train the head on the training labels (warm, regularisation fixed) and yield ``HeadReady``
        at once (scores can be shown); then the out-of-fold heads, then the report."""
        started = time.perf_counter()
        data = self.training()
        train = ~data.held_out
        counts = np.bincount(data.y, minlength=len(data.classes))
        if len(np.unique(data.y[train])) < 2:
            have = ", ".join(f"{n} {int(k)}" for n, k in zip(data.classes, counts, strict=True) if k) or "none"
            raise TeachError(
                f"Teaching needs labeled photos (with embeddings) in at least 2 classes; the label set "
                f"{self.row.name!r} has: {have}"
            )
        c = self.regularisation
        previous = self.fit
        head = fitting.fit_head(data.x[train], data.y[train], data.classes, c, previous.head if previous else None)
        # until the out-of-fold heads give new thresholds, the last ones hold (if the classes did not change)
        if previous is not None and previous.head.classes == head.classes:
            kept = previous.thresholds
        else:
            kept = np.full(len(head.classes), fitting.DEFAULT_THRESHOLD, np.float32)
        held_prob = head.probabilities(data.x[data.held_out])
        n = len(data.y)  # no out-of-fold answers yet (a refit cancelled after its head keeps it so)
        self.fit = FitState(
            head,
            kept,
            data,
            to_set_classes(held_prob.argmax(axis=1), head, data.classes),
            np.zeros(n, bool),
            np.full(n, -1, np.int64),
            np.zeros(n, np.float32),
        )
        while os.environ.get(REFIT_PAUSE_ENV):  # the kill -9 test: stand still in the middle of a refit
            time.sleep(1)
        yield HeadReady(head.classes, int(train.sum()), time.perf_counter() - started)
        yield from self._out_of_fold(data, c, cancel)
        return self.report(time.perf_counter() - started)

    def _out_of_fold(self, data: Training, c: float, cancel: threading.Event | None) -> Work[Step, None]:
        """Each labeled photo predicted by a head that did not see it: held-out ones by the head itself,
        the others by one head per fold (warm-started from the last refit's)."""
        assert self.fit is not None
        n = len(data.y)
        predicted = np.full(n, -1, np.int64)
        confidence = np.zeros(n, np.float32)
        held = data.held_out
        probs = self.fit.head.probabilities(data.x[held])
        predicted[held] = to_set_classes(probs.argmax(axis=1), self.fit.head, data.classes)
        confidence[held] = probs.max(axis=1)
        for fold in range(FOLDS):
            if fold == HELD_OUT_FOLD:
                continue
            check_cancel(cancel)
            yield Step("Checking the labels out of fold", fold - 1, FOLDS - 1)
            test = (data.folds == fold) & ~held
            train = data.folds != fold
            if not test.any() or len(np.unique(data.y[train])) < 2:
                continue
            head = fitting.fit_head(data.x[train], data.y[train], data.classes, c, self._fold_heads.get(fold))
            self._fold_heads[fold] = head
            fold_probs = head.probabilities(data.x[test])
            predicted[test] = to_set_classes(fold_probs.argmax(axis=1), head, data.classes)
            confidence[test] = fold_probs.max(axis=1)
        valid = predicted >= 0
        self.fit.oof_valid, self.fit.oof_predicted, self.fit.oof_confidence = valid, predicted, confidence
        local = to_head_classes(predicted[valid], self.fit.head, data.classes)
        truth = to_head_classes(data.y[valid], self.fit.head, data.classes)
        self.fit.thresholds = fitting.thresholds(self.fit.head.classes, local, confidence[valid], truth)

    def report(self, seconds: float = 0.0) -> FitReport:
        """The last refit's figures (held-out accuracy, per class; out-of-fold disagreements)."""
        if self.fit is None:
            raise TeachError("Nothing has been learned yet; refit first")
        data, head = self.fit.training, self.fit.head
        truth = data.y[data.held_out]
        guess = self.fit.held_predicted
        figures = []
        for k, name in enumerate(head.classes):
            g = data.classes.index(name)
            support = int((truth == g).sum())
            predicted = int((guess == g).sum())
            right = int(((truth == g) & (guess == g)).sum())
            figures.append(
                ClassFigures(
                    name=name,
                    labeled=int((data.y == g).sum()),
                    held_out=support,
                    precision=right / predicted if predicted else None,
                    recall=right / support if support else None,
                    threshold=float(self.fit.thresholds[k]),
                )
            )
        oof = self.fit.oof_valid
        return FitReport(
            classes=head.classes,
            trained_on=int((~data.held_out).sum()),
            held_out=int(data.held_out.sum()),
            held_out_accuracy=float((truth == guess).mean()) if len(truth) else None,
            per_class=tuple(figures),
            regularisation=self.regularisation,
            disagreements=int((self.fit.oof_predicted[oof] != data.y[oof]).sum()) if len(oof) else 0,
            without_embedding=len(data.without_embedding),
            seconds=seconds,
        )

    # -- scoring -------------------------------------------------------------------------------

    def labels_by_sha(self) -> dict[str, str]:
        if self._labels_by_sha is None:
            self._labels_by_sha = {k.sha256: c for k, c in labels_mod.label_keys(self.store, self.row.id)}
        return self._labels_by_sha

    def scores(self, inputs: Sequence[Path] | None = None) -> Scores:
        """The scope (or ``inputs``) scored by the current head, from stored embeddings in numpy."""
        if self.fit is None:
            raise TeachError("Nothing has been learned yet; refit first")
        rows = self.scope_rows(inputs)
        head = self.fit.head
        probs = head.probabilities(rows.matrix)
        if len(head.classes) > 1 and len(rows):
            top2 = np.partition(probs, -2, axis=1)[:, -2:]
            margin = top2[:, 1] - top2[:, 0]
        else:
            margin = np.ones(len(rows), np.float32)
        predicted = probs.argmax(axis=1).astype(np.int32) if len(rows) else np.zeros(0, np.int32)
        confidence = probs.max(axis=1) if len(rows) else np.zeros(0, np.float32)
        labeled = np.full(len(rows), -1, np.int32)
        position = {name: i for i, name in enumerate(head.classes)}
        by_sha = self._scope_rows_by_sha  # the rows just read (``scope_rows`` keeps the two together)
        for sha, name in self.labels_by_sha().items():  # labels are fewer than photos: walk them
            row = by_sha.get(sha)
            if row is not None:
                labeled[row] = position.get(name, -1)
        return Scores(
            classes=head.classes,
            paths=tuple(rows.paths),
            predicted=predicted,
            confidence=confidence,
            margin=margin,
            uncertain=confidence < self.fit.thresholds[predicted] if len(rows) else np.zeros(0, bool),
            labeled=labeled,
        )


def to_set_classes(local: np.ndarray, head: fitting.Head, classes: Sequence[str]) -> np.ndarray:
    """Indexes into ``head.classes`` -> indexes into the set's ``classes``."""
    mapping = np.array([classes.index(name) for name in head.classes], dtype=np.int64)
    return mapping[local] if len(local) else np.zeros(0, np.int64)


def to_head_classes(global_: np.ndarray, head: fitting.Head, classes: Sequence[str]) -> np.ndarray:
    """Indexes into the set's ``classes`` -> into ``head.classes`` (-1: a class the head lacks)."""
    mapping = np.full(len(classes), -1, np.int64)
    for k, name in enumerate(head.classes):
        mapping[classes.index(name)] = k
    return mapping[global_] if len(global_) else np.zeros(0, np.int64)
