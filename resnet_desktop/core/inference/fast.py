"""Fast Mode: an int8 graph calibrated on the person's own photos, used only when the gate passes.

The photos are split once: every ``CALIBRATION_EVERY``-th (up to ``MAX_CALIBRATION``) calibrates
the int8 graph (``models.int8``), the others (up to ``MAX_VERIFICATION``) verify it: fp32 and int8
run on the same decoded pixels and ``models.gate`` judges their top-1 answers. The graph and the
verdict are remembered in the graph cache per model and photo set, refusals included, so a second
run neither calibrates nor verifies again. Torch-free: both graphs run on ONNX Runtime (the fp32
graph agrees with PyTorch within 1e-3, checked when it is exported).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import CancelledError, ExportError, SettingsError
from resnet_desktop.core.inference import graph_store
from resnet_desktop.core.inference.batching import decoded_batches
from resnet_desktop.core.inference.pixels import decode_array, normalize_array
from resnet_desktop.core.models import gate, int8
from resnet_desktop.core.models.backbone import package_version
from resnet_desktop.core.models.gate import PhotoSet as PhotoSet
from resnet_desktop.core.models.gate import labeled_photos as labeled_photos
from resnet_desktop.core.models.gate import split_photos as split_photos

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from resnet_desktop.core.inference.graph_store import FastEntry, StoredModel
    from resnet_desktop.core.models.spec import Preprocessing

logger = logging.getLogger(__name__)

Say = Callable[[str], None]
#: A batch of normalised float32 pixels -> logits.
Logits = Callable[["NDArray[np.float32]"], "NDArray[np.float32]"]


class FastModeRefused(SettingsError):
    """The int8 model failed its gate, or could not be verified: fast mode is not used."""

    title = "Fast Mode refused"

    def __init__(self, message: str, result: gate.GateResult) -> None:
        super().__init__(message)
        self.result = result


def photo_set_id(photos: PhotoSet, preprocessing: Preprocessing, recipe: int8.Recipe) -> str:
    extra = f"{recipe.tag()}|ort{package_version('onnxruntime')}|{sorted(preprocessing.to_dict().items())}"
    labels = "" if photos.labels is None else ",".join(str(x) for x in photos.labels)
    return graph_store.photo_set_id(photos.all, extra=f"{extra}|{len(photos.calibration)}|{labels}")


def _decoded(
    paths: Sequence[Path], preprocessing: Preprocessing, cancel: threading.Event | None, batch_size: int = 16
) -> list[tuple[list[int], NDArray[np.float32]]]:
    """Normalised batches of the photos that decode, each with the positions (in ``paths``) it holds."""

    def decode(path: Path) -> tuple[NDArray[np.uint8] | None, str | None]:
        return decode_array(path, preprocessing)

    out: list[tuple[list[int], NDArray[np.float32]]] = []
    position = 0
    for items in decoded_batches(paths, decode, batch_size=batch_size, cancel=cancel):
        kept = [(position + i, d.pixels) for i, d in enumerate(items) if d.pixels is not None]
        position += len(items)
        if kept:
            out.append(([p for p, _ in kept], normalize_array(np.stack([px for _, px in kept]), preprocessing)))
    if cancel is not None and cancel.is_set():
        raise CancelledError("Building the fast model was cancelled.")
    return out


def verify(
    reference: Logits,
    candidate: Logits,
    photos: PhotoSet,
    preprocessing: Preprocessing,
    class_names: Sequence[str],
    *,
    cancel: threading.Event | None = None,
) -> gate.GateResult:
    """The gate's verdict on the verification photos (those that cannot be decoded do not count)."""
    ref_top1: list[int] = []
    cand_top1: list[int] = []
    labels: list[int | None] = []
    index = {name: i for i, name in enumerate(class_names)}
    for positions, batch in _decoded(photos.verification, preprocessing, cancel):
        ref_top1 += np.asarray(reference(batch)).argmax(axis=1).tolist()
        cand_top1 += np.asarray(candidate(batch)).argmax(axis=1).tolist()
        if photos.labels is not None:
            labels += [index.get(photos.labels[p] or "") for p in positions]
        if cancel is not None and cancel.is_set():
            raise CancelledError("Verifying the fast model was cancelled.")
    labeled = photos.labels is not None and any(label is not None for label in labels)
    return gate.judge(
        ref_top1,
        cand_top1,
        class_names=class_names,
        labels=labels if labeled else None,
        calibration_photos=len(photos.calibration),
    )


def calibration_batches(
    photos: PhotoSet, preprocessing: Preprocessing, cancel: threading.Event | None
) -> list[NDArray[np.float32]]:
    """One normalised image per batch (ORT's calibrator collects ranges per call)."""
    batches: list[NDArray[np.float32]] = []
    for _positions, batch in _decoded(photos.calibration, preprocessing, cancel):
        batches.extend(batch[i : i + 1] for i in range(batch.shape[0]))
    return batches


def build(
    stored: StoredModel,
    photos: PhotoSet,
    *,
    recipes: Sequence[int8.Recipe] = int8.RECIPES,
    threads: int | None = None,
    say: Say | None = None,
    cancel: threading.Event | None = None,
) -> tuple[StoredModel, FastEntry]:
    """The fast graph of ``stored`` for ``photos`` and its gate verdict: the first of ``recipes`` whose
    graph passes the gate, from the cache or built, verified and remembered now (refusals are
    remembered too, so a recipe is never re-tried on the same photos). When every recipe is refused,
    the refusal of the one that agreed best. Does not raise on a refusal."""
    tell: Say = say or (lambda _message: None)
    latest = stored  # each attempt remembers its verdict in the model's manifest

    def attempt(recipe: int8.Recipe) -> tuple[FastEntry, gate.GateResult]:
        nonlocal latest
        latest, entry = _build_one(latest, photos, recipe, threads=threads, say=tell, cancel=cancel)
        return entry, entry.gate

    entry, _result = int8.first_passing(recipes, attempt, tell)
    if latest.last_fast != entry.calibration:  # a refusal that agreed better than the last one tried
        latest = graph_store.record_fast(latest, entry)
    return latest, entry


def _build_one(
    stored: StoredModel,
    photos: PhotoSet,
    recipe: int8.Recipe,
    *,
    threads: int | None,
    say: Say,
    cancel: threading.Event | None,
) -> tuple[StoredModel, FastEntry]:
    """One recipe's fast graph and verdict, from the cache or built and verified now."""
    from resnet_desktop.core.inference.graph_store import FastEntry
    from resnet_desktop.core.inference.ort_runner import OrtRunner

    calibration = photo_set_id(photos, stored.preprocessing, recipe)
    known = stored.fast.get(calibration)
    if known is not None and (known.graph.is_file() or not known.gate.passed):
        return stored, known
    graph = graph_store.fast_graph_path(stored.backbone, calibration)
    if len(photos.verification) < gate.MIN_PHOTOS:  # no point calibrating what cannot be verified
        result = gate.judge([0] * len(photos.verification), [0] * len(photos.verification), class_names=[])
        entry = FastEntry(calibration, graph, result, recipe.tag())
        return graph_store.record_fast(stored, entry), entry
    if not graph.is_file():
        say(f"Calibrating the fast (int8) model on {len(photos.calibration)} of your photos…")
        batches = calibration_batches(photos, stored.preprocessing, cancel)
        if not batches:
            raise ExportError("none of the calibration photos could be read")
        data = int8.quantize(stored.fp32_graph().read_bytes(), batches, recipe)
        graph.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(graph, data, overwrite=True)  # our cache
    say(f"Checking the fast model against fp32 on {len(photos.verification)} other photos of yours…")
    fp32 = OrtRunner(stored, threads=threads)
    fast = OrtRunner(stored, graph=graph, precision="fast", threads=threads)
    result = verify(
        lambda x: fp32.run(x)[0],
        lambda x: fast.run(x)[0],
        photos,
        stored.preprocessing,
        stored.categories,
        cancel=cancel,
    )
    entry = FastEntry(calibration, graph, result, recipe.tag())
    logger.info("fast model for %s (%s): %s", stored.source, recipe.tag(), result.summary())
    return graph_store.record_fast(stored, entry), entry


def refusal(result: gate.GateResult) -> FastModeRefused:
    """The error a person reads when fast mode is not used."""
    if result.verdict == gate.UNVERIFIABLE:
        message = (
            f"Fast mode cannot be verified: it needs at least {gate.MIN_PHOTOS} of your photos that were not used "
            f"to calibrate it, and {result.photos} were available. Give it more photos (classify --calibration "
            "FOLDER, or classify a bigger folder) or use fp32."
        )
    else:
        message = f"Fast mode refused: the int8 model would change answers ({result.summary()})."
    return FastModeRefused(message, result)


def require_passed(entry: FastEntry) -> FastEntry:
    """``entry`` when its gate passed; ``FastModeRefused`` with the figures otherwise."""
    if not entry.gate.passed:
        raise refusal(entry.gate)
    return entry
