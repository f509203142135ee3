"""Evaluate a model on a labeled folder: the one generator the CLI and the GUI drive.

``evaluate_folder()`` lists the class subfolders, matches them to the model's classes
(``labels``), runs the engine's decoder and model over every image (full probabilities, so the
loss of the true class is known even outside the top 5), yields a ``Progress`` after each batch
and finally the :class:`EvaluationReport`. A cancel raises ``CancelledError``; nothing is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.core.errors import CancelledError, DatasetError
from resnet_desktop.core.evaluate import labels
from resnet_desktop.core.evaluate.metrics import DEFAULT_TARGET_ACCURACY
from resnet_desktop.core.evaluate.report import EvaluationReport, ImageResult, build_report, columns_for
from resnet_desktop.core.inference.records import Progress

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import LoadedModel


@dataclass
class LabeledFolder:
    """The class subfolders of a labeled folder and the image files below each."""

    root: Path
    files: dict[str, list[Path]]
    loose_images: int = 0

    @property
    def folders(self) -> list[str]:
        return list(self.files)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.files.values())


def scan_labeled_folder(folder: str | Path, *, cancel: threading.Event | None = None) -> LabeledFolder:
    """One entry per non-hidden subfolder (sorted), with every image file below it (recursively)."""
    from resnet_desktop.core.images import IMAGE_SUFFIXES, discover

    root = Path(folder).expanduser()
    if not root.exists():
        raise DatasetError(f"{root} does not exist.")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; choose a folder with one subfolder per class.")
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise DatasetError(f"{root} cannot be read: {exc.strerror or exc}") from exc
    class_dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    if not class_dirs:
        raise DatasetError(f"{root} has no subfolders; put each class's images in a subfolder named after the class.")
    files: dict[str, list[Path]] = {}
    for class_dir in class_dirs:
        found = []
        for path in discover([class_dir]):
            if cancel is not None and cancel.is_set():
                raise CancelledError("Evaluation was cancelled; no report was made.")
            found.append(path)
        files[class_dir.name] = found
    loose = sum(1 for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return LabeledFolder(root, files, loose)


def _imagenet_categories() -> list[str]:
    from resnet_desktop.core.models.zoo import get_weights_info

    return list(get_weights_info("resnet50", "IMAGENET1K_V1").categories)


def match_model(loaded: LoadedModel, scan: LabeledFolder, mapping: Mapping[str, str] | None) -> labels.LabelMatch:
    """Which model class each subfolder is (ImageNet models also by WordNet ID)."""
    imagenet = labels.is_imagenet(loaded.categories, _imagenet_categories())
    return labels.match_folders(scan.folders, loaded.categories, imagenet=imagenet, mapping=mapping)


def model_summary(loaded: LoadedModel, engine: Engine | None = None) -> dict[str, Any]:
    """What the report says about the model (``categories`` is kept in memory, not in the JSON)."""
    summary: dict[str, Any] = {
        "source": loaded.source,
        "arch": loaded.arch,
        "weights": loaded.weights_name,
        "file": str(loaded.custom_file) if loaded.custom_file else None,
        "num_classes": loaded.num_classes,
        "categories": list(loaded.categories),
    }
    if engine is not None:
        summary.update(device=engine.device_name, batch_size=engine.batch_size)
    return summary


@dataclass
class _Plan:
    paths: list[Path]
    truth: list[int]
    rows: list[str]
    row_indices: list[int]
    row_folders: dict[str, list[str]]
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _plan(loaded: LoadedModel, scan: LabeledFolder, match: labels.LabelMatch) -> _Plan:
    if not match.matched:
        listing = "; ".join(f"{f.folder!r}: {f.reason}" for f in match.unmatched[:10])
        raise DatasetError(
            f"None of the subfolders of {scan.root} matches a class of this model ({listing}). "
            "Name the folders after the model's classes (or WordNet IDs for ImageNet models), "
            "or give a mapping file (folder,class per line)."
        )
    row_indices = sorted({f.index for f in match.matched if f.index is not None})
    rows = [loaded.categories[i] for i in row_indices]
    row_of = {index: row for row, index in enumerate(row_indices)}
    plan = _Plan([], [], rows, row_indices, {name: [] for name in rows}, notes=list(match.notes))
    for entry in match.folders:
        if entry.index is None:
            plan.unmatched.append(
                {"folder": entry.folder, "images": len(scan.files[entry.folder]), "reason": entry.reason}
            )
            continue
        plan.row_folders[loaded.categories[entry.index]].append(entry.folder)
        for path in scan.files[entry.folder]:
            plan.paths.append(path)
            plan.truth.append(row_of[entry.index])
    if not plan.paths:
        raise DatasetError(f"The matched subfolders of {scan.root} contain no image files.")
    if scan.loose_images:
        plan.notes.append(f"{scan.loose_images} image(s) directly in {scan.root} are not in a class folder: ignored.")
    return plan


def evaluate_folder(
    loaded: LoadedModel,
    folder: str | Path,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    mapping: Mapping[str, str] | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    top_losses: int = 20,
    cancel: threading.Event | None = None,
) -> Iterator[Progress | EvaluationReport]:
    """Yield a ``Progress`` after each batch, then the report (always the last item)."""
    from resnet_desktop.core.inference.engine import Engine

    started = time.perf_counter()
    scan = scan_labeled_folder(folder, cancel=cancel)
    plan = _plan(loaded, scan, match_model(loaded, scan, mapping))
    engine = engine or Engine(loaded, device)
    columns, column_indices = columns_for(plan.row_indices, loaded.categories)
    column_of = {index: col for col, index in enumerate(column_indices) if index is not None}
    other = column_indices.index(None) if None in column_indices else None
    truth = dict(zip(plan.paths, plan.truth, strict=True))
    results: list[ImageResult] = []
    failed: list[tuple[Path, str]] = []
    done = 0
    k = min(5, loaded.num_classes)
    for batch in engine.decode(plan.paths, cancel=cancel):
        if cancel is not None and cancel.is_set():
            break
        positions = batch.ok_positions
        if positions:
            probs = engine.logits(batch.pixels).softmax(dim=1)
            confidence, top = probs.topk(k, dim=1)
            for row, position in enumerate(positions):
                path = batch.paths[position]
                true_row = truth[path]
                true_index = plan.row_indices[true_row]
                pred_index = int(top[row, 0])
                pred_col = column_of.get(pred_index, other)
                assert pred_col is not None
                results.append(
                    ImageResult(
                        path=path,
                        true=true_row,
                        pred=pred_col,
                        true_index=true_index,
                        pred_index=pred_index,
                        confidence=float(confidence[row, 0]),
                        p_true=float(probs[row, true_index]),
                        top5=tuple(int(i) for i in top[row].tolist()),
                    )
                )
        failed.extend((p, e) for p, e in zip(batch.paths, batch.errors, strict=True) if e is not None)
        done += len(batch)
        elapsed = time.perf_counter() - started
        yield Progress(done, len(failed), len(plan.paths), done / elapsed if elapsed > 0 else 0.0, elapsed)
    if cancel is not None and cancel.is_set():
        raise CancelledError(f"Evaluation was cancelled after {done} of {len(plan.paths)} images; no report was made.")
    if not results:
        raise DatasetError(f"None of the {len(plan.paths)} images in {scan.root} could be read.")
    report = build_report(
        model=model_summary(loaded, engine),
        folder=scan.root,
        rows=plan.rows,
        row_indices=plan.row_indices,
        row_folders=plan.row_folders,
        images=results,
        columns=columns,
        column_indices=column_indices,
        target_accuracy=target_accuracy,
        top_losses=top_losses,
        num_classes=loaded.num_classes,
    )
    report.unmatched = plan.unmatched
    report.failed = failed
    report.notes = plan.notes + list(engine.notices)
    report.elapsed_s = time.perf_counter() - started
    yield report


def run_evaluation(loaded: LoadedModel, folder: str | Path, **kwargs: Any) -> EvaluationReport:
    """Drive :func:`evaluate_folder` to the end and return the report."""
    report = None
    for item in evaluate_folder(loaded, folder, **kwargs):
        if isinstance(item, EvaluationReport):
            report = item
    assert report is not None
    return report
