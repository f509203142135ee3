"""``resnet-desktop teach --output FILE``: learn a label set's classes from its labels.

The head learns from the embeddings the library index already holds (photos without one are
embedded once with the base model); its accuracy is measured on held-out labels (a stable ~20% of
each class, chosen by content). The result is a version of the set, written to FILE: a small head
file that names its backbone and loads wherever a model file loads (classify, export, organize...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    LiveLine,
    add_model_options,
    check_output,
    printable,
    warning,
)

if TYPE_CHECKING:
    from resnet_desktop.core.teach.api import HeadReady, TeachReport
    from resnet_desktop.core.work import Step


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "teach",
        help="learn your label set's classes from the library index's embeddings; save a version",
        description="Train a head for a label set on the stored embeddings of its photos (a second or two), "
        "score its folders, and save the result as a new version of the set in FILE.",
        epilog="The base model (--model/--weights) is remembered by the set; photos without an embedding for it "
        "are embedded once. " + EXIT_CODES_HELP,
    )
    parser.add_argument("--set", dest="set_name", metavar="NAME", help="label set (default: the only set)")
    add_model_options(parser)  # the base model: --model, --weights, --device as in every command
    parser.add_argument(
        "--in",
        dest="inputs",
        action="append",
        type=Path,
        default=[],
        metavar="FOLDER",
        help="add FOLDER to the set's folders (scored and reviewed; default: the whole library index)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="the version's model file (.safetensors)")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="report format (default: table)")
    parser.set_defaults(func=run)
    return parser


def _progress(line: LiveLine) -> Any:
    def show(event: Step | HeadReady) -> None:
        from resnet_desktop.core.teach.api import HeadReady

        if isinstance(event, HeadReady):
            line.clear()
            print(f"Head trained on {event.trained_on} labels in {event.seconds:.2f} s.", file=sys.stderr)
            return
        total = f" {event.done}/{event.total}" if event.total else ""
        line.show(f"{event.message}{total}")

    return show


def report_json(report: TeachReport) -> dict[str, object]:
    fit = report.fit
    return {
        "set": report.set_name,
        "classes": list(fit.classes),
        "held_out_accuracy": fit.held_out_accuracy,
        "held_out": fit.held_out,
        "trained_on": fit.trained_on,
        "per_class": {
            f.name: {
                "labeled": f.labeled,
                "held_out": f.held_out,
                "precision": f.precision,
                "recall": f.recall,
                "threshold": f.threshold,
            }
            for f in fit.per_class
        },
        "disagreements": fit.disagreements,
        "labels_without_embedding": fit.without_embedding,
        "regularisation": fit.regularisation,
        "embeddings_computed": report.embeddings.computed,
        "embeddings_reused": report.embeddings.reused,
        "scored": report.scored,
        "version": report.version.number if report.version else None,
        "output": str(report.output) if report.output else None,
        "seconds": round(report.seconds, 3),
    }


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def report_table(report: TeachReport) -> str:
    fit = report.fit
    names = [f.name for f in fit.per_class]
    width = max(len(n) for n in [*names, "class"])
    accuracy = _percent(fit.held_out_accuracy)
    lines = [
        f"Held-out accuracy: {accuracy} on {fit.held_out} labels (trained on {fit.trained_on})",
        "",
        f"{'class':<{width}}  labeled  precision  recall  threshold  predicted",
    ]
    for f in fit.per_class:
        lines.append(
            f"{printable(f.name):<{width}}  {f.labeled:>7}  {_percent(f.precision):>9}  {_percent(f.recall):>6}  "
            f"{f.threshold:>9.2f}  {report.scored.get(f.name, 0):>9}"
        )
    lines += [
        "",
        f"Possible mistakes among the labels: {fit.disagreements} (resnet-desktop review shows them)",
        f"Embeddings: {report.embeddings.computed} computed, {report.embeddings.reused} reused",
    ]
    if fit.without_embedding:
        lines.append(f"Labels whose photo was not found: {fit.without_embedding} (kept; used once it is back)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.teach.api import open_library, open_store, teach
    from resnet_desktop.core.work import drive

    output = check_output(args.output, args.force, suffix=".safetensors", inputs=args.inputs)
    check_output(output.with_suffix(".json"), args.force, inputs=args.inputs)
    base = ModelRef.parse(args.model, args.weights) if args.model or args.weights else None
    line = LiveLine(sys.stderr)
    with open_store() as store, open_library() as index:
        for notice in [*store.notices, *index.notices]:
            warning("teach", notice)
        try:
            work = teach(
                store,
                index,
                args.set_name,
                base=base,
                inputs=args.inputs,
                output=output,
                force=args.force,
                device=args.device,
            )
            report = drive(work, _progress(line))
        finally:
            line.clear()
    for path, reason in report.embeddings.failed:
        warning("teach", f"{path}: {reason}")
    for notice in report.embeddings.notices:
        warning("teach", notice)
    if args.format == "json":
        print(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print(report_table(report))
    number = report.version.number if report.version else "?"
    print(
        f"Saved version {number} of {report.set_name!r} as {printable(output)} in {report.seconds:.1f} s.",
        file=sys.stderr,
    )
    return Exit.SOME_FAILED if report.embeddings.failed else Exit.OK
