"""``resnet-desktop classify PATH...``: top-k labels for files and folders, as a table, CSV or JSON.

Results stream in input order (one per file, failures included); the file formats are
``core.inference.records``'. Torch is imported only when the model needs it: a model whose ONNX
Runtime graph is cached classifies without torch (``core.inference.classifier``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from resnet_desktop.cli.cluster_run import add_cluster_options, run_cluster
from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    DownloadProgress,
    Exit,
    LiveLine,
    add_model_options,
    batch_size,
    check_output,
    model_ref,
    positive_int,
    printable,
    warning,
)

if TYPE_CHECKING:
    from resnet_desktop.core.inference.classifier import Classifier, Opened
    from resnet_desktop.core.inference.fast import PhotoSet
    from resnet_desktop.core.inference.records import Prediction, Progress
    from resnet_desktop.core.library.incremental import IndexedRun

FORMATS = ("table", "csv", "json")

EPILOG = """\
output formats:
  table  one block per file: rank, label, probability (errors inline)
  csv    columns path,rank,label,index,probability,error; one row per (file, rank), or one
         row with only path and error for a file that could not be read
  json   one array, one object per input file in input order:
         {"path": ..., "predictions": [{"label": ..., "index": ..., "probability": ...}, ...]}
         or {"path": ..., "error": "<reason>"}

"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``classify`` on the main parser's sub-commands."""
    parser = subparsers.add_parser(
        "classify",
        help="classify images and folders, print top-k labels",
        description="Classify image files and folders (recursively) with a ResNet.",
        epilog=EPILOG + "\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders")
    add_model_options(parser)
    parser.add_argument("--topk", type=positive_int, default=5, help="labels per image (default: 5)")
    parser.add_argument("--batch-size", type=batch_size, default=None, help="images per batch (default: per device)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for the model (default: one per core; 1 can be faster on a busy machine)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="what runs the model; auto: PyTorch on a GPU, on the CPU whichever a short run measured faster "
        "for this architecture on this machine (measured once, remembered) (default: auto)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "fast"),
        default="fp32",
        help="fast: the int8 model on ONNX Runtime, calibrated on your photos and used only if it gives the same "
        "top-1 as fp32 on >= 98%% of at least 100 other photos of yours (default: fp32)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="your photos to calibrate and verify --precision fast on (FOLDER/<class name>/... counts as labeled); "
        "default: the model's last verified fast model, else the photos being classified",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write results to FILE (atomically) instead of stdout"
    )
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.add_argument(
        "--no-index",
        action="store_true",
        help="neither read nor write the library index (by default known files come back from it at once)",
    )
    add_cluster_options(parser)
    parser.set_defaults(func=run)
    return parser


# -- writers --------------------------------------------------------------------------------


class Writer(Protocol):
    def write(self, prediction: Prediction) -> None: ...

    def close(self) -> None: ...


class TableWriter:
    """One block per file: rank, label, probability (errors inline)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, prediction: Prediction) -> None:
        lines = [printable(prediction.path)]
        if prediction.error is not None:
            lines.append(f"  error: {printable(prediction.error)}")
        else:
            labels = [printable(s.label) for s in prediction.scores]
            width = max(len(label) for label in labels)
            for rank, (label, score) in enumerate(zip(labels, prediction.scores, strict=True), start=1):
                lines.append(f"  {rank:>2}. {label:<{width}}  {score.probability * 100:6.2f}%  (class {score.index})")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def _writer(kind: str, stream: TextIO) -> Writer:
    from resnet_desktop.core.inference.records import JsonArrayWriter, LongCsvWriter

    writers: dict[str, Callable[[TextIO], Writer]] = {
        "table": TableWriter,
        "csv": LongCsvWriter,
        "json": JsonArrayWriter,
    }
    return writers[kind](stream)


class ProgressLine(LiveLine):
    """Classification progress on a terminal; silent otherwise (a summary follows at the end)."""

    def __call__(self, progress: Progress) -> None:
        if progress.total:
            filled = int(30 * progress.done / progress.total)
            head = f"[{'#' * filled}{'.' * (30 - filled)}] {progress.done}/{progress.total}"
        else:
            head = f"{progress.done} images"
        self.show(f"{head}  {progress.failed} failed  {progress.images_per_second:.1f} images/s")


# -- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Open the model, stream predictions to the chosen output, report failures; return the exit code."""
    if args.cluster is not None:
        return run_cluster(args)
    output: Path | None = args.output
    if output is not None:
        check_output(output, args.force, inputs=args.paths)

    from resnet_desktop.core import images
    from resnet_desktop.core.atomic import AtomicFile
    from resnet_desktop.core.inference.classifier import open_classifier

    photos = _fast_photos(args)
    download = DownloadProgress()
    try:
        opened = open_classifier(
            model_ref(args),
            backend=args.backend,
            precision=args.precision,
            device=args.device,
            threads=args.threads,
            batch_size=args.batch_size,
            photos=photos,
            progress=download,
            say=lambda message: print(message, file=sys.stderr),
        )
    finally:
        download.finish()
    engine = opened.classifier
    print(f"Model: {opened.source} on {engine.device_name} ({engine.backend}, {engine.precision})", file=sys.stderr)

    run_ = _indexed_run(args, opened)
    sink = AtomicFile(output, overwrite=args.force, text=True, newline="") if output is not None else None
    if sink is None and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")  # CSV of a non-UTF-8 name: its own bytes
    writer = _writer(args.format, cast(TextIO, sink.stream) if sink else sys.stdout)
    bar = ProgressLine(sys.stderr)
    failures: list[Prediction] = []
    count = 0
    started = time.perf_counter()
    try:
        inputs = [Path(p) for p in args.paths]
        for item in run_.classify(images.discover(args.paths), progress=bar, inputs=inputs):
            prediction = item.prediction
            count += 1
            if not prediction.ok:
                failures.append(prediction)
            writer.write(prediction)
        writer.close()
        if sink is not None:
            sink.commit()
    except KeyboardInterrupt:
        bar.clear()
        if sink is not None:
            sink.discard()
        print(f"Interrupted after {count} files; nothing was written to --output.", file=sys.stderr)
        return Exit.INTERRUPTED
    except OSError as exc:
        if sink is None:
            raise
        raise sink.write_error(exc) from exc  # disk full, quota: one message, no partial file
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    bar.clear()
    _summary(count, failures, time.perf_counter() - started, engine)
    _index_summary(run_)
    if count == 0:
        return Exit.SOME_FAILED
    return Exit.SOME_FAILED if failures else Exit.OK


def _fast_photos(args: argparse.Namespace) -> PhotoSet | None:
    """The photos fast mode calibrates and verifies on: ``--calibration FOLDER`` (labeled when its
    subfolders are class names), else None (the last verified fast model, else the inputs)."""
    if args.precision != "fast":
        if args.calibration is not None:
            from resnet_desktop.core.errors import SettingsError

            raise SettingsError("--calibration is for --precision fast only")
        return None
    from resnet_desktop.core.images import discover
    from resnet_desktop.core.inference.fast import labeled_photos, split_photos

    if args.calibration is not None:
        return labeled_photos(args.calibration)
    from resnet_desktop.core.inference import graph_store

    stored = graph_store.find(model_ref(args))
    if stored is not None and stored.verified_fast() is not None:
        return None  # the model's verified fast graph
    return split_photos(list(discover(args.paths)))


def _indexed_run(args: argparse.Namespace, opened: Opened) -> IndexedRun:
    """The run through the library index; without it when ``--no-index`` or when it cannot be used."""
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.library.index import LibraryIndexError, ModelIdentity, open_index

    index = None
    if not args.no_index:
        try:
            index = open_index()
        except LibraryIndexError as exc:
            warning("classify", exc)
    if index is not None:
        for notice in index.notices:
            warning("classify", notice)
    identity = ModelIdentity.of(opened.model, opened.precision_tag) if index is not None else None
    return IndexedRun(opened.classifier, index, identity, topk=args.topk)


def _index_summary(run_: IndexedRun) -> None:
    for notice in run_.counts.notices or []:
        warning("classify", notice)
    if run_.index is not None or run_.counts.from_index:
        moved = f" ({run_.counts.moved} moved or renamed)" if run_.counts.moved else ""
        print(
            f"From the library index: {run_.counts.from_index}{moved}; newly classified: {run_.counts.new}.",
            file=sys.stderr,
        )
    run_.close()


def _summary(count: int, failures: list[Prediction], elapsed: float, engine: Classifier) -> None:
    err = sys.stderr
    for notice in engine.notices:
        print(f"Note: {notice}", file=err)
    if count == 0:
        print("No image files found in the given paths.", file=err)
        return
    rate = count / elapsed if elapsed > 0 else 0.0
    print(
        f"Classified {count - len(failures)} of {count} files in {elapsed:.1f} s ({rate:.1f} files/s).",
        file=err,
    )
    if failures:
        print(f"{len(failures)} file(s) could not be classified:", file=err)
        for prediction in failures:
            print(f"  {printable(prediction.path)}: {printable(prediction.error)}", file=err)
