"""``resnet-desktop classify PATH...``: top-k labels for files and folders, as a table, CSV or JSON.

Results stream in input order (one per file, failures included). Exit codes: 0 every file was
classified, 1 some files could not be read (each is listed), 2 usage or model errors (bad
option, missing/incompatible weights, unavailable device). Torch is imported only when the
command runs, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from resnet_desktop.cli.common import add_model_options, load_cli_model, output_problem

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Prediction, Progress

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
FORMATS = ("table", "csv", "json")
CSV_HEADER = ("path", "rank", "label", "index", "probability", "error")

EPILOG = """\
output formats:
  table  one block per file: rank, label, probability (errors inline)
  csv    columns path,rank,label,index,probability,error; one row per (file, rank), or one
         row with only path and error for a file that could not be read
  json   one array, one object per input file in input order:
         {"path": ..., "predictions": [{"label": ..., "index": ..., "probability": ...}, ...]}
         or {"path": ..., "error": "<reason>"}

exit codes: 0 all files classified, 1 some files failed (listed on stderr),
            2 usage or model errors (bad option, missing weights, unavailable device)
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``classify`` on the main parser's sub-commands."""
    parser = subparsers.add_parser(
        "classify",
        help="classify images and folders, print top-k labels",
        description="Classify image files and folders (recursively) with a ResNet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders")
    add_model_options(parser)
    parser.add_argument("--topk", type=_positive_int, default=5, help="labels per image (default: 5)")
    parser.add_argument("--batch-size", type=_positive_int, default=None, help="images per batch (default: per device)")
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for the model (default: one per core; 1 can be faster on a busy machine)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write results to FILE (atomically) instead of stdout"
    )
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)
    return parser


# -- writers --------------------------------------------------------------------------------


class _Writer:
    """Streams predictions to a text stream in one of the output formats."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, prediction: Prediction) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class _TableWriter(_Writer):
    def write(self, prediction: Prediction) -> None:
        lines = [str(prediction.path)]
        if prediction.error is not None:
            lines.append(f"  error: {prediction.error}")
        else:
            width = max(len(s.label) for s in prediction.scores)
            for rank, score in enumerate(prediction.scores, start=1):
                lines.append(
                    f"  {rank:>2}. {score.label:<{width}}  {score.probability * 100:6.2f}%  (class {score.index})"
                )
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()


class _CsvWriter(_Writer):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.csv = csv.writer(stream, lineterminator="\n")
        self.csv.writerow(CSV_HEADER)

    def write(self, prediction: Prediction) -> None:
        path = str(prediction.path)
        if prediction.error is not None:
            self.csv.writerow((path, "", "", "", "", prediction.error))
            return
        for rank, score in enumerate(prediction.scores, start=1):
            self.csv.writerow((path, rank, score.label, score.index, f"{score.probability:.6f}", ""))


def prediction_to_json(prediction: Prediction) -> dict[str, Any]:
    """The JSON object for one file (documented in the README and ``--help``)."""
    if prediction.error is not None:
        return {"path": str(prediction.path), "error": prediction.error}
    return {
        "path": str(prediction.path),
        "predictions": [
            {"label": s.label, "index": s.index, "probability": round(s.probability, 6)} for s in prediction.scores
        ],
    }


class _JsonWriter(_Writer):
    """One JSON array, written element by element so output starts before the run ends."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.count = 0
        self.stream.write("[")

    def write(self, prediction: Prediction) -> None:
        self.stream.write(("," if self.count else "") + "\n  " + json.dumps(prediction_to_json(prediction)))
        self.count += 1

    def close(self) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        super().close()


WRITERS: dict[str, Callable[[TextIO], _Writer]] = {"table": _TableWriter, "csv": _CsvWriter, "json": _JsonWriter}


# -- progress -------------------------------------------------------------------------------


class ProgressLine:
    """A one-line progress display on a TTY; silent otherwise (a summary follows at the end)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if progress.total:
            filled = int(30 * progress.done / progress.total)
            head = f"[{'#' * filled}{'.' * (30 - filled)}] {progress.done}/{progress.total}"
        else:
            head = f"{progress.done} images"
        text = f"\r{head}  {progress.failed} failed  {progress.images_per_second:.1f} images/s"
        self.stream.write(text)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


# -- output file ----------------------------------------------------------------------------


class _AtomicOutput:
    """A temp file beside the target, renamed over it only when everything was written."""

    def __init__(self, target: Path) -> None:
        self.target = target
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        self.temp = Path(name)
        self.stream: TextIO = os.fdopen(handle, "w", encoding="utf-8", newline="")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.stream.close()
        self.temp.unlink(missing_ok=True)


def _usage_error(message: str) -> int:
    print(f"resnet-desktop classify: error: {message}", file=sys.stderr)
    return EXIT_USAGE


# -- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Load the model, stream predictions to the chosen output, report failures; return the exit code."""
    output: Path | None = args.output
    problem = output_problem(output, args.force) if output is not None else None
    if problem:
        return _usage_error(problem)

    import torch

    from resnet_desktop.core import images
    from resnet_desktop.core.errors import ResNetDesktopError
    from resnet_desktop.core.inference.engine import Engine

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        loaded = load_cli_model(args)
        engine = Engine(loaded, args.device, batch_size=args.batch_size)
    except ResNetDesktopError as exc:
        return _usage_error(str(exc))
    print(f"Model: {loaded.source} on {engine.device_name}", file=sys.stderr)

    sink = _AtomicOutput(output) if output is not None else None
    writer = WRITERS[args.format](sink.stream if sink else sys.stdout)
    bar = ProgressLine(sys.stderr)
    failures: list[Prediction] = []
    count = 0
    started = time.perf_counter()
    try:
        for prediction in engine.classify(images.discover(args.paths), topk=args.topk, progress=bar):
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
        return EXIT_INTERRUPTED
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    bar.clear()
    _summary(count, failures, time.perf_counter() - started, engine)
    if count == 0:
        return EXIT_SOME_FAILED
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _summary(count: int, failures: list[Prediction], elapsed: float, engine: Any) -> None:
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
            print(f"  {prediction.path}: {prediction.error}", file=err)
