"""The quality gate of the fast (int8) model: does it give the same answers as fp32 on your photos?

Measured, never assumed: on at least ``MIN_PHOTOS`` of the person's photos that were *not* used to
calibrate the int8 model, the int8 top-1 must equal the fp32 top-1 on at least ``MIN_AGREEMENT`` of
them, and no class may lose more than ``MAX_CLASS_LOSS`` of its photos (so a small class cannot be
sacrificed to a good average). Fewer photos is "cannot be verified", which is not a pass. Top-5
overlap is not used: with few classes it cannot fail.

A class's photos are those labeled with it (a taught model's labeled photos) or, without labels,
those fp32 puts in it. A class *loses* a photo when fp32 got it right and int8 does not (with
labels), or when int8 moves it elsewhere (without). Torch-free: plain top-1 indices in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from resnet_desktop.core.errors import SettingsError

MIN_PHOTOS = 100
#: Every n-th photo calibrates; the rest verify (so there are always far more verifying).
CALIBRATION_EVERY = 4
MAX_CALIBRATION = 64
#: Verification beyond this many photos only costs time (the gate's figure is already tight).
MAX_VERIFICATION = 600
MIN_AGREEMENT = 0.98
MAX_CLASS_LOSS = 0.02

PASSED, REFUSED, UNVERIFIABLE = "passed", "refused", "cannot be verified"


@dataclass(frozen=True)
class GateResult:
    """The verdict and the figures a person reads next to it."""

    verdict: str
    photos: int
    agreeing: int
    #: The class that lost the largest share of its photos, that share, and the counts behind it.
    worst_class: str | None = None
    worst_class_lost: int = 0
    worst_class_photos: int = 0
    calibration_photos: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    @property
    def agreement(self) -> float:
        return self.agreeing / self.photos if self.photos else 0.0

    @property
    def worst_class_loss(self) -> float:
        return self.worst_class_lost / self.worst_class_photos if self.worst_class_photos else 0.0

    def figure(self) -> str:
        """ "99.2% top-1 agreement with fp32 on 250 photos": the number shown with Fast Mode."""
        return f"{self.agreement:.1%} top-1 agreement with fp32 on {self.photos} photos"

    def summary(self) -> str:
        """One line: the verdict, the figure, the worst class and the rule."""
        if self.verdict == UNVERIFIABLE:
            return (
                f"cannot be verified: {self.photos} photos not used for calibration, at least {MIN_PHOTOS} are needed "
                f"(the int8 model must give the same top-1 as fp32 on >= {MIN_AGREEMENT:.0%} of them)"
            )
        worst = ""
        if self.worst_class is not None:
            worst = (
                f"; worst class {self.worst_class!r} lost {self.worst_class_lost} of {self.worst_class_photos} "
                f"({self.worst_class_loss:.1%})"
            )
        rule = f"needs >= {MIN_AGREEMENT:.0%} and no class losing more than {MAX_CLASS_LOSS:.0%}"
        return f"{self.verdict}: {self.figure()}{worst} ({rule})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(
            verdict=str(data["verdict"]),
            photos=int(data["photos"]),
            agreeing=int(data["agreeing"]),
            worst_class=None if data.get("worst_class") is None else str(data["worst_class"]),
            worst_class_lost=int(data.get("worst_class_lost", 0)),
            worst_class_photos=int(data.get("worst_class_photos", 0)),
            calibration_photos=int(data.get("calibration_photos", 0)),
        )


def judge(
    reference: Sequence[int],
    candidate: Sequence[int],
    *,
    class_names: Sequence[str],
    labels: Sequence[int | None] | None = None,
    calibration_photos: int = 0,
) -> GateResult:
    """The verdict for top-1 indices of fp32 (``reference``) and int8 (``candidate``) on the same photos.

    ``labels`` (class indices, None for an unlabeled photo) group photos by their true class;
    without them photos are grouped by the fp32 answer.
    """
    if len(reference) != len(candidate) or (labels is not None and len(labels) != len(reference)):
        raise ValueError("reference, candidate and labels must describe the same photos")
    n = len(reference)
    agreeing = sum(1 for a, b in zip(reference, candidate, strict=True) if a == b)
    if n < MIN_PHOTOS:
        return GateResult(UNVERIFIABLE, n, agreeing, calibration_photos=calibration_photos)
    photos: dict[int, int] = {}
    lost: dict[int, int] = {}
    for i, (ref, cand) in enumerate(zip(reference, candidate, strict=True)):
        label = labels[i] if labels is not None else None
        group = label if label is not None else ref
        photos[group] = photos.get(group, 0) + 1
        loses = (ref == label and cand != label) if label is not None else cand != ref
        if loses:
            lost[group] = lost.get(group, 0) + 1
    worst = max(photos, key=lambda g: (lost.get(g, 0) / photos[g], lost.get(g, 0)), default=None)
    worst_lost = lost.get(worst, 0) if worst is not None else 0
    worst_photos = photos.get(worst, 0) if worst is not None else 0
    ok = agreeing / n >= MIN_AGREEMENT and (worst_photos == 0 or worst_lost / worst_photos <= MAX_CLASS_LOSS)

    def name(index: int | None) -> str | None:
        if index is None:
            return None
        return class_names[index] if 0 <= index < len(class_names) else f"class {index}"

    return GateResult(
        PASSED if ok else REFUSED,
        n,
        agreeing,
        worst_class=name(worst) if worst_lost else None,
        worst_class_lost=worst_lost,
        worst_class_photos=worst_photos,
        calibration_photos=calibration_photos,
    )


@dataclass(frozen=True)
class PhotoSet:
    """The person's photos, split into calibration and verification; ``labels`` (class names, one
    per verification photo, None where unknown) when the photos are labeled."""

    calibration: list[Path]
    verification: list[Path]
    labels: list[str | None] | None = None

    @property
    def all(self) -> list[Path]:
        return [*self.calibration, *self.verification]


def split_photos(paths: Sequence[Path], labels: Sequence[str | None] | None = None) -> PhotoSet:
    """Every ``CALIBRATION_EVERY``-th photo (sorted by path) calibrates, spread over all of them when
    more than ``MAX_CALIBRATION`` would; the others verify, up to ``MAX_VERIFICATION`` evenly spread.
    Spread, not the first ones: in path order the first 600 of a library sorted into folders are its
    first folders only (a digits tree verified on 0-5 and calibrated on 0-2). ``labels[i]`` belongs
    to ``paths[i]``."""
    order = sorted(range(len(paths)), key=lambda i: str(paths[i]))
    if len(order) // CALIBRATION_EVERY >= MAX_CALIBRATION:
        calibration_idx = _spread(order, MAX_CALIBRATION)
    else:
        calibration_idx = order[::CALIBRATION_EVERY]
    chosen = set(calibration_idx)
    rest = [i for i in order if i not in chosen]
    verification_idx = _spread(rest, MAX_VERIFICATION)
    return PhotoSet(
        [Path(paths[i]) for i in calibration_idx],
        [Path(paths[i]) for i in verification_idx],
        [labels[i] for i in verification_idx] if labels is not None else None,
    )


def _spread(items: list[int], count: int) -> list[int]:
    """``count`` of ``items`` evenly spaced from first to last (all of them when there are fewer)."""
    if len(items) <= count:
        return items
    return [items[k * len(items) // count] for k in range(count)]


def labeled_photos(folder: Path) -> PhotoSet:
    """The photos in ``folder``, split; a photo in ``folder/<name>/...`` is labeled ``name`` (the gate
    counts it for that class when the model has a class of that name)."""
    from resnet_desktop.core.images import discover

    folder = Path(folder)
    if not folder.is_dir():
        raise SettingsError(f"{folder}: not a folder of photos")
    paths = list(discover([folder]))
    if not paths:
        raise SettingsError(f"{folder}: no images found to calibrate and verify the fast model on")
    names: list[str | None] = []
    for path in paths:
        parts = path.relative_to(folder).parts if path.is_relative_to(folder) else ()
        names.append(parts[0] if len(parts) > 1 else None)
    return split_photos(paths, names if any(n is not None for n in names) else None)
