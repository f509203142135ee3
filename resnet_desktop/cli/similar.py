"""``resnet-desktop similar PHOTO [--in FOLDER] [-k 10]``: the most similar photos in the library index.

The photo and the folders are classified through the index first (known files cost nothing), so the
embeddings of the chosen model are there; similarity is the cosine of those embeddings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    ClassifyProgressLine,
    Exit,
    add_index_options,
    fp32_only,
    load_cli_model,
    open_cli_engine,
    positive_int,
    printable,
    report_indexing,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "similar",
        help="find the photos most similar to one photo (library index)",
        description="List the photos most similar to PHOTO by the cosine of their embeddings (same model). "
        "Without --in, every photo in the library index classified with that model is a candidate.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("photo", type=Path, metavar="PHOTO", help="the photo to start from")
    parser.add_argument(
        "--in",
        dest="folders",
        type=Path,
        action="append",
        default=[],
        metavar="FOLDER",
        help="look only in FOLDER (indexed first; repeatable)",
    )
    parser.add_argument("-k", type=positive_int, default=10, help="how many similar photos (default: 10)")
    add_index_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import find_similar
    from resnet_desktop.core.work import drive

    fp32_only(args, "similar")
    loaded = load_cli_model(args)
    bar = ClassifyProgressLine(sys.stderr)
    work = find_similar(loaded, lambda: open_cli_engine(args, loaded), args.photo, folders=args.folders, k=args.k)
    try:
        found = drive(work, bar)
    finally:
        bar.clear()
    report_indexing("similar", found.indexing, loaded.source)
    if args.format == "json":
        json.dump([{"path": str(n.path), "score": round(n.score, 6)} for n in found.neighbours], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(printable(f"Most similar to {found.photo}:"))
        for rank, n in enumerate(found.neighbours, start=1):
            print(printable(f"  {rank:>2}. {n.score:.4f}  {n.path}"))
    if not found.neighbours:
        print("No other photos with embeddings of this model in the index.", file=sys.stderr)
    return Exit.OK
