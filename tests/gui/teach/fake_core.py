"""A stand-in for the teach core (issue 23) while it is not on main: the ``TeachBackend`` use cases on
an in-memory store, learning a nearest-centroid head on features with real structure (scikit-learn's
handwritten digits: each photo's 64 pixels are its embedding, so the head truly learns).

It is the edge the room's tests stand on, not a model of the core's numbers: the room is tested for
what the person does and reads (keys, badges, counts, the queue), the core for how well it learns.
Every call records its thread, so a test can prove that none ran on the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from resnet_desktop.core.errors import CancelledError, ResNetDesktopError
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.work import Step, Work
from resnet_desktop.gui.teach.records import (
    ClassFigures,
    ClassInfo,
    EmbedCounts,
    FitReport,
    HeadReady,
    LabelChange,
    LabelSetInfo,
    ReviewItem,
    Scores,
    VersionComparison,
    VersionInfo,
)

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class FakeTeachError(ResNetDesktopError):
    title = "Teaching"


def make_digit_photos(folder: Path, classes: int = 3, per_class: int = 12) -> dict[Path, tuple[str, np.ndarray]]:
    """``per_class`` digits of each of the first ``classes`` drawn as 32x32 PNGs: path -> (truth, features)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[Path, tuple[str, np.ndarray]] = {}
    for digit in range(classes):
        for k, i in enumerate(np.flatnonzero(data.target == digit)[:per_class].tolist()):
            pixels = (data.images[i] / 16 * 255).astype(np.uint8)
            path = folder / f"{NAMES[digit]}_{k:02d}.png"
            Image.fromarray(pixels).resize((32, 32), Image.Resampling.NEAREST).convert("RGB").save(path)
            made[path] = (NAMES[digit], data.data[i].astype(np.float32))
    return made


@dataclass
class FakeSet:
    name: str
    classes: list[tuple[str, str | None]]
    photos: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    versions: list[VersionInfo] = field(default_factory=list)
    active: int | None = None


class FakeTeachCore:
    """The ``TeachBackend`` protocol (see ``gui/teach/backend.py``)."""

    def __init__(self, features: dict[str, np.ndarray], folder: Path) -> None:
        self.features = features
        self.folder = folder
        self.sets: dict[str, FakeSet] = {}
        self.threads: set[int] = set()
        self.calls: list[str] = []
        self.refit_pause_s = 0.0
        self._centroids: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}

    def _enter(self, name: str) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(name)

    def _set(self, name: str) -> FakeSet:
        if name not in self.sets:
            raise FakeTeachError(f"There is no label set called {name!r}")
        return self.sets[name]

    # -- sets and classes --------------------------------------------------------------------------

    def list_sets(self) -> list[LabelSetInfo]:
        self._enter("list_sets")
        return [self.set_info(n) for n in self.sets]

    def set_info(self, set_name: str) -> LabelSetInfo:
        self._enter("set_info")
        s = self._set(set_name)
        counts = {name: 0 for name, _ in s.classes}
        for label in s.labels.values():
            counts[label] += 1
        classes = tuple(ClassInfo(name, i, colour, counts[name]) for i, (name, colour) in enumerate(s.classes))
        return LabelSetInfo(
            s.name, classes, len(s.labels), "resnet18", (), s.name in self._centroids, s.active, len(s.versions)
        )

    def create_set(
        self, name: str, classes: Sequence[str], *, base: ModelRef | None, scope: Sequence[Path]
    ) -> LabelSetInfo:
        self._enter("create_set")
        if name in self.sets:
            raise FakeTeachError(f"There is already a label set called {name!r}")
        self.sets[name] = FakeSet(name, [(c, None) for c in classes], sorted(self.features))
        return self.set_info(name)

    def add_class(self, set_name: str, name: str, colour: str | None = None) -> ClassInfo:
        self._enter("add_class")
        s = self._set(set_name)
        if any(n == name for n, _ in s.classes):
            raise FakeTeachError(f"The label set {set_name!r} has a class called {name!r} already")
        s.classes.append((name, colour))
        return ClassInfo(name, len(s.classes) - 1, colour, 0)

    def rename_class(self, set_name: str, name: str, new_name: str) -> None:
        self._enter("rename_class")
        s = self._set(set_name)
        s.classes = [(new_name if n == name else n, c) for n, c in s.classes]
        s.labels = {p: (new_name if c == name else c) for p, c in s.labels.items()}

    def recolour_class(self, set_name: str, name: str, colour: str | None) -> None:
        self._enter("recolour_class")
        s = self._set(set_name)
        s.classes = [(n, colour if n == name else c) for n, c in s.classes]

    def delete_class(self, set_name: str, name: str) -> int:
        self._enter("delete_class")
        s = self._set(set_name)
        s.classes = [(n, c) for n, c in s.classes if n != name]
        gone = [p for p, c in s.labels.items() if c == name]
        for p in gone:
            del s.labels[p]
        return len(gone)

    # -- labels ------------------------------------------------------------------------------------

    def label_photos(self, set_name: str, paths: Sequence[Path], class_name: str | None) -> LabelChange:
        self._enter("label_photos")
        s = self._set(set_name)
        labeled = cleared = unchanged = 0
        for path in map(str, paths):
            if class_name is None:
                cleared += s.labels.pop(path, None) is not None
            elif s.labels.get(path) == class_name:
                unchanged += 1
            else:
                s.labels[path] = class_name
                labeled += 1
        return LabelChange(labeled, cleared, unchanged)

    def labels(self, set_name: str) -> dict[str, str]:
        self._enter("labels")
        return dict(self._set(set_name).labels)

    def photos(self, set_name: str) -> list[str]:
        self._enter("photos")
        return list(self._set(set_name).photos)

    # -- learning ------------------------------------------------------------------------------------

    def prepare(self, set_name: str, cancel: threading.Event) -> Work[Step, EmbedCounts]:
        self._enter("prepare")
        yield Step("Embedding", 0, 1)
        return EmbedCounts(0, len(self._set(set_name).photos))

    def _held_out(self, path: str) -> bool:
        return sum(path.encode()) % 5 == 0  # a stable ~20 %, by name

    def refit(self, set_name: str, cancel: threading.Event) -> Work[HeadReady | Step, FitReport]:
        self._enter("refit")
        s = self._set(set_name)
        names = tuple(n for n, _ in s.classes)
        train = {p: c for p, c in s.labels.items() if not self._held_out(p)}
        have = sorted({c for c in train.values()})
        if len(have) < 2:
            counts = ", ".join(f"{n} {sum(c == n for c in s.labels.values())}" for n in names) or "none"
            raise FakeTeachError(
                f"Teaching needs labeled photos in at least 2 classes; the label set {set_name!r} has: {counts}"
            )
        started = time.perf_counter()
        centroids = np.stack([np.mean([self.features[p] for p, c in train.items() if c == n], axis=0) for n in have])
        self._centroids[set_name] = (tuple(have), centroids)
        yield HeadReady(tuple(have), len(train), time.perf_counter() - started)
        end = time.monotonic() + self.refit_pause_s
        while time.monotonic() < end:  # the out-of-fold part, long enough for a test to close meanwhile
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            time.sleep(0.01)
        yield Step("Checking the labels out of fold", 1, 1)
        held = [(p, c) for p, c in s.labels.items() if self._held_out(p)]
        right = 0
        for p, c in held:
            right += self._predict(set_name, np.stack([self.features[p]]))[0][0] == c
        accuracy = right / len(held) if held else None
        figures = tuple(ClassFigures(n, sum(c == n for c in s.labels.values()), 0, None, None, 0.5) for n in have)
        return FitReport(
            tuple(have), len(train), len(held), accuracy, figures, 1.0, 0, 0, time.perf_counter() - started
        )

    def _predict(self, set_name: str, x: np.ndarray) -> tuple[list[str], np.ndarray]:
        classes, centroids = self._centroids[set_name]
        distance = np.linalg.norm(x[:, None, :] - centroids[None, :, :], axis=2)
        logits = -distance / 4.0
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return [classes[i] for i in probs.argmax(axis=1)], probs

    def scores(self, set_name: str) -> Scores:
        self._enter("scores")
        s = self._set(set_name)
        if set_name not in self._centroids:
            raise FakeTeachError("Nothing has been learned yet; refit first")
        classes, _ = self._centroids[set_name]
        x = np.stack([self.features[p] for p in s.photos])
        _, probs = self._predict(set_name, x)
        top2 = np.sort(probs, axis=1)[:, -2:]
        position = {n: i for i, n in enumerate(classes)}
        return Scores(
            classes=classes,
            paths=tuple(s.photos),
            predicted=probs.argmax(axis=1).astype(np.int32),
            confidence=probs.max(axis=1),
            margin=top2[:, 1] - top2[:, 0],
            uncertain=probs.max(axis=1) < 0.6,
            labeled=np.array([position.get(s.labels.get(p, ""), -1) for p in s.photos], dtype=np.int32),
        )

    def review_queue(self, set_name: str, n: int) -> list[ReviewItem]:
        self._enter("review_queue")
        scores = self.scores(set_name)
        items = []
        unlabeled = np.flatnonzero(scores.labeled < 0)
        for i in unlabeled[np.argsort(scores.margin[unlabeled], kind="stable")][:n].tolist():
            items.append(
                ReviewItem(
                    Path(scores.paths[i]),
                    scores.classes[int(scores.predicted[i])],
                    float(scores.confidence[i]),
                    "uncertain",
                    float(scores.margin[i]),
                )
            )
        return items

    def grad_cam(self, set_name: str, path: Path, class_name: str, cancel: threading.Event) -> np.ndarray:
        self._enter("grad_cam")
        heat = np.zeros((32, 32, 3), np.uint8)
        heat[8:24, 8:24, 0] = 255
        return heat

    # -- versions ------------------------------------------------------------------------------------

    def save_version(self, set_name: str) -> VersionInfo:
        self._enter("save_version")
        s = self._set(set_name)
        number = len(s.versions) + 1
        s.versions = [
            VersionInfo(v.number, v.file, v.created, v.classes, v.labels, v.held_out_accuracy, False)
            for v in s.versions
        ]
        version = VersionInfo(
            number,
            self.folder / f"v{number}.safetensors",
            time.time(),
            tuple(n for n, _ in s.classes),
            len(s.labels),
            None,
            True,
        )
        s.versions.append(version)
        s.active = number
        return version

    def list_versions(self, set_name: str) -> list[VersionInfo]:
        self._enter("list_versions")
        return list(self._set(set_name).versions)

    def activate_version(self, set_name: str, number: int) -> VersionInfo:
        self._enter("activate_version")
        s = self._set(set_name)
        s.active = number
        s.versions = [
            VersionInfo(v.number, v.file, v.created, v.classes, v.labels, v.held_out_accuracy, v.number == number)
            for v in s.versions
        ]
        return next(v for v in s.versions if v.number == number)

    def compare_versions(self, set_name: str, first: int, second: int) -> VersionComparison:
        self._enter("compare_versions")
        return VersionComparison(first, second, 0, None, None, 0)

    def active_model(self, set_name: str) -> ModelRef:
        self._enter("active_model")
        s = self._set(set_name)
        if s.active is None:
            raise FakeTeachError(f"The label set {set_name!r} has no saved version yet; save one first")
        return ModelRef(file=self.folder / f"v{s.active}.safetensors")

    def close(self) -> None:
        self._enter("close")
