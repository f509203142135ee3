"""``resnet-desktop evaluate FOLDER``: how good one or several models are on a labeled folder.

Progress goes to stderr, the report to stdout (or ``--output``, written atomically). With more
than one ``--model`` every model gets its report and one comparison table follows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import (
    DEVICE_HELP,
    EXIT_CODES_HELP,
    WEIGHTS_HELP,
    Exit,
    LiveLine,
    batch_size,
    check_output,
    model_refs,
    positive_fraction,
    positive_int,
)

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import EvaluationReport
    from resnet_desktop.core.models.ref import ModelRef

EPILOG = """\
labeled folder: one subfolder per class, images inside (subfolders below are included). For a
fine-tuned model the folders are named after its classes; for ImageNet weights a folder matches
a class by WordNet ID (n02123045), by name (tabby, Great_White_Shark: case, spaces, underscores
and hyphens do not matter) or by --map. Folders that match nothing are listed, never guessed.

--map CSV: lines "folder,class" (an optional header "folder,class"); class is a class name, a
WordNet ID or a class index.

--format json: one object (keys: top1_accuracy, top5_accuracy, classes [precision, recall, f1,
support], confusion {rows, columns, matrix}, most_confused, top_losses, calibration {ece, bins},
threshold_sweep, suggested_threshold, unmatched_folders, failed, predictions). With several
--model: {"format": "resnet-desktop-comparison", "comparison": [...], "reports": [...]}.
The organize command's --threshold-from reads suggested_threshold from a one-model report.

"""

MODEL_HELP = (
    "model to evaluate: ARCH (resnet18...resnet152, resnet50-v1...), ARCH:WEIGHTS, or a model file; "
    "repeat to compare several (default: resnet50, or --weights' own model file)"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="score models on a labeled folder (accuracy, confusion, calibration)",
        description="Evaluate one or more models on a folder with one subfolder per class.",
        epilog=EPILOG + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="labeled folder (one subfolder per class)")
    parser.add_argument("--model", action="append", default=None, metavar="MODEL", help=MODEL_HELP)
    parser.add_argument(
        "--weights", default=None, metavar="NAME|FILE", help=WEIGHTS_HELP + " for every --model without its own"
    )
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--map", type=Path, default=None, metavar="CSV", help="folder,class mapping file")
    parser.add_argument("--batch-size", type=batch_size, default=None, help="images per batch (default: per device)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for the model")
    parser.add_argument("--top-losses", type=positive_int, default=20, help="top-loss images to report (default: 20)")
    parser.add_argument(
        "--target-accuracy",
        type=positive_fraction,
        default=0.9,
        help="accuracy the suggested threshold aims for on the photos it keeps (default: 0.9)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write the report to FILE (atomically)"
    )
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)
    return parser


class ProgressLine(LiveLine):
    def __call__(self, label: str, done: int, total: int | None, rate: float) -> None:
        of = f"/{total}" if total else ""
        self.show(f"{label}: {done}{of} images  {rate:.1f} images/s")


def run(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    if output is not None:
        check_output(output, args.force, inputs=[args.folder])
    bar = ProgressLine(sys.stderr)
    try:
        text, reports = _evaluate(args, model_refs(args), bar)
    except KeyboardInterrupt:
        bar.clear()
        print("Interrupted; no report was written.", file=sys.stderr)
        return Exit.INTERRUPTED
    finally:
        bar.clear()
    if output is not None:
        from resnet_desktop.core.atomic import write_text

        write_text(output, text, overwrite=args.force)
        print(f"Wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    failed = sum(len(r.failed) for r in reports)
    if failed:
        print(f"{failed} file(s) could not be read (listed in the report).", file=sys.stderr)
    return Exit.SOME_FAILED if failed else Exit.OK


def _evaluate(args: argparse.Namespace, refs: list[ModelRef], bar: ProgressLine) -> tuple[str, list[EvaluationReport]]:
    from resnet_desktop.core.evaluate.api import ComparisonRow, EvaluationReport, ModelProgress, evaluate_models

    reports: list[EvaluationReport] = []
    rows: list[ComparisonRow] = []
    for item in evaluate_models(
        refs,
        args.folder,
        device=args.device,
        batch_size=args.batch_size,
        mapping_file=args.map,
        target_accuracy=args.target_accuracy,
        top_losses=args.top_losses,
        latency_repeats=10 if len(refs) > 1 else 1,
        threads=args.threads,
    ):
        if isinstance(item, ModelProgress):
            if item.step == "loading" and item.total > 1:
                bar.clear()
                print(f"Evaluating {item.label} ({item.index + 1} of {item.total})…", file=sys.stderr)
            elif item.progress is not None:
                p = item.progress
                bar(item.label, p.done, p.total, p.images_per_second)
        elif isinstance(item, EvaluationReport):
            reports.append(item)
        else:
            rows.append(item)
    if args.format == "json":
        if len(reports) == 1:
            return reports[0].to_json(), reports
        data = {
            "format": "resnet-desktop-comparison",
            "format_version": 1,
            "comparison": [r.to_dict() for r in rows],
            "reports": [r.to_dict() for r in reports],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n", reports
    from resnet_desktop.core.evaluate.api import comparison_text, report_text

    parts = [report_text(r) for r in reports]
    if len(reports) > 1:
        parts.append(comparison_text(rows))
    return "\n".join(parts), reports
