"""``resnet-desktop classify PATH...``: top-k labels for files and folders, as a table, CSV or JSON.

Results stream in input order (one per file, failures included); the file formats are
``core.inference.records``'. Torch is imported only when the model needs it: a model whose ONNX
Runtime graph is cached classifies without torch (``core.inference.api.open_classifier``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from resnet_desktop.cli.cluster_run import add_cluster_options, run_cluster
from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    ClassifyProgressLine,
    Exit,
    add_engine_options,
    add_model_options,
    check_output,
    open_cli_classifier,
    positive_int,
    printable,
    warning,
)

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Classifier, Prediction
    from resnet_desktop.core.library.api import ClassifyEvent, ClassifySummary

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
    add_engine_options(parser)
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


# -- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Load the model, stream predictions to the chosen output, report failures; return the exit code."""
    if args.cluster is not None:
        return run_cluster(args)
    output: Path | None = args.output
    if output is not None:
        check_output(output, args.force, inputs=args.paths)

    from resnet_desktop.core.atomic import AtomicFile
    from resnet_desktop.core.inference.api import Progress
    from resnet_desktop.core.library.api import classify_photos
    from resnet_desktop.core.work import drive

    opened = open_cli_classifier(args)
    engine = opened.classifier
    sink = AtomicFile(output, overwrite=args.force, text=True, newline="") if output is not None else None
    if sink is None and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")  # CSV of a non-UTF-8 name: its own bytes
    writer = _writer(args.format, cast(TextIO, sink.stream) if sink else sys.stdout)
    bar = ClassifyProgressLine(sys.stderr)
    failures: list[Prediction] = []
    written: list[int] = [0]

    def show(event: ClassifyEvent) -> None:
        if isinstance(event, Progress):
            bar(event)
            return
        written[0] += 1
        if not event.prediction.ok:
            failures.append(event.prediction)
        writer.write(event.prediction)

    work = classify_photos(
        opened.model, engine, args.paths, topk=args.topk, use_index=not args.no_index, precision=opened.precision_tag
    )
    try:
        summary = drive(work, show)
        writer.close()
        if sink is not None:
            sink.commit()
    except KeyboardInterrupt:
        bar.clear()
        if sink is not None:
            sink.discard()
        print(f"Interrupted after {written[0]} files; nothing was written to --output.", file=sys.stderr)
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
    _summary(summary, failures, engine)
    if summary.files == 0:
        return Exit.SOME_FAILED
    return Exit.SOME_FAILED if failures else Exit.OK


def _summary(summary: ClassifySummary, failures: list[Prediction], engine: Classifier) -> None:
    err = sys.stderr
    for notice in engine.notices:
        print(f"Note: {notice}", file=err)
    for notice in summary.notices:
        warning("classify", notice)
    if summary.files == 0:
        print("No image files found in the given paths.", file=err)
    else:
        print(
            f"Classified {summary.classified} of {summary.files} files in {summary.elapsed_s:.1f} s "
            f"({summary.rate:.1f} files/s).",
            file=err,
        )
    if failures:
        print(f"{len(failures)} file(s) could not be classified:", file=err)
        for prediction in failures:
            print(f"  {printable(prediction.path)}: {printable(prediction.error)}", file=err)
    if summary.index_used or summary.from_index:
        moved = f" ({summary.moved} moved or renamed)" if summary.moved else ""
        print(f"From the library index: {summary.from_index}{moved}; newly classified: {summary.new}.", file=err)
