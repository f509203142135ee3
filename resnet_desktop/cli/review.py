"""``resnet-desktop review``: the photos worth labeling next, and labels that look wrong.

First the unlabeled photos the current head is least sure of (smallest margin between its two
likeliest classes), then labeled photos whose out-of-fold prediction is another class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import EXIT_CODES_HELP, Exit, LiveLine, positive_int, printable, warning

if TYPE_CHECKING:
    from resnet_desktop.core.teach.api import HeadReady, ReviewItem
    from resnet_desktop.core.work import Step


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "review",
        help="the photos to label next (least sure first), then labels that look wrong",
        description="The review queue of a label set: unlabeled photos by margin (least sure first), then "
        "labeled photos whose out-of-fold prediction disagrees with their label (possible mistakes).",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--set", dest="set_name", metavar="NAME", help="label set (default: the only set)")
    parser.add_argument(
        "--in",
        dest="inputs",
        action="append",
        type=Path,
        default=[],
        metavar="FOLDER",
        help="only photos in FOLDER (default: the set's folders, or the whole library index)",
    )
    parser.add_argument("-n", type=positive_int, default=20, help="how many photos (default: 20)")
    parser.add_argument("--device", default="auto", help="device for embedding new photos (default: auto)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(func=run)
    return parser


def _as_dict(item: ReviewItem) -> dict[str, object]:
    return {
        "path": str(item.path),
        "predicted": item.predicted,
        "confidence": round(item.confidence, 4),
        "reason": item.reason,
        "margin": round(item.margin, 4),
        "label": item.label,
    }


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.teach.api import open_library, open_store, review
    from resnet_desktop.core.work import drive

    line = LiveLine(sys.stderr)

    def show(event: Step | HeadReady) -> None:
        message = getattr(event, "message", "Learning")
        total = getattr(event, "total", None)
        line.show(f"{message} {getattr(event, 'done', '')}/{total}" if total else str(message))

    with open_store() as store, open_library() as index:
        for notice in [*store.notices, *index.notices]:
            warning("review", notice)
        try:
            items = drive(review(store, index, args.set_name, n=args.n, inputs=args.inputs, device=args.device), show)
        finally:
            line.clear()
    if args.format == "json":
        print(json.dumps([_as_dict(i) for i in items], indent=2, ensure_ascii=False))
        return Exit.OK
    if not items:
        print("Nothing to review: every photo in scope is labeled and no label looks wrong.", file=sys.stderr)
    for item in items:
        label = f" (labeled {printable(item.label)})" if item.label else ""
        print(f"{item.reason:<9}  {printable(item.predicted)} {item.confidence:.0%}{label}  {printable(item.path)}")
    return Exit.OK
