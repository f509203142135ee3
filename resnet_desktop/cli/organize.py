"""``resnet-desktop organize PATH... --into DEST``: sort photos into class folders, with a journal and undo.

Predictions come from a fresh classification (the model options of ``classify``) or from a results
file (``classify --format json``). ``--dry-run`` prints the plan and touches nothing; otherwise the
plan is applied with a journal next to DEST, which ``--resume`` finishes and ``--undo`` reverses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    ClassifyProgressLine,
    Exit,
    LiveLine,
    add_engine_options,
    add_model_options,
    fraction,
    open_cli_classifier,
    positive_int,
    warning,
)

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Prediction
    from resnet_desktop.core.library.api import ClassifyEvent, OperationProgress, Outcome, Plan

MODES = ("copy", "move", "link", "symlink")
EPILOG = """\
where photos go:
  DEST/<class>/<path below the folder given>   (--flat: DEST/<class>/<file name>)
  DEST/_uncertain/...                          when the best class is below the threshold
  with --topk K > 1, a photo goes to every class among its top K at or above the threshold
  (copy, link or symlink only). Taken names get a numbered suffix ("photo (2).jpg"); nothing
  is ever overwritten. Class names become folder names that are safe on Linux, macOS and Windows.

journal and undo:
  every operation is written to DEST/../.resnet-desktop-journal-<date>.jsonl before it is done.
  --resume JOURNAL finishes an organize that was interrupted (a crash, Ctrl+C, a full disk);
  --undo JOURNAL reverses it, refusing (per file) where a file was changed since.

"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``organize`` on the main parser's sub-commands."""
    parser = subparsers.add_parser(
        "organize",
        help="sort photos into class folders (copy, move or link), with undo",
        description="Sort photos into one folder per predicted class; optionally add the labels as XMP keywords.",
        epilog=EPILOG + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="image files and/or folders")
    parser.add_argument("--into", type=Path, metavar="DEST", help="the folder to sort into (created if needed)")
    parser.add_argument("--mode", choices=MODES, default="copy", help="copy (default), move, link (hard) or symlink")
    threshold = parser.add_mutually_exclusive_group()
    threshold.add_argument(
        "--threshold",
        type=fraction,
        default=None,
        help="below this probability a photo goes to _uncertain (default: 0.5)",
    )
    threshold.add_argument(
        "--threshold-from",
        type=Path,
        metavar="REPORT",
        help="use the suggested_threshold of an evaluation report (JSON)",
    )
    parser.add_argument("--topk", type=positive_int, default=1, help="consider the top K classes (default: 1)")
    parser.add_argument("--flat", action="store_true", help="do not keep the folder structure below each class")
    parser.add_argument("--xmp", action="store_true", help="add the labels as keywords to XMP sidecars")
    parser.add_argument(
        "--xmp-naming",
        choices=("full", "base", "both"),
        default="full",
        help="sidecar names: full = photo.jpg.xmp (digiKam, darktable; default), base = photo.xmp (Lightroom), both",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="FILE",
        help="use a results file (classify --format json or --cluster's .parquet) instead of the model",
    )
    parser.add_argument(
        "--exclude-class",
        action="append",
        default=[],
        metavar="CLASS",
        help="leave this class's photos alone (a label, a folder name, or _uncertain; repeatable)",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], type=Path, metavar="FILE", help="leave this photo alone (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; touch nothing")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="--dry-run output format")
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--resume", type=Path, metavar="JOURNAL", help="finish an interrupted organize")
    runs.add_argument("--undo", type=Path, metavar="JOURNAL", help="reverse an organize")
    add_model_options(parser)
    add_engine_options(parser)
    parser.add_argument(
        "--no-index",
        action="store_true",
        help="neither read nor write the library index (by default known photos come back from it at once)",
    )
    parser.set_defaults(func=run, parser=parser)
    return parser


# -- predictions ----------------------------------------------------------------------------


def classify(args: argparse.Namespace, dest: Path) -> list[Prediction]:
    """The predictions for ``args.paths`` through the library index, like ``classify`` (DEST left out)."""
    from resnet_desktop.core.inference.api import Progress
    from resnet_desktop.core.library.api import classify_photos, is_inside
    from resnet_desktop.core.work import drive

    opened = open_cli_classifier(args)
    line = ClassifyProgressLine(sys.stderr)
    predictions: list[Prediction] = []

    def keep(event: ClassifyEvent) -> None:
        if isinstance(event, Progress):
            line(event)
        else:
            predictions.append(event.prediction)

    work = classify_photos(
        opened.model,
        opened.classifier,
        args.paths,
        topk=max(5, args.topk),
        use_index=not args.no_index,
        exclude=lambda path: is_inside(path, dest),
        precision=opened.precision_tag,
    )
    try:
        summary = drive(work, keep)
    finally:
        line.clear()
    for notice in summary.notices:
        warning("organize", notice)
    if summary.index_used:
        print(f"From the library index: {summary.from_index}; newly classified: {summary.new}.", file=sys.stderr)
    return predictions  # unreadable files become the plan's "left alone" lines


# -- output ---------------------------------------------------------------------------------


def print_plan(plan: Plan, fmt: str) -> None:
    from resnet_desktop.core.library.api import FileOp

    if fmt == "json":
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        return
    counts = plan.counts()
    print(f"Plan: {plan.options.mode.value} {len(plan.photo_ops)} photos into {plan.dest} (nothing done yet)")
    for folder, count in counts.items():
        print(f"  {folder}/  {count} photo{'s' if count != 1 else ''}")
        for op in plan.photo_ops:
            if op.folder == folder:
                print(f"    {op.source} -> {op.destination.relative_to(plan.dest)}  ({op.probability * 100:.1f}%)")
    companions = [op for op in plan.operations if isinstance(op, FileOp) and op.companion_of is not None]
    if companions:
        print(f"  + {len(companions)} existing sidecar(s) travel with their photos")
    if plan.sidecar_ops:
        print(f"  + keywords added to {len(plan.sidecar_ops)} XMP sidecar(s)")
    if plan.skipped:
        print(f"Left alone ({len(plan.skipped)}):")
        for skipped in plan.skipped:
            print(f"  {skipped.path}: {skipped.reason}")


class ProgressLine(LiveLine):
    def __call__(self, progress: OperationProgress) -> None:
        self.show(f"{progress.done}/{progress.total} done  {progress.failed} failed")


def _drive(steps: Iterator[OperationProgress], journal: Path, verb: str) -> Outcome:
    """Run an apply/undo generator with a progress line; Ctrl+C leaves the journal ready to resume."""
    line = ProgressLine(sys.stderr)
    try:
        while True:
            try:
                line(next(steps))
            except StopIteration as stop:
                outcome: Outcome = stop.value
                return outcome
    except KeyboardInterrupt:
        line.clear()
        how = "--resume" if verb == "organize" else "--undo"
        print(f"Interrupted. Run 'resnet-desktop organize {how} {journal}' to finish.", file=sys.stderr)
        raise
    finally:
        line.clear()


def _report(outcome: Outcome, verb: str) -> int:
    err = sys.stderr
    for path, why in outcome.problems:
        print(f"  {why}" if str(path) in why else f"  {path}: {why}", file=err)
    j = outcome.journal
    if outcome.stopped:
        print(f"resnet-desktop organize: error: stopped: {outcome.stopped}", file=err)
        print(
            f"{outcome.done} of {outcome.total} operations are done and nothing was lost. Fix the cause, then run "
            f"'resnet-desktop organize --resume {j}' to finish or '--undo {j}' to reverse.",
            file=err,
        )
        return Exit.SOME_FAILED
    if verb == "undo":
        print(f"Undid {outcome.done} of {outcome.total} operations ({len(outcome.problems)} refused).", file=err)
    else:
        print(f"Done: {outcome.done} of {outcome.total} operations ({len(outcome.problems)} failed).", file=err)
        print(f"Journal: {j}  (undo with: resnet-desktop organize --undo {j})", file=err)
    return Exit.SOME_FAILED if outcome.problems else Exit.OK


# -- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import apply, begin, undo

    parser: argparse.ArgumentParser = args.parser
    if args.undo is not None:
        return _report(_drive(undo(args.undo), args.undo, "undo"), "undo")
    if args.resume is not None:
        return _report(_drive(apply(args.resume), args.resume, "organize"), "organize")
    if args.into is None:
        parser.error("--into DEST is required (or --resume/--undo JOURNAL)")
    if not args.paths and args.results is None:
        parser.error("give PATHs to classify, or --results FILE")

    from resnet_desktop.core.cluster.api import read_results
    from resnet_desktop.core.library.api import Mode, Naming, OrganizeOptions, make_plan, read_suggested_threshold

    threshold = read_suggested_threshold(args.threshold_from) if args.threshold_from else args.threshold
    options = OrganizeOptions(
        mode=Mode(args.mode),
        flat=args.flat,
        threshold=0.5 if threshold is None else threshold,
        topk=args.topk,
        xmp=args.xmp,
        xmp_naming=Naming(args.xmp_naming),
    )
    options.check()  # before a long classification
    dest: Path = args.into
    predictions = read_results(args.results) if args.results is not None else classify(args, dest)
    roots = [Path(p) for p in args.paths] or None
    predictions = list(predictions)
    plan = make_plan(predictions, dest, options, roots=roots, exclude_files=args.exclude)
    if args.exclude_class:
        folders = {plan.folders.get(name, name) for name in args.exclude_class}
        plan = make_plan(predictions, dest, options, roots=roots, exclude_folders=folders, exclude_files=args.exclude)
    if args.dry_run:
        print_plan(plan, args.format)
        return Exit.OK
    if not plan.operations:
        print("Nothing to organize.", file=sys.stderr)
        for skipped in plan.skipped:
            print(f"  {skipped.path}: {skipped.reason}", file=sys.stderr)
        return Exit.SOME_FAILED if plan.skipped else Exit.OK
    journal = begin(plan)
    outcome = _drive(apply(journal), journal, "organize")
    for skipped in plan.skipped:
        print(f"  left alone: {skipped.path}: {skipped.reason}", file=sys.stderr)
    code = _report(outcome, "organize")
    return Exit.SOME_FAILED if any(s.error for s in plan.skipped) else code
